# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The z/VM agent's manager against the Cloud Connector simulator, through
our connector client with token auth: which NICs are devices, what plug()
changes on z/VM for each kind of guest, what a polling interval costs.
The device details are what ML2's get_devices_details_list gives an
agent (the real server gives them in test_zvm_agent_server.py).

The guests are made through the connector's REST API as each Nova driver
makes them: ours marks the directory entry, grants and couples; Nova's
in-tree driver only makes the NICs.  Foreign guests share the system, and
every test ends with them exactly as they began.
"""

import uuid

import pytest

from nova_ibmz.connector import client
from nova_ibmz.connector import vswitch as vswitches
from nova_ibmz.neutron.zvm import manager
from nova_ibmz.sim.zvm import model as zmodel
from tests import zvmsim

TEMPLATE = 'os%06x'
MAPPINGS = {'physnet1': 'VSWITCH1', 'physnet2': 'XCATVSW2'}
FOREIGN = ('PRODDB1', 'OS0000FF', 'LINUXA1')


def details(port, network_type='vlan', physnet='physnet1', vlan=100,
            owner='compute:nova'):
    """ML2's device details of a port bound to the agent's host."""
    return {'device': port, 'port_id': port, 'network_id': 'net-1',
            'mac_address': 'fa:16:3e:00:00:01', 'admin_state_up': True,
            'network_type': network_type, 'physical_network': physnet,
            'segmentation_id': vlan if network_type == 'vlan' else None,
            'device_owner': owner, 'fixed_ips': []}


def make_guest(connector, userid, mark=None):
    """A guest defined through the connector; mark: the instance uuid our
    driver writes into the directory entry."""
    guest = {'userid': userid, 'vcpus': 1, 'memory': 1024,
             'disk_list': [{'size': '1g', 'is_boot_disk': True}]}
    if mark:
        guest['comments'] = [f'nova-ibmz instance {mark}']
    connector.post('/guests', {'guest': guest})


def make_nics(connector, userid, ports):
    """NICs for ports, as both drivers make them (POST .../interface with
    the port id as nic_id): their vdevs."""
    made = connector.post(f'/guests/{userid}/interface', {'interface': {
        'os_version': 'rhel8.6', 'active': False,
        'guest_networks': [{'nic_id': port, 'mac_addr': 'fa:16:3e:00:00:01',
                            'ip_addr': '192.0.2.10', 'cidr': '192.0.2.0/24',
                            'gateway_addr': '192.0.2.1'} for port in ports]}})
    return [network['nic_vdev'] for network in made]


def in_tree_guest(connector, userid, ports):
    """A guest as Nova's in-tree driver leaves it for the agent."""
    make_guest(connector, userid)
    return make_nics(connector, userid, ports)


def our_guest(connector, userid, port, vswitch='VSWITCH1', vlan=100):
    """A guest as our driver builds it: marked, granted and coupled."""
    make_guest(connector, userid, mark=str(uuid.uuid4()))
    [vdev] = make_nics(connector, userid, [port])
    vswitches.grant(connector, userid, vswitch, vlan)
    vswitches.couple(connector, userid, vdev, vswitch, vlan, False)
    return vdev


def add_foreign(sim, connector):
    """Guests OpenStack must never touch, each with a NIC that carries a
    port-like id: PRODDB1 and OS0000FF (an instance-like userid) are in
    the directory only, PRODDB1 granted and coupled on VSWITCH1;
    LINUXA1 is in the connector's database but no instance's."""
    for userid in ('PRODDB1', 'OS0000FF'):
        zvmsim.add_guest(sim.model, userid, state='on', managed=False)
    with sim.model.lock:
        for userid, vswitch in (('PRODDB1', 'VSWITCH1'), ('OS0000FF', '')):
            sim.model.guests[userid].nics['1000'] = zmodel.Nic(
                '1000', '02:00:0b:00:00:99', str(uuid.uuid4()), vswitch)
        sim.model.vswitches['VSWITCH1'].grants['PRODDB1'] = 300
    zvmsim.add_guest(sim.model, 'LINUXA1', state='on')
    connector.post('/guests/LINUXA1/nic', {'nic': {
        'vdev': '1000', 'nic_id': str(uuid.uuid4())}})


def state(controls, userids):
    """The simulator's record of these guests and their grants."""
    whole = controls.call('GET', '/state')
    return ([g for g in whole['guests'] if g['userid'] in userids],
            {v['name']: {u: vlan for u, vlan in v['grants'].items()
                         if u in userids} for v in whole['vswitches']})


def calls(controls, since):
    """(method, path) of the requests the connector got after since."""
    return [(r['method'], r['path']) for r in controls.requests(since)
            if r['path'] != '/token']


@pytest.fixture
def sim(tmp_path):
    with zvmsim.serve(tmp_path) as servers:
        yield servers[0]


@pytest.fixture
def controls(sim):
    return zvmsim.Controls(sim)


@pytest.fixture
def connector(sim):
    return client.CloudConnector(sim.url, admin_token=zvmsim.ADMIN_TOKEN,
                                 timeout=10, backoff=0.01)


@pytest.fixture(autouse=True)
def foreign(sim, connector, controls):
    """Foreign guests in every test, checked unchanged at its end."""
    add_foreign(sim, connector)
    before = state(controls, FOREIGN)
    yield before
    assert state(controls, FOREIGN) == before


@pytest.fixture
def agent(connector):
    return manager.ZVMManager(connector, MAPPINGS, TEMPLATE)


def test_reports_its_mappings_as_the_mechanism_driver_reads_them(agent):
    assert (agent.agent_type, agent.binary, agent.configurations()) == (
        'z/VM agent', 'neutron-ibmz-zvm-agent',
        {'vswitch_mappings': MAPPINGS})


def test_an_in_tree_guest_nic_is_granted_and_coupled(agent, connector,
                                                     controls):
    port = str(uuid.uuid4())
    [vdev] = in_tree_guest(connector, 'OS000001', [port])
    assert agent.devices() == {port}
    seq = controls.last_seq()
    assert agent.plug(port, details(port, vlan=100)) is True
    assert calls(controls, seq) == [
        ('PUT', '/vswitches/VSWITCH1'),
        ('GET', '/guests/OS000001/power_state'),
        ('PUT', f'/guests/OS000001/nic/{vdev}')]
    [guest], grants = state(controls, ['OS000001'])
    assert (guest['nics'][vdev]['vswitch'],
            guest['nics'][vdev]['vlan_id']) == ('VSWITCH1', 100)
    assert grants['VSWITCH1'] == {'OS000001': 100}
    assert f'NICDEF {vdev.upper()} TYPE QDIO LAN SYSTEM VSWITCH1' in ' '.join(
        connector.get('/guests/OS000001/user_direct')['user_direct'])
    # Coupled now, it stays a device: nothing more to do.
    seq = controls.last_seq()
    assert agent.devices() == {port}
    assert calls(controls, seq) == [('GET', '/guests/nics')]


def test_one_grant_per_vswitch_and_vlan(agent, connector, controls):
    """Two ports on a VLAN network share a grant; a flat network's port on
    the VLAN-unaware vswitch is granted without a VLAN."""
    ports = [str(uuid.uuid4()) for _ in range(3)]
    vdevs = in_tree_guest(connector, 'OS000002', ports)
    assert agent.devices() == set(ports)
    seq = controls.last_seq()
    assert agent.plug(ports[0], details(ports[0], vlan=200))
    assert agent.plug(ports[1], details(ports[1], vlan=200))
    assert agent.plug(ports[2], details(ports[2], network_type='flat',
                                        physnet='physnet2'))
    assert [c for c in calls(controls, seq) if c[0] == 'PUT'] == [
        ('PUT', '/vswitches/VSWITCH1'),
        ('PUT', f'/guests/OS000002/nic/{vdevs[0]}'),
        ('PUT', f'/guests/OS000002/nic/{vdevs[1]}'),
        ('PUT', '/vswitches/XCATVSW2'),
        ('PUT', f'/guests/OS000002/nic/{vdevs[2]}')]
    [guest], grants = state(controls, ['OS000002'])
    assert [guest['nics'][v]['vswitch'] for v in vdevs] == [
        'VSWITCH1', 'VSWITCH1', 'XCATVSW2']
    assert (grants['VSWITCH1'], grants['XCATVSW2']) == (
        {'OS000002': 200}, {'OS000002': None})


def test_a_guest_our_driver_coupled_is_up_and_unchanged(agent, connector,
                                                        controls):
    port = str(uuid.uuid4())
    our_guest(connector, 'OS000003', port, vlan=100)
    before = state(controls, ['OS000003'])
    assert agent.devices() == {port}
    seq = controls.last_seq()
    assert agent.plug(port, details(port, vlan=100)) is True
    assert calls(controls, seq) == []
    assert state(controls, ['OS000003']) == before


def test_an_uncoupled_nic_of_our_driver_is_left_to_it(agent, connector,
                                                      controls):
    """Our driver couples its NICs itself: until it did, the NIC is no
    device, and the agent changes nothing."""
    port = str(uuid.uuid4())
    make_guest(connector, 'OS000004', mark=str(uuid.uuid4()))
    make_nics(connector, 'OS000004', [port])
    before = state(controls, ['OS000004'])
    assert agent.devices() == set()
    assert state(controls, ['OS000004']) == before


def test_a_nic_coupled_to_another_vswitch_is_not_up(agent, connector,
                                                    controls):
    port = str(uuid.uuid4())
    our_guest(connector, 'OS000005', port, vswitch='XCATVSW2', vlan=None)
    assert agent.devices() == {port}
    seq = controls.last_seq()
    assert agent.plug(port, details(port, physnet='physnet1')) is False
    assert calls(controls, seq) == []


@pytest.mark.parametrize('given', [{'owner': 'network:dhcp'},
                                   {'physnet': 'physnet3'}])
def test_a_port_of_no_instance_or_on_no_mapped_network_is_left_alone(
        agent, connector, controls, given):
    """The loop plugs only ports ML2 bound to this host; of those, the
    agent couples only a Nova instance's, on a physical network it maps."""
    port = str(uuid.uuid4())
    in_tree_guest(connector, 'OS000006', [port])
    before = state(controls, ['OS000006'])
    assert agent.devices() == {port}
    seq = controls.last_seq()
    assert agent.plug(port, details(port, **given)) is False
    assert calls(controls, seq) == []
    assert state(controls, ['OS000006']) == before


def test_foreign_guests_are_no_devices(agent, connector):
    """Not even PRODDB1's NIC, coupled on a mapped vswitch, nor LINUXA1's,
    which the connector lists with a port-like id."""
    port = str(uuid.uuid4())
    in_tree_guest(connector, 'OS000007', [port])
    listed = {row['userid'] for row in connector.get('/guests/nics')}
    assert 'LINUXA1' in listed
    assert agent.devices() == {port}
    assert agent.plug(port, details(port))


def test_a_nic_deleted_or_uncoupled_is_no_device(agent, connector):
    in_tree, ours = str(uuid.uuid4()), str(uuid.uuid4())
    [vdev] = in_tree_guest(connector, 'OS000008', [in_tree])
    our_vdev = our_guest(connector, 'OS000009', ours)
    assert agent.devices() == {in_tree, ours}
    assert agent.plug(in_tree, details(in_tree))
    connector.delete(f'/guests/OS000008/nic/{vdev}', {'active': False})
    connector.put(f'/guests/OS000009/nic/{our_vdev}',
                  {'info': {'couple': False, 'active': False}})
    assert agent.devices() == set()


def test_a_polling_interval_costs_one_request(agent, connector, controls):
    """The first look reads each guest's mark once; later looks, with
    NICs coming and going, cost one GET /guests/nics."""
    ports = {}
    for n in range(1, 6):
        ports[f'OS00010{n}'] = [str(uuid.uuid4()), str(uuid.uuid4())]
        in_tree_guest(connector, f'OS00010{n}', ports[f'OS00010{n}'])
    seq = controls.last_seq()
    agent.devices()
    assert sorted(calls(controls, seq)) == sorted(
        [('GET', '/guests/nics')] +
        [('GET', f'/guests/{u}/user_direct') for u in ports])
    connector.delete('/guests/OS000101')
    for _ in range(3):
        seq = controls.last_seq()
        assert agent.devices() == {p for u, pair in ports.items()
                                   if u != 'OS000101' for p in pair}
        assert calls(controls, seq) == [('GET', '/guests/nics')]


def test_a_userid_back_as_another_guest_is_read_again(agent, connector):
    """A userid the listing lost may come back as a guest of the other
    driver: its mark is read again."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    make_guest(connector, 'OS000201', mark=str(uuid.uuid4()))
    make_nics(connector, 'OS000201', [first])
    assert agent.devices() == set()
    connector.delete('/guests/OS000201')
    assert agent.devices() == set()
    in_tree_guest(connector, 'OS000201', [second])
    assert agent.devices() == {second}


def test_a_port_on_another_nic_than_at_the_last_look_is_replaced(
        agent, connector):
    """The port's NIC detached from one guest and attached to another
    between two looks."""
    port = str(uuid.uuid4())
    [vdev] = in_tree_guest(connector, 'OS000301', [port])
    make_guest(connector, 'OS000302')
    assert (agent.devices(), agent.replaced()) == ({port}, set())
    connector.delete(f'/guests/OS000301/nic/{vdev}', {'active': False})
    make_nics(connector, 'OS000302', [port])
    assert (agent.devices(), agent.replaced()) == ({port}, {port})
    assert (agent.devices(), agent.replaced()) == ({port}, set())
