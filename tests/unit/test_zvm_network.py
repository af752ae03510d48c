# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The z/VM driver's networking against the Cloud Connector simulator, over
HTTP with the driver's client; the simulator checks every body with the
connector's own schemas."""

import json

from nova.network import model as net_model
import pytest

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.sim.zvm import faults as zvm_faults
from nova_ibmz.zvm import client
from nova_ibmz.zvm import network
from tests.zvmsim import add_guest

USERID = 'OS000001'
OS = 'rhel8.6'
FLAT_PORT = '11111111-1111-4111-8111-111111111111'
VLAN_PORT = '22222222-2222-4222-8222-222222222222'
THIRD_PORT = '33333333-3333-4333-8333-333333333333'
# Neutron's own base MAC (fa:16:3e); z/VM shows its MACPREFIX instead.
FLAT_MAC, VLAN_MAC, THIRD_MAC = ('fa:16:3e:0a:0b:0c', 'fa:16:3e:1a:1b:1c',
                                 'fa:16:3e:2a:2b:2c')


class Traffic:
    """The requests one CloudConnector sent (not POST /token), bodies
    included."""

    def __init__(self, cc):
        self.sent = []
        cc._http.hooks['response'].append(self._record)

    def _record(self, resp, *args, **kwargs):
        req = resp.request
        if req.path_url != '/token':
            self.sent.append((req.method, req.path_url,
                              json.loads(req.body) if req.body else None))

    def calls(self):
        return [(method, path) for method, path, _ in self.sent]

    def clear(self):
        self.sent.clear()


@pytest.fixture
def traffic(cc):
    return Traffic(cc)


@pytest.fixture
def net(cc):
    return network.Network(cc, 'vswitch1')


@pytest.fixture
def guest_off(sim):
    add_guest(sim.model, USERID, state='off')


def vif(port, mac, cidr, ip, details=None, active=False, mtu=None):
    gateway = cidr.rsplit('.', 1)[0] + '.1'
    subnet = net_model.Subnet(
        cidr=f'{cidr}/24', gateway=net_model.IP(gateway, type='gateway'),
        dns=[net_model.IP('10.99.0.53', type='dns'),
             net_model.IP('2001:db8::53', type='dns')],
        ips=[net_model.FixedIP(address=ip)])
    v6 = net_model.Subnet(cidr='2001:db8:1::/64',
                          ips=[net_model.FixedIP(address='2001:db8:1::5')])
    meta = {'mtu': mtu} if mtu else {}
    return net_model.VIF(
        id=port, address=mac, details=details or {}, active=active,
        network=net_model.Network(id='net-' + port[:4], label='n',
                                  subnets=[v6, subnet], **meta))


def flat_vif(**kw):
    """A flat network on the vswitch the port's binding names."""
    return vif(FLAT_PORT, FLAT_MAC, '10.0.0.0', '10.0.0.5',
               details={'vswitch': 'xcatvsw2'}, mtu=1400, **kw)


def vlan_vif(**kw):
    """VLAN 100 on the default vswitch."""
    return vif(VLAN_PORT, VLAN_MAC, '10.1.0.0', '10.1.0.7',
               details={net_model.VIF_DETAILS_VLAN: '100'}, **kw)


def third_vif(**kw):
    return vif(THIRD_PORT, THIRD_MAC, '10.2.0.0', '10.2.0.9',
               details={net_model.VIF_DETAILS_VLAN: 200}, **kw)


def zvm_mac(mac):
    """What z/VM shows for a NIC defined with mac: the system's MACPREFIX
    (02:00:0b on the simulated systems) and the last three bytes only, the
    NICDEF's MACID."""
    return '02:00:0b:' + mac[-8:]


def state(sim):
    """(NICs by vdev, grants by vswitch, interfaces) of the guest."""
    with sim.model.lock:
        guest = sim.model.guests[USERID]
        nics = {vdev: (nic.mac, nic.nic_id, nic.vswitch, nic.vlan_id)
                for vdev, nic in guest.nics.items()}
        grants = {name: dict(vsw.grants)
                  for name, vsw in sim.model.vswitches.items()}
        return nics, grants, [dict(i) for i in guest.interfaces]


def add_fault(sim, **rule):
    with sim.model.lock:
        sim.model.faults.add(zvm_faults.parse_rule(rule))


def plugged(sim, net):
    """The guest with the flat and the VLAN port, logged off."""
    net.plug(USERID, OS, net_model.NetworkInfo([flat_vif(), vlan_vif()]))


def start(cc):
    cc.action(USERID, 'start')


# plug (spawn) --------------------------------------------------------------


def test_plug_makes_coupled_nics_grants_and_config(sim, cc, traffic, net,
                                                   guest_off):
    net.plug(USERID, OS, net_model.NetworkInfo([flat_vif(), vlan_vif()]),
             hostname='web-1')

    nics, grants, interfaces = state(sim)
    assert nics == {
        '1000': (zvm_mac(FLAT_MAC), FLAT_PORT, 'XCATVSW2', -1),
        '1003': (zvm_mac(VLAN_MAC), VLAN_PORT, 'VSWITCH1', 100)}
    # Flat: a plain grant; VLAN: the grant carries the port's VLAN.
    assert grants == {'VSWITCH1': {USERID: 100}, 'XCATVSW2': {USERID: None}}
    assert interfaces == [
        {'nic_id': FLAT_PORT, 'mac_addr': FLAT_MAC, 'mtu': 1400,
         'ip_addr': '10.0.0.5', 'cidr': '10.0.0.0/24',
         'dns_addr': ['10.99.0.53'], 'gateway_addr': '10.0.0.1',
         'hostname': 'web-1', 'nic_vdev': '1000', 'os_version': OS},
        {'nic_id': VLAN_PORT, 'mac_addr': VLAN_MAC, 'ip_addr': '10.1.0.7',
         'cidr': '10.1.0.0/24', 'dns_addr': ['10.99.0.53'],
         'gateway_addr': '10.1.0.1', 'nic_vdev': '1003', 'os_version': OS}]
    with sim.model.lock:
        assert [f['file'] for f in sim.model.guests[USERID].reader] == [
            'network.doscript']
    # Cost: 1 request + 2 per VIF, nothing active on a logged-off guest.
    assert traffic.calls() == [
        ('POST', f'/guests/{USERID}/interface'),
        ('PUT', '/vswitches/XCATVSW2'), ('PUT', f'/guests/{USERID}/nic/1000'),
        ('PUT', '/vswitches/VSWITCH1'), ('PUT', f'/guests/{USERID}/nic/1003')]
    assert traffic.sent[0][2]['interface']['active'] is False
    assert traffic.sent[2][2] == {'info': {
        'couple': True, 'vswitch': 'XCATVSW2', 'vlan_id': -1,
        'active': False}}
    assert traffic.sent[3][2] == {'vswitch': {
        'user_vlan_id': {'userid': USERID, 'vlanid': 100}}}
    # The directory entry, as z/VM keeps it: only the MACID (the last
    # three bytes) of the Neutron MAC.
    assert 'NICDEF 1000 TYPE QDIO LAN SYSTEM XCATVSW2 MACID 0A0B0C' in \
        cc.get(f'/guests/{USERID}')['user_direct']


def test_ports_on_one_vswitch_and_vlan_share_one_grant(sim, traffic, net,
                                                       guest_off):
    same = vif(THIRD_PORT, THIRD_MAC, '10.1.0.0', '10.1.0.8',
               details={net_model.VIF_DETAILS_VLAN: '100'})
    net.plug(USERID, OS, net_model.NetworkInfo([vlan_vif(), same]))
    assert state(sim)[1]['VSWITCH1'] == {USERID: 100}
    assert traffic.calls() == [
        ('POST', f'/guests/{USERID}/interface'),
        ('PUT', '/vswitches/VSWITCH1'), ('PUT', f'/guests/{USERID}/nic/1000'),
        ('PUT', f'/guests/{USERID}/nic/1003')]


def test_plug_without_ports_sends_nothing(sim, traffic, net, guest_off):
    net.plug(USERID, OS, net_model.NetworkInfo([]))
    assert traffic.calls() == []
    assert state(sim)[0] == {}


def test_a_vif_without_vswitch_is_a_clear_error(sim, cc, traffic, guest_off):
    net = network.Network(cc, None)
    with pytest.raises(ConfigurationError) as e:
        net.plug(USERID, OS, net_model.NetworkInfo([flat_vif(), vlan_vif()]))
    assert VLAN_PORT in str(e.value)
    assert '[zvm] vswitch' in str(e.value)
    assert traffic.calls() == []
    assert state(sim)[0] == {}


def test_failure_midway_leaves_no_nic(sim, traffic, net, guest_off):
    add_fault(sim, method='PUT', path=f'^/guests/{USERID}/nic/1003$',
              times=1, status=500, overallRC=8, rc=400, rs=12, modID=1,
              errmsg='Image_Replace_DM: directory locked')
    with pytest.raises(client.ConnectorError) as e:
        plugged(sim, net)
    assert e.value.rs == 12
    nics, grants, interfaces = state(sim)
    assert (nics, interfaces) == ({}, [])
    assert grants == {'VSWITCH1': {}, 'XCATVSW2': {}}
    with sim.model.lock:
        assert [f['file'] for f in sim.model.guests[USERID].reader] == [
            'network.doscript', 'DEL1000.sh', 'DEL1003.sh']


def test_vlan_on_a_vlan_unaware_vswitch_is_refused_and_undone(sim, net,
                                                              guest_off):
    bad = vif(VLAN_PORT, VLAN_MAC, '10.1.0.0', '10.1.0.7', details={
        'vswitch': 'XCATVSW2', net_model.VIF_DETAILS_VLAN: '100'})
    with pytest.raises(client.ConnectorError) as e:
        net.plug(USERID, OS, net_model.NetworkInfo([flat_vif(), bad]))
    assert (e.value.status, e.value.rs) == (409, 5)
    assert state(sim) == ({}, {'VSWITCH1': {}, 'XCATVSW2': {}}, [])


def test_a_foreign_guest_is_refused_and_unchanged(sim, cc, net):
    add_guest(sim.model, USERID, state='on', managed=False)
    before = state(sim)
    with pytest.raises(client.ConnectorNotFound):
        plugged(sim, net)
    with pytest.raises(client.ConnectorNotFound):
        net.attach(USERID, OS, third_vif())
    net.detach(USERID, OS, flat_vif())
    assert state(sim) == before == ({}, {'VSWITCH1': {}, 'XCATVSW2': {}}, [])


# attach and detach ---------------------------------------------------------


def test_attach_on_a_running_guest(sim, cc, traffic, net, guest_off):
    plugged(sim, net)
    start(cc)
    traffic.clear()

    net.attach(USERID, OS, third_vif())

    nics, grants, interfaces = state(sim)
    assert nics['1006'] == (zvm_mac(THIRD_MAC), THIRD_PORT, 'VSWITCH1', 200)
    assert len(nics) == 3
    assert grants['VSWITCH1'] == {USERID: 200}
    assert interfaces[-1]['nic_vdev'] == '1006'
    assert interfaces[-1]['ip_addr'] == '10.2.0.9'
    assert traffic.calls() == [
        ('GET', f'/guests/{USERID}/power_state'),
        ('POST', f'/guests/{USERID}/interface'),
        ('PUT', '/vswitches/VSWITCH1'), ('PUT', f'/guests/{USERID}/nic/1006')]
    # The NIC and its coupling on the running guest too, not only in the
    # directory: the guest gets it without a reboot.
    assert traffic.sent[1][2]['interface']['active'] is True
    assert traffic.sent[3][2]['info'] == {
        'couple': True, 'vswitch': 'VSWITCH1', 'vlan_id': 200,
        'active': True}


def test_attach_on_a_stopped_guest_changes_the_directory_only(
        sim, traffic, net, guest_off):
    net.attach(USERID, OS, flat_vif())
    assert state(sim)[0] == {
        '1000': (zvm_mac(FLAT_MAC), FLAT_PORT, 'XCATVSW2', -1)}
    assert traffic.sent[1][2]['interface']['active'] is False
    assert traffic.sent[3][2]['info']['active'] is False


def test_failed_attach_is_undone(sim, cc, traffic, net, guest_off):
    plugged(sim, net)
    start(cc)
    before = state(sim)
    add_fault(sim, method='PUT', path=f'^/guests/{USERID}/nic/1006$',
              times=1, status=500, overallRC=500, rc=500, rs=0, modID=1)
    with pytest.raises(client.ConnectorError):
        net.attach(USERID, OS, third_vif())
    # The NIC is gone and VSWITCH1 keeps the grant the VLAN port uses.
    nics, grants, interfaces = state(sim)
    assert (nics, interfaces) == (before[0], before[2])
    assert USERID in grants['VSWITCH1']


def test_detach_from_a_running_guest_then_again(sim, cc, traffic, net,
                                                guest_off):
    plugged(sim, net)
    start(cc)
    traffic.clear()

    net.detach(USERID, OS, vlan_vif())

    nics, grants, interfaces = state(sim)
    assert nics == {'1000': (zvm_mac(FLAT_MAC), FLAT_PORT, 'XCATVSW2', -1)}
    assert [i['nic_vdev'] for i in interfaces] == ['1000']
    # No other NIC is on VSWITCH1: its grant goes; XCATVSW2's stays.
    assert grants == {'VSWITCH1': {}, 'XCATVSW2': {USERID: None}}
    assert traffic.calls() == [
        ('GET', f'/guests/nics?userid={USERID}'),
        ('GET', f'/guests/{USERID}/power_state'),
        ('DELETE', f'/guests/{USERID}/interface'),
        ('PUT', '/vswitches/VSWITCH1')]
    assert traffic.sent[2][2] == {'interface': {
        'os_version': OS, 'vdev': '1003', 'active': True}}

    traffic.clear()
    net.detach(USERID, OS, vlan_vif())
    assert traffic.calls() == [('GET', f'/guests/nics?userid={USERID}')]
    assert state(sim) == (nics, grants, interfaces)


def test_detach_keeps_a_grant_another_nic_uses(sim, net, guest_off):
    net.plug(USERID, OS, net_model.NetworkInfo([vlan_vif(), third_vif()]))
    net.detach(USERID, OS, third_vif())
    nics, grants, _ = state(sim)
    assert [n[1] for n in nics.values()] == [VLAN_PORT]
    assert USERID in grants['VSWITCH1']
