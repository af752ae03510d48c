# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Two SSI members, each with its own Cloud Connector, over one cluster.

The members share the user directory and the disk pools; each connector
has its own database (the guests it manages) and each member its own CPUs
and memory.  Live migration is VMRELOCATE: refused with SMAPI's VMRELOCATE
codes (TEST rc 4, MOVE rc 8, rs 3000), except for a guest that is not
logged on, which the SDK refuses itself (409, conflict rs 1).
"""

import pytest

from tests import zvmsim
from tests.zvmsim import codes
from tests.zvmsim import ok
from tests.zvmsim import sdk_error
from tests.zvmsim import web_error


@pytest.fixture
def z1(ssi):
    return zvmsim.Client(ssi[0])


@pytest.fixture
def z2(ssi):
    return zvmsim.Client(ssi[1])


@pytest.fixture
def cluster(ssi):
    return ssi[0].model


def migrate(zvm, userid, destination, operation):
    return zvm.action(userid, 'live_migrate_vm', destination=destination,
                      operation=operation, parms={'maxtotal': 60})


def where(zvm, userid):
    """(power state, host memory in use) as one connector sees them."""
    status, envelope = zvm.call('GET', f'/guests/{userid}/power_state')
    return (envelope['output'] if status == 200 else status,
            zvm.ok('GET', '/host')['memory_mb_used'])


def test_each_connector_lists_its_own_guests(z1, z2):
    z1.create_guest('G1')
    assert [z1.ok('GET', '/guests'), z2.ok('GET', '/guests'),
            z2.call('GET', '/guests/G1/power_state')] == [
        ['G1'], [], (404, sdk_error('notExist', 1, 'guest',
                                    obj_desc="Guest 'G1'"))]


def test_live_migration_test_then_move(z1, z2):
    z1.create_guest('G1', memory=2048)
    z1.action('G1', 'start')
    assert migrate(z1, 'G1', 'ZVMSIM2', 'test') == (200, ok())
    after_test = (where(z1, 'G1'), where(z2, 'G1'))
    assert migrate(z1, 'G1', 'zvmsim2', 'move') == (200, ok())
    # The source lists the migrated guest no more; the driver moves it
    # from one connector's database to the other's.
    listed = (z1.ok('GET', '/guests'), z2.ok('GET', '/guests'))
    assert z1.action('G1', 'deregister_vm') == (200, ok())
    assert z2.action('G1', 'register_vm', meta='rhel9', net_set='1') == \
        (200, ok())
    assert (after_test, listed, where(z1, 'G1'), where(z2, 'G1'),
            z2.ok('GET', '/guests')) == (
        (('on', 2048.0), (404, 0.0)), ([], []),
        (404, 0.0), ('on', 2048.0), ['G1'])
    console = z2.ok('POST', '/guests/G1/action',
                    {'action': 'get_console_output'})
    assert console.splitlines()[-1].endswith(
        'HCPRLH1822I Relocation of G1 from ZVMSIM1 to ZVMSIM2 completed')


def test_live_migration_of_a_logged_off_guest(z1):
    z1.create_guest('G1')
    assert migrate(z1, 'G1', 'ZVMSIM2', 'move') == \
        (409, sdk_error('conflict', 1, 'guest', userid='G1'))


@pytest.fixture
def running(z1):
    z1.create_guest('G1', memory=4096)
    z1.action('G1', 'start')
    return 'G1'


def refused(zvm, destination, operation):
    """VMRELOCATE's refusal: its codes and CP's reason."""
    status, envelope = migrate(zvm, 'G1', destination, operation)
    rc = 4 if operation == 'test' else 8
    assert (status, codes(envelope)) == (500, (8, rc, 3000, 1))
    return envelope['errmsg'].partition(
        'HCPRLH1940E G1 is not relocated from ZVMSIM1 to ')[2]


@pytest.mark.parametrize('operation', ['test', 'move'])
def test_live_migration_refusals(z1, z2, cluster, running, operation):
    z1.action('G1', 'pause')
    paused = refused(z1, 'ZVMSIM2', operation)
    z1.action('G1', 'unpause')
    with cluster.lock:
        cluster.member('ZVMSIM2').memory_mb = 3072
    assert [paused, refused(z1, 'ZVMSIM9', operation),
            refused(z1, 'ZVMSIM1', operation),
            refused(z1, 'ZVMSIM2', operation)] == [
        'ZVMSIM2: HCPRLL1813I the guest is stopped (paused)',
        'ZVMSIM9: HCPRLH1942E ZVMSIM9 is not a member of the cluster',
        'ZVMSIM1: HCPRLH1941E G1 is already on ZVMSIM1',
        'ZVMSIM2: HCPRLL1813I ZVMSIM2 has 3072 MB of storage free, '
        '4096 MB needed']
    assert (where(z1, 'G1'), z1.ok('GET', '/guests')) == \
        (('on', 4096.0), ['G1'])


def test_destination_memory_counts_its_logged_on_guests(z1, z2, cluster,
                                                        running):
    with cluster.lock:
        cluster.member('ZVMSIM2').memory_mb = 8192
    z2.create_guest('G2', memory=5120)
    fits = migrate(z1, 'G1', 'ZVMSIM2', 'test')
    z2.action('G2', 'start')
    assert (fits, refused(z1, 'ZVMSIM2', 'test')) == ((200, ok()), (
        'ZVMSIM2: HCPRLL1813I ZVMSIM2 has 3072 MB of storage free, '
        '4096 MB needed'))


def test_live_migration_without_parms(z1, running):
    """The real handler reads body['parms'], although its schema leaves it
    out: a KeyError, which the web layer answers with a 500."""
    assert z1.action('G1', 'live_migrate_vm', destination='ZVMSIM2',
                     operation='move') == (500, web_error(
                         500, 'The server has either erred or is incapable '
                         'of performing the requested operation.'))


def test_host_ssi_lists_both_members(z1, z2):
    def without_heartbeats(lines):
        return [line for line in lines if 'heartbeat' not in line]

    ssi1, ssi2 = z1.ok('GET', '/host/ssi'), z2.ok('GET', '/host/ssi')
    assert without_heartbeats(ssi1) == without_heartbeats(ssi2) == [
        'ssi_name = SIMSSI', 'ssi_mode = Stable',
        'ssi_pdr = SIMPDR_on_1000', 'cross_system_timeouts = Enabled',
        'output.ssiInfoCount = 2', '',
        'member_slot = 1', 'member_system_id = ZVMSIM1',
        'member_state = Joined', '',
        'member_slot = 2', 'member_system_id = ZVMSIM2',
        'member_state = Joined', '']


def test_each_member_reports_its_own_host(z1, z2):
    z1.create_guest('G1', vcpus=2, memory=1024, root='10g')
    z2.create_guest('G2', vcpus=3, memory=4096, root='5g')
    z1.action('G1', 'start')
    z2.action('G2', 'start')

    def own(zvm):
        info = zvm.ok('GET', '/host')
        return {k: info[k] for k in ('zvm_host', 'hypervisor_hostname',
                                     'vcpus_used', 'memory_mb_used',
                                     'disk_used')}

    # The disk pool is the cluster's: both see both guests' minidisks.
    assert (own(z1), own(z2)) == (
        {'zvm_host': 'ZVMSIM1', 'hypervisor_hostname': 'ZVMSIM1',
         'vcpus_used': 2, 'memory_mb_used': 1024.0, 'disk_used': 15},
        {'zvm_host': 'ZVMSIM2', 'hypervisor_hostname': 'ZVMSIM2',
         'vcpus_used': 3, 'memory_mb_used': 4096.0, 'disk_used': 15})
