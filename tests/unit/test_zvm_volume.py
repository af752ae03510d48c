# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""FC volumes of the z/VM driver against the Cloud Connector simulator over
HTTP, with the real client."""

import json
import time

import pytest

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.sim.zvm import faults as zvm_faults
from nova_ibmz.zvm import client
from nova_ibmz.zvm import volume
from tests import connector
from tests import simctl
from tests.zvmsim import add_guest

GUEST = 'OS000001'
TARGETS = connector.TARGETS


@pytest.fixture
def volumes(cc):
    return volume.Volumes(cc, 'compute-1')


@pytest.fixture
def log(sim):
    """The requests the simulator gets from now on, as (method, path)."""
    controls = simctl.Controls(sim)
    since = controls.last_seq()
    return lambda: [(r['method'], r['path'].split('?')[0])
                    for r in controls.requests(since)
                    if r['path'] != '/token']


@pytest.fixture
def bodies(cc):
    """The JSON bodies the client sends from now on, by (method, path)."""
    sent = {}

    def keep(resp, *args, **kwargs):
        req = resp.request
        sent[(req.method, req.path_url)] = json.loads(req.body or 'null')
    cc._http.hooks['response'].append(keep)
    return sent


@pytest.fixture
def guest(sim):
    add_guest(sim.model, GUEST, state='on')
    return GUEST


fc = connector.fc_connection


def devices(sim):
    """Per FCP device: (dedicated to, volumes, reserved, reserved for)."""
    with sim.model.lock:
        return {d: (f.userid, f.connections, f.reserved, f.assigner_id)
                for d, f in sim.model.member(sim.member_name).fcps.items()}


def record(sim, userid):
    """The guest's volumes and reader files."""
    with sim.model.lock:
        guest = sim.model.guests[userid]
        return ([dict(v) for v in guest.volumes],
                [f['file'] for f in guest.reader])


def add_fault(sim, **rule):
    with sim.model.lock:
        sim.model.faults.add(zvm_faults.parse_rule(rule))


# The connector ------------------------------------------------------------


def test_connector_reserves_a_device_per_path_and_gives_their_wwpns(
        sim, volumes, log):
    info = volumes.connector(GUEST)     # the guest need not exist yet
    with sim.model.lock:
        fcps = sim.model.member(sim.member_name).fcps
        wwpns = [fcps[d].wwpn_npiv for d in ('1a00', '1b00')]
        physical = [fcps[d].wwpn_phy for d in ('1a00', '1b00')]
    assert info == {
        'host': 'compute-1', 'ip': info['ip'], 'initiator': None,
        'wwpns': wwpns, 'wwnns': [], 'platform': 's390x',
        'os_type': 'linux', 'multipath': True,
        'zvm_fcp': ['1a00', '1b00'],
        'phy_to_virt_initiators': dict(zip(wwpns, physical)),
        'fcp_paths': 2, 'fcp_template_id': info['fcp_template_id']}
    assert devices(sim) == {'1a00': ('', 0, 1, GUEST),
                            '1a01': ('', 0, 0, ''),
                            '1b00': ('', 0, 1, GUEST),
                            '1b01': ('', 0, 0, '')}
    # Asked again (Nova asks at every attach), the same devices.
    assert volumes.connector(GUEST) == info
    assert log() == [('GET', f'/volumes/conn/{GUEST}')] * 2


def test_connector_without_free_devices_is_refused(sim, volumes):
    volumes.connector('OS000001')
    volumes.connector('OS000002')
    with pytest.raises(RequestRefused, match='no free FCP device'):
        volumes.connector('OS000003')
    assert all(d[3] != 'OS000003' for d in devices(sim).values())


# Attach and detach --------------------------------------------------------


def test_attach_then_detach_a_data_volume(sim, volumes, guest, log):
    info = volumes.connector(guest)
    volumes.attach(guest, 'rhel8', fc(), '/dev/vdb', info)
    assert record(sim, guest) == ([{
        'zvm_fcp': ['1a00', '1b00'],
        'target_wwpn': ['0x500507680b21bac6', '0x500507680b22bac6'],
        'target_lun': '0x0001000000000000', 'mount_point': '/dev/vdb'}],
        ['atvol.sh'])
    assert devices(sim)['1a00'] == (guest, 1, 1, guest)
    assert devices(sim)['1b00'] == (guest, 1, 1, guest)

    volumes.detach(guest, 'rhel8', fc(), '/dev/vdb', info)
    assert record(sim, guest) == ([], ['atvol.sh', 'devol.sh'])
    # Undedicated, still reserved for the guest's next volume.
    assert devices(sim)['1a00'] == ('', 0, 1, guest)
    assert devices(sim)['1b00'] == ('', 0, 1, guest)
    assert log() == [('GET', f'/volumes/conn/{guest}'),
                     ('GET', f'/guests/{guest}/power_state'),
                     ('POST', '/guests/volumes'),
                     ('GET', '/volumes/fcp/1a00'),
                     ('DELETE', '/guests/volumes')]


def test_detach_twice_asks_nothing_the_second_time(sim, volumes, guest, log):
    info = volumes.connector(guest)
    volumes.attach(guest, 'rhel8', fc(), '/dev/vdb', info)
    volumes.detach(guest, 'rhel8', fc(), '/dev/vdb', info)
    before = log()
    volumes.detach(guest, 'rhel8', fc(), '/dev/vdb', info)
    assert log()[len(before):] == [('GET', '/volumes/fcp/1a00'),
                                   ('GET', '/volumes/fcp/1b00')]
    # No second script that takes the FCP devices offline in the guest.
    assert record(sim, guest) == ([], ['atvol.sh', 'devol.sh'])
    assert devices(sim)['1a00'] == ('', 0, 1, guest)


def test_detach_keeps_the_devices_of_the_other_volumes(sim, volumes, guest):
    info = volumes.connector(guest)
    volumes.attach(guest, 'rhel8', fc('vol-1', lun=1), '/dev/vdb', info)
    volumes.attach(guest, 'rhel8', fc('vol-2', lun=2), '/dev/vdc', info)
    assert devices(sim)['1a00'] == (guest, 2, 1, guest)
    volumes.detach(guest, 'rhel8', fc('vol-1', lun=1), '/dev/vdb', info)
    assert devices(sim)['1a00'] == (guest, 1, 1, guest)
    assert [v['target_lun'] for v in record(sim, guest)[0]] == [
        '0x0002000000000000']


def test_attach_takes_the_targets_cinder_zoned_to_the_guest(
        sim, volumes, guest):
    info = volumes.connector(guest)
    mapping = {info['wwpns'][0]: ['5005076802100C1B'],
               info['wwpns'][1]: '0x5005076802200c1b',
               'c0507601ee0000ff': ['50050768022ffff1']}
    volumes.attach(guest, 'sles15', fc(targets=TARGETS + ['50050768022ffff1'],
                                       initiator_target_map=mapping),
                   '/dev/vdb', info)
    assert record(sim, guest)[0][0]['target_wwpn'] == [
        '0x5005076802100c1b', '0x5005076802200c1b']


def test_attach_refuses_a_volume_that_is_not_fc(sim, volumes, guest, log):
    info = volumes.connector(guest)
    iscsi = {'driver_volume_type': 'iscsi', 'serial': 'vol-9',
             'data': {'target_iqn': 'iqn.2010-10.org.openstack:vol-9'}}
    with pytest.raises(InstanceSetupError, match="vol-9 is connected as "
                       "'iscsi'.*fibre channel only"):
        volumes.attach(guest, 'rhel8', iscsi, '/dev/vdb', info)
    # Nothing to detach either: a failed boot from it still destroys.
    volumes.detach(guest, 'rhel8', iscsi, '/dev/vdb', info,
                   connections_only=True)
    assert log() == [('GET', f'/volumes/conn/{guest}')]
    assert record(sim, guest) == ([], [])


def test_attach_refuses_a_volume_without_a_target_for_the_guest(
        volumes, guest):
    info = volumes.connector(guest)
    other = {'c0507601ee0000ff': TARGETS}
    with pytest.raises(InstanceSetupError, match='no target for the FCP'):
        volumes.attach(guest, 'rhel8', fc(initiator_target_map=other),
                       '/dev/vdb', info)


def test_attach_to_a_foreign_guest_is_refused(sim, volumes, log):
    add_guest(sim.model, 'PRODDB2', state='on', managed=False)
    info = volumes.connector('PRODDB2')
    before = devices(sim)
    with pytest.raises(client.ConnectorNotFound):
        volumes.attach('PRODDB2', 'rhel8', fc(), '/dev/vdb', info)
    # Refused before the attach: the real connector would dedicate the
    # devices to any guest of the directory.
    assert ('POST', '/guests/volumes') not in log()
    assert record(sim, 'PRODDB2') == ([], [])
    assert devices(sim) == before


def test_a_failing_attach_leaves_nothing_behind(sim, volumes, guest):
    info = volumes.connector(guest)
    before = devices(sim)
    add_fault(sim, method='POST', path='^/guests/volumes$', times=1,
              status=500, overallRC=300, rc=300, rs=8, modID=30)
    with pytest.raises(client.ConnectorError) as failed:
        volumes.attach(guest, 'rhel8', fc(), '/dev/vdb', info)
    assert (failed.value.status, failed.value.rs) == (500, 8)
    assert record(sim, guest) == ([], [])
    assert devices(sim) == before


def test_an_attach_without_smapi_undoes_the_reservation(sim, volumes, guest):
    info = volumes.connector(guest)
    with sim.model.lock:
        sim.model.smapi_down_until = time.time() + 60
    with pytest.raises(client.ConnectorError):
        volumes.attach(guest, 'rhel8', fc(), '/dev/vdb', info)
    # The connector's own rollback: no count, nothing dedicated, and the
    # devices it reserved free again.
    assert record(sim, guest) == ([], [])
    assert devices(sim)['1a00'] == ('', 0, 0, guest)
    assert devices(sim)['1b00'] == ('', 0, 0, guest)


# Release ------------------------------------------------------------------


def test_release_frees_the_devices_for_other_guests(sim, volumes, cc,
                                                    guest):
    info = volumes.connector(guest)
    volumes.attach(guest, 'rhel8', fc(), '/dev/vdb', info)
    # Destroy: the counts only (the guest goes), the reservation, the guest.
    volumes.detach(guest, 'rhel8', fc(), '/dev/vdb', info,
                   connections_only=True)
    # Nothing in z/VM changes: the guest's deletion undoes its dedications.
    assert record(sim, guest)[1] == ['atvol.sh']
    assert devices(sim)['1a00'] == (guest, 0, 1, guest)
    volumes.release(guest)
    assert [d[2] for d in devices(sim).values()] == [0, 0, 0, 0]
    cc.delete(f'/guests/{guest}')
    assert volumes.connector('OS000002')['zvm_fcp'] == ['1a00', '1b00']


def test_release_keeps_devices_that_carry_a_volume(sim, volumes, guest):
    info = volumes.connector(guest)
    volumes.attach(guest, 'rhel8', fc(), '/dev/vdb', info)
    volumes.release(guest)
    assert devices(sim)['1a00'] == (guest, 1, 1, guest)


def test_release_of_a_guest_without_devices_asks_once(volumes, log):
    volumes.release(GUEST)
    assert log() == [('GET', '/volumes/fcptemplates')]


# Boot from volume ---------------------------------------------------------


def test_boot_definition_is_a_guest_without_minidisks(sim, volumes, cc):
    userid = 'OS000002'
    info = volumes.connector(userid)
    mapping = {info['wwpns'][1]: [TARGETS[1]]}   # 1a00 reaches no target
    boot = volume.boot_definition(userid, info, fc(
        lun=0x4001, initiator_target_map=mapping))
    assert boot == {'disk_list': [], 'ipl_from': '1b00',
                    'dedicate_vdevs': ['1a00', '1b00'],
                    'loaddev': {'portname': '500507680b22bac6',
                                'lun': '4001000000000000'}}
    # The real schema of POST /guests takes it.
    assert cc.post('/guests', {'guest': dict(
        userid=userid, vcpus=1, memory=1024, **boot)}) == []
    with sim.model.lock:
        assert sim.model.guests[userid].disks == {}


def test_boot_definition_refuses_a_volume_that_is_not_fc(volumes):
    info = volumes.connector(GUEST)
    with pytest.raises(InstanceSetupError, match="'rbd'"):
        volume.boot_definition(GUEST, info, {'driver_volume_type': 'rbd'})


def test_boot_from_volume_then_destroy(sim, volumes, cc, log, bodies):
    userid = 'OS000002'
    info = volumes.connector(userid)
    root = fc('root-1', lun=0)
    cc.post('/guests', {'guest': dict(
        userid=userid, vcpus=1, memory=1024,
        **volume.boot_definition(userid, info, root))})
    volumes.prepare_boot(userid, 'rhel9', root, info)
    # The refresh script takes WWPNs and the LUN without 0x.
    assert bodies[('PUT', '/volumes/volume_refresh_bootmap')] == {'info': {
        'fcpchannel': ['1a00', '1b00'],
        'wwpn': ['500507680b21bac6', '500507680b22bac6'],
        'lun': '0000000000000000',
        'fcp_template_id': info['fcp_template_id']}}
    assert bodies[('POST', '/guests/volumes')]['info']['connection'][
        'is_root_volume'] is True
    # The root volume only counts; the guest's reader gets nothing.
    assert record(sim, userid) == ([], [])
    assert devices(sim)['1a00'][1:] == (1, 1, userid)
    volumes.attach(userid, 'rhel9', fc('data-1', lun=3), '/dev/vdb', info)
    assert devices(sim)['1b00'][1:] == (2, 1, userid)

    # Destroy: the volumes' counts, the reservation, then the guest.
    volumes.detach(userid, 'rhel9', fc('data-1', lun=3), '/dev/vdb', info,
                   connections_only=True)
    volumes.detach(userid, 'rhel9', root, volume.ROOT_MOUNT_POINT, info,
                   is_root_volume=True)
    volumes.release(userid)
    assert [d[1:3] for d in devices(sim).values()] == [(0, 0)] * 4
    requests = log()
    refresh = requests.index(('PUT', '/volumes/volume_refresh_bootmap'))
    assert requests[refresh + 1] == ('POST', '/guests/volumes')
