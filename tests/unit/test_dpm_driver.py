# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""DPMDriver's instance lifecycle on the HMC simulator (default topology).

Every test ends by checking the safety rule: the three partitions of other
workloads are exactly as the topology made them.
"""

import uuid

from nova.compute import power_state
from nova.compute import provider_tree
from nova import conf as nova_conf
from nova import context as nova_context
from nova import exception
from nova import objects
import os_resource_classes as orc
import pytest

from nova_ibmz.common.exception import BuildFailed
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.common import fc
from nova_ibmz.conf import types
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.hmc import naming
from nova_ibmz.dpm import storage
from tests import hmc
from tests import hmcsim

objects.register_all()


def make_instance(vcpus=2, memory_mb=4096, index=[0]):
    index[0] += 1
    flavor = objects.Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=0,
                            ephemeral_gb=0, swap=0, name='dpm.small',
                            flavorid='1', extra_specs={})
    return objects.Instance(
        context=nova_context.get_admin_context(), uuid=str(uuid.uuid4()),
        id=index[0], flavor=flavor, vcpus=vcpus, memory_mb=memory_mb,
        system_metadata={}, task_state=None, vm_state='active',
        migration_context=None)


def snapshot_foreign():
    return hmc.foreign_partitions()


@pytest.fixture
def driver():
    config = hmc.make_config(physical_storage_adapter_mappings=(
        types.AdapterPort(hmc.FCP_1, 0), types.AdapterPort(hmc.FCP_2, 0)))
    dpm = hmc.driver(None, config=config, known_instances=hmc.no_instances)
    before = snapshot_foreign()
    yield dpm
    assert snapshot_foreign() == before


@pytest.fixture
def controls(driver):
    return hmcsim.Controls(hmc.server())


def faked(instance):
    """The instance's partition in the simulator's model, or None."""
    return hmc.find_partition(instance.uuid)


def spawn(driver, instance, nics=(hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2),
          **connection):
    driver.prepare_for_spawn(instance)
    network_info = hmc.network_info(*nics)
    driver.spawn(None, instance, None, [], None, {},
                 network_info=network_info,
                 block_device_info=hmc.boot_from_volume(instance,
                                                        **connection))
    return network_info


def api_calls(controls, since):
    """(method, path) of the API requests since a log position, without
    job polls (whose number depends on timing)."""
    return [(r['method'], r['path'].split('?')[0])
            for r in controls.requests(since)
            if not (r['method'] == 'GET' and '/api/jobs/' in r['path'])]


def test_spawn_from_volume_with_two_nics(driver, controls):
    instance = make_instance(vcpus=2, memory_mb=4096)
    driver.init_host(hmc.HOST)
    spawn(driver, instance)
    part = faked(instance)
    props = part.properties
    assert props['status'] == 'active'
    assert (props['ifl-processors'], props['initial-memory'],
            props['maximum-memory']) == (2, 4096, 4096)
    assert props['description'] == (f'OpenStack CPCSubset={hmc.HOST} '
                                    f'Instance={instance.name}')
    hbas = {h.properties['device-number']: h for h in part.hbas.list()}
    assert sorted(hbas) == ['1900', '1901']
    wwpns = [hbas[d].properties['wwpn'] for d in ('1900', '1901')]
    assert driver.get_volume_connector(instance)['wwpns'] == wwpns
    assert props['boot-device'] == 'storage-adapter'
    assert props['boot-storage-device'] == hbas['1900'].uri
    assert props['boot-world-wide-port-name'] == hmc.TARGETS[0]
    assert props['boot-logical-unit-number'] == '0001000000000000'
    nics = sorted(part.nics.list(), key=lambda n: n.properties[
        'device-number'])
    assert [n.properties['device-number'] for n in nics] == ['1000', '1004']
    assert nics[0].name.startswith('OpenStack_Port_')
    assert nics[0].properties['description'] == (
        f'OpenStack mac=fa:16:3e:00:00:00, CPCSubset={hmc.HOST}')
    assert props['boot-os-specific-parameters'] == (
        '1000,0,fa163e000000;1004,0,fa163e000001;')
    assert driver.get_info(instance).state == power_state.RUNNING
    assert driver.list_instances() == [instance.name]
    assert driver.list_instance_uuids() == [instance.uuid]


def test_spawn_costs_at_most_8_requests_plus_job_polls(driver, controls):
    """Seed driver: 19 plus job polls (2 NICs, 1 adapter).  Create
    partition, create HBA, read its WWPN, 2 NICs, 1 update, start, delete
    the job; the first spawn of a host also lists the virtual switches."""
    dpm = hmc.driver(None, known_instances=hmc.no_instances)  # one mapping
    dpm.init_host(hmc.HOST)
    spawn(dpm, make_instance())
    instance = make_instance()
    seq = controls.last_seq()
    spawn(dpm, instance)
    calls = api_calls(controls, seq)
    assert len(calls) == 8, calls
    assert faked(instance).properties['status'] == 'active'


def test_spawn_without_a_volume_says_so(driver):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                     block_device_info=None)
    assert 'boot from a Cinder FC volume' in str(e.value)
    assert faked(instance) is None


def test_spawn_failing_half_way_leaves_nothing(driver, controls):
    """The second NIC is refused: the first NIC, the HBAs and the
    partition go again, and the virtual switch lists no NIC."""
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    assert len(faked(instance).hbas.list()) == 2
    controls.fault(method='POST', path=r'/nics$', after=1, times=1,
                   status=400, reason=7, message='refused by the test')
    with pytest.raises(BuildFailed) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1,
                                                   hmc.VSWITCH_OSD_2),
                     block_device_info=hmc.boot_from_volume(instance))
    # The build ends with the HMC's answer and the step it refused.
    assert isinstance(e.value.__cause__, RequestRefused)
    assert str(e.value) == str(e.value.__cause__)
    assert str(e.value).startswith(
        f'HMC 127.0.0.1:{hmc.server().port}: creating NIC OpenStack_Port_')
    assert 'refused: HTTP 400,7: refused by the test' in str(e.value)
    assert faked(instance) is None
    with hmc.server().sim.lock:
        for vswitch in hmc.faked_cpc().virtual_switches.list():
            assert vswitch.properties['connected-vnic-uris'] == []
        assert not [uri for uri in hmc.server().sim.hmc.all_resources
                    if '/hbas/' in uri or '/nics/' in uri]


# -- helpers of the tests below ----------------------------------------------

def partition_props(part):
    """A copy of a faked partition's properties, read under the lock."""
    with hmc.server().sim.lock:
        return dict(part.properties)


def device_uris(part):
    """URIs of a faked partition's HBAs and NICs."""
    with hmc.server().sim.lock:
        return ([h.uri for h in part.hbas.list()] +
                [n.uri for n in part.nics.list()])


def hba_and_nic_uris():
    """Every HBA and NIC URI the simulated HMC holds."""
    with hmc.server().sim.lock:
        return [uri for uri in hmc.server().sim.hmc.all_resources
                if '/hbas/' in uri or '/nics/' in uri]


def assert_nothing_left(instance):
    """No partition, HBA or NIC of ours, and no NIC on a virtual switch."""
    assert faked(instance) is None
    assert hba_and_nic_uris() == []
    with hmc.server().sim.lock:
        for vswitch in hmc.faked_cpc().virtual_switches.list():
            assert vswitch.properties['connected-vnic-uris'] == []


def operations(controls, since):
    """The partition operations (stop, start, ...) asked for since seq."""
    return [path.rsplit('/', 1)[1] for method, path in
            api_calls(controls, since)
            if method == 'POST' and '/operations/' in path]


def changes(controls, since):
    """POST and DELETE requests since seq, as (method, path), without
    logons and the deletes of ended jobs."""
    return [(method, path) for method, path in api_calls(controls, since)
            if method in ('POST', 'DELETE') and
            not path.startswith(('/api/jobs/', '/api/sessions'))]


def fc_block_device_info(connection_info):
    """block_device_info booting from the volume of connection_info."""
    return {'root_device_name': '/dev/sda', 'ephemerals': [], 'swap': None,
            'block_device_mapping': [{
                'boot_index': 0, 'mount_device': '/dev/sda',
                'delete_on_termination': False,
                'connection_info': connection_info}]}


def alternating_vswitches(count):
    return tuple((hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2)[i % 2]
                 for i in range(count))


def state(driver, instance):
    return driver.get_info(instance, use_cache=False).state


# -- power --------------------------------------------------------------------

def test_power_off_power_on_and_reboot(driver, controls):
    instance = make_instance()
    network_info = spawn(driver, instance)
    part = faked(instance)

    driver.power_off(instance)
    assert partition_props(part)['status'] == 'stopped'
    assert state(driver, instance) == power_state.SHUTDOWN
    assert driver.get_info(instance).state == power_state.SHUTDOWN

    driver.power_on(None, instance, network_info)
    assert partition_props(part)['status'] == 'active'
    assert state(driver, instance) == power_state.RUNNING
    assert driver.get_info(instance).state == power_state.RUNNING

    for reboot_type in ('HARD', 'SOFT'):
        seq = controls.last_seq()
        driver.reboot(None, instance, network_info, reboot_type)
        assert operations(controls, seq) == ['stop', 'start'], reboot_type
        assert partition_props(part)['status'] == 'active'
        assert state(driver, instance) == power_state.RUNNING


def test_power_off_and_power_on_of_a_stopped_or_running_partition(
        driver, controls):
    """Powering off what is off, or on what is on, asks nothing."""
    instance = make_instance()
    network_info = spawn(driver, instance)
    seq = controls.last_seq()
    driver.power_on(None, instance, network_info)
    assert operations(controls, seq) == []
    driver.power_off(instance)
    seq = controls.last_seq()
    driver.power_off(instance)
    assert operations(controls, seq) == []
    assert state(driver, instance) == power_state.SHUTDOWN


def test_power_on_of_a_partition_paused_by_the_guest(driver, controls):
    instance = make_instance()
    network_info = spawn(driver, instance)
    part = faked(instance)
    controls.set_properties(part.uri, status='paused')
    assert state(driver, instance) == power_state.SHUTDOWN
    seq = controls.last_seq()
    driver.power_on(None, instance, network_info)
    assert [(m, p) for m, p in changes(controls, seq)
            if '/operations/' in p] == [
        ('POST', part.uri + '/operations/stop'),
        ('POST', part.uri + '/operations/start')]
    assert partition_props(part)['status'] == 'active'
    assert state(driver, instance) == power_state.RUNNING


def test_power_off_of_a_paused_partition_stops_it(driver, controls):
    instance = make_instance()
    spawn(driver, instance)
    part = faked(instance)
    controls.set_properties(part.uri, status='paused')
    seq = controls.last_seq()
    driver.power_off(instance)
    assert operations(controls, seq) == ['stop']
    assert partition_props(part)['status'] == 'stopped'
    assert state(driver, instance) == power_state.SHUTDOWN


# -- destroy ------------------------------------------------------------------

def test_destroy_a_running_instance(driver, controls):
    instance = make_instance()
    spawn(driver, instance)
    part = faked(instance)
    devices = device_uris(part)
    assert len(devices) == 4       # 2 HBAs, 2 NICs
    wwpns = driver.get_volume_connector(instance)['wwpns']
    assert len(wwpns) == 2
    seq = controls.last_seq()
    driver.destroy(None, instance, None)
    assert changes(controls, seq) == [
        ('POST', part.uri + '/operations/stop'), ('DELETE', part.uri)]
    assert faked(instance) is None
    with hmc.server().sim.lock:
        resources = hmc.server().sim.hmc.all_resources
        assert part.uri not in resources
        assert not [uri for uri in devices if uri in resources]
    assert_nothing_left(instance)
    # Nova detaches the volumes after destroy: the connector still works.
    assert driver.get_volume_connector(instance)['wwpns'] == wwpns
    assert driver.list_instances() == []
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(instance)
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(instance, use_cache=False)


def test_destroy_a_stopped_instance_twice(driver, controls):
    instance = make_instance()
    spawn(driver, instance)
    part = faked(instance)
    driver.power_off(instance)
    seq = controls.last_seq()
    driver.destroy(None, instance, None)
    assert changes(controls, seq) == [('DELETE', part.uri)]
    assert_nothing_left(instance)
    seq = controls.last_seq()
    driver.destroy(None, instance, None)      # gone already: no-op
    assert changes(controls, seq) == []
    assert len(driver.get_volume_connector(instance)['wwpns']) == 2
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(instance)


def test_destroy_an_instance_that_never_had_a_partition(driver, controls):
    instance = make_instance()
    seq = controls.last_seq()
    driver.destroy(None, instance, None)
    driver.failed_spawn_cleanup(instance)
    assert changes(controls, seq) == []
    assert driver.get_volume_connector(instance)['wwpns'] == []
    with pytest.raises(exception.InstanceNotFound):
        driver.get_info(instance)


def test_destroy_between_prepare_for_spawn_and_spawn(driver):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    driver.destroy(None, instance, None)
    assert_nothing_left(instance)
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                     block_device_info=hmc.boot_from_volume(instance))
    assert 'without prepare_for_spawn' in str(e.value)
    assert_nothing_left(instance)


# -- partitions that are not ours, or ours already ---------------------------

def test_foreign_partition_with_the_instance_name_is_never_touched(
        driver, controls):
    instance = make_instance()
    decoy = hmc.add_partition(hmc.HOST, instance.uuid, 'x',
                              description='Imported workload')
    before = partition_props(decoy)
    assert before['name'] == naming.partition_name(hmc.HOST,
                                                   instance.uuid)
    seq = controls.last_seq()

    with pytest.raises(InstanceSetupError) as e:
        driver.prepare_for_spawn(instance)
    assert 'not one of ours' in str(e.value)
    driver.failed_spawn_cleanup(instance)     # what Nova does next

    network_info = hmc.network_info(hmc.VSWITCH_OSD_1)
    # destroy and power_off find no partition of ours: nothing to do,
    # nothing raised (a partition that is gone is off).
    driver.destroy(None, instance, network_info)
    driver.power_off(instance)
    for call in (
            lambda: driver.power_on(None, instance, network_info),
            lambda: driver.reboot(None, instance, network_info, 'HARD'),
            lambda: driver.reboot(None, instance, network_info, 'SOFT'),
            lambda: driver.get_console_output(None, instance),
            lambda: driver.trigger_crash_dump(instance),
            lambda: driver.get_info(instance, use_cache=False),
            lambda: driver.attach_volume(
                None, hmc.fc_connection(instance), instance, '/dev/sdb')):
        with pytest.raises(exception.InstanceNotFound):
            call()

    assert partition_props(decoy) == before
    assert device_uris(decoy) == []
    # The only change asked for is the refused Create Partition.
    assert changes(controls, seq) == [
        ('POST', f'/api/cpcs/{hmc.CPC_ID}/partitions')]
    assert not [r for r in controls.requests(seq)
                if decoy.uri in r['path'] and r['method'] != 'GET']
    assert decoy.uri not in controls.call('GET', '/events')['events']
    assert driver.list_instances() == []
    assert driver.get_num_instances() == 0


def test_prepare_for_spawn_of_an_instance_that_has_a_partition(
        driver, controls):
    instance = make_instance()
    spawn(driver, instance)
    part = faked(instance)
    before = partition_props(part)
    devices = device_uris(part)
    wwpns = driver.get_volume_connector(instance)['wwpns']
    seq = controls.last_seq()
    with pytest.raises(exception.InstanceExists):
        driver.prepare_for_spawn(instance)
    assert changes(controls, seq) == [
        ('POST', f'/api/cpcs/{hmc.CPC_ID}/partitions')]
    assert partition_props(part) == before
    assert device_uris(part) == devices
    assert driver.get_volume_connector(instance)['wwpns'] == wwpns
    assert state(driver, instance) == power_state.RUNNING


# -- storage ------------------------------------------------------------------

def two_hba_config(**changes):
    return hmc.make_config(
        physical_storage_adapter_mappings=(types.AdapterPort(hmc.FCP_1, 0),
                                           types.AdapterPort(hmc.FCP_2, 0)),
        **changes)


def test_boot_path_skips_ignored_target_wwpns(driver):
    dpm = hmc.driver(None, config=two_hba_config(
        target_wwpn_ignore_list=frozenset([hmc.TARGETS[0]])))
    instance = make_instance()
    spawn(dpm, instance)
    part = faked(instance)
    props = partition_props(part)
    hbas = {h.properties['device-number']: h.uri for h in part.hbas.list()}
    assert props['boot-world-wide-port-name'] == hmc.TARGETS[1]
    assert props['boot-storage-device'] == hbas['1900']
    assert props['status'] == 'active'


def test_boot_volume_behind_ignored_targets_only_has_no_path(driver):
    dpm = hmc.driver(None, config=two_hba_config(
        target_wwpn_ignore_list=frozenset(hmc.TARGETS)))
    instance = make_instance()
    with pytest.raises(InstanceSetupError) as e:
        spawn(dpm, instance)
    assert 'no path' in str(e.value)
    assert_nothing_left(instance)


def test_initiator_target_map_picks_the_hba(driver):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    wwpns = storage.remembered_wwpns(instance, hmc.HOST)
    assert len(wwpns) == 2
    connection = {
        'driver_volume_type': 'fibre_channel', 'serial': str(uuid.uuid4()),
        'data': {'target_discovered': False, 'target_lun': 2,
                 'target_wwn': list(hmc.TARGETS),
                 # Cinder zoned the volume to the second initiator only,
                 # and writes WWPNs its own way.
                 'initiator_target_map': {
                     ':'.join(wwpns[1][i:i + 2] for i in range(0, 16, 2))
                     .upper(): [hmc.TARGETS[1]]}}}
    driver.spawn(None, instance, None, [], None, {},
                 network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                 block_device_info=fc_block_device_info(connection))
    part = faked(instance)
    props = partition_props(part)
    hbas = {h.properties['device-number']: h for h in part.hbas.list()}
    assert hbas['1901'].properties['wwpn'] == wwpns[1]
    assert props['boot-storage-device'] == hbas['1901'].uri
    assert props['boot-world-wide-port-name'] == hmc.TARGETS[1]
    assert props['boot-logical-unit-number'] == '0002000000000000'
    assert props['status'] == 'active'


@pytest.mark.parametrize('data, fcp', [
    ({'target_lun': 0}, '0000000000000000'),
    ({'target_lun': 1}, '0001000000000000'),
    ({'target_lun': 0x4010}, '4010000000000000'),
    ({'target_lun': '7'}, '0007000000000000'),
    ({'target_luns': [5]}, '0005000000000000'),
    ({'target_luns': [5], 'target_lun': 6}, '0006000000000000'),
])
def test_fcp_lun_of_a_connection(data, fcp):
    instance = make_instance()
    initiator = storage.Initiator('/api/partitions/p/hbas/h',
                                  'c050760000000001')
    data = dict(data, target_wwn=[hmc.TARGETS[0]])
    props = storage.boot_properties(
        instance, [initiator], {'driver_volume_type': 'fibre_channel',
                                'data': data}, frozenset())
    assert props['boot-logical-unit-number'] == fcp


def test_fcp_lun():
    assert fc.fcp_lun(0) == '0000000000000000'
    assert fc.fcp_lun(1) == '0001000000000000'
    assert fc.fcp_lun(0x4010) == '4010000000000000'
    assert fc.fcp_lun(16400) == '4010000000000000'
    assert fc.fcp_lun(0x10002) == '0002000100000000'


def test_spawn_boots_from_the_lun_of_the_connection(driver):
    instance = make_instance()
    spawn(driver, instance, nics=(hmc.VSWITCH_OSD_1,), lun=3)
    props = partition_props(faked(instance))
    assert props['boot-logical-unit-number'] == '0003000000000000'
    assert props['status'] == 'active'


def iscsi_connection():
    return {'driver_volume_type': 'iscsi', 'serial': str(uuid.uuid4()),
            'data': {'target_iqn': 'iqn.2010-10.org.openstack:volume-1',
                     'target_portal': '192.0.2.10:3260', 'target_lun': 1}}


def test_non_fc_volumes_are_refused(driver, controls):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                     block_device_info=fc_block_device_info(
                         iscsi_connection()))
    assert 'iscsi' in str(e.value) and 'fibre_channel' in str(e.value)
    assert_nothing_left(instance)

    other = make_instance()
    spawn(driver, other)
    part = faked(other)
    before = partition_props(part)
    seq = controls.last_seq()
    for call in (
            lambda: driver.attach_volume(None, iscsi_connection(), other,
                                         '/dev/sdb'),
            lambda: driver.detach_volume(None, iscsi_connection(), other,
                                         '/dev/sdb')):
        with pytest.raises(InstanceSetupError) as e:
            call()
        assert 'iscsi' in str(e.value) and 'fibre_channel' in str(e.value)
    assert changes(controls, seq) == []
    assert partition_props(part) == before
    # An FC volume is fine.
    driver.attach_volume(None, hmc.fc_connection(other), other, '/dev/sdb')


def test_volume_without_connection_info_is_refused_clearly(driver):
    """A BDM whose connection_info is None (never connected): check_fc
    guards for it, so the error should be the driver's, not an
    AttributeError."""
    instance = make_instance()
    with pytest.raises(InstanceSetupError):
        driver.attach_volume(None, None, instance, '/dev/sdb')
    driver.prepare_for_spawn(instance)
    with pytest.raises(InstanceSetupError):
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                     block_device_info=fc_block_device_info(None))
    assert_nothing_left(instance)


# -- networking ---------------------------------------------------------------

def test_port_not_bound_by_networking_dpm_is_refused(driver, controls):
    instance = make_instance()
    network_info = hmc.network_info(hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2)
    network_info[1]['type'] = 'ovs'
    driver.prepare_for_spawn(instance)
    seq = controls.last_seq()
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=network_info,
                     block_device_info=hmc.boot_from_volume(instance))
    assert 'dpm_vswitch' in str(e.value) and 'ovs' in str(e.value)
    assert not [p for m, p in changes(controls, seq) if '/nics' in p]
    assert_nothing_left(instance)


def test_13_nics_do_not_fit_the_boot_parameters(driver, controls):
    instance = make_instance()
    seq = controls.last_seq()
    with pytest.raises(InstanceSetupError) as e:
        spawn(driver, instance, nics=alternating_vswitches(13))
    assert '256' in str(e.value) and '12 NICs' in str(e.value)
    assert not [p for m, p in changes(controls, seq) if '/nics' in p]
    assert not [p for m, p in changes(controls, seq)
                if p.endswith('/operations/start')]
    assert_nothing_left(instance)


def test_12_nics_fit(driver):
    instance = make_instance()
    spawn(driver, instance, nics=alternating_vswitches(12))
    part = faked(instance)
    props = partition_props(part)
    assert props['status'] == 'active'
    params = props['boot-os-specific-parameters']
    assert len(params) <= 256
    entries = params.rstrip(';').split(';')
    assert entries == [f'{0x1000 + 4 * i:04x},0,fa163e0000{i:02x}'
                       for i in range(12)]
    with hmc.server().sim.lock:
        nics = {n.properties['device-number']: n.properties
                for n in part.nics.list()}
    assert sorted(nics) == [f'{0x1000 + 4 * i:04x}' for i in range(12)]
    vswitches = [nics[f'{0x1000 + 4 * i:04x}']['virtual-switch-uri']
                 for i in range(12)]
    assert vswitches == [f'/api/virtual-switches/{v}'
                         for v in alternating_vswitches(12)]


def test_vlan_of_the_port_is_enforced_on_the_nic(driver):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    driver.spawn(None, instance, None, [], None, {},
                 network_info=hmc.network_info(hmc.VSWITCH_OSD_1,
                                               vlan=1234),
                 block_device_info=hmc.boot_from_volume(instance))
    part = faked(instance)
    with hmc.server().sim.lock:
        [nic] = [dict(n.properties) for n in part.nics.list()]
    assert nic['vlan-id'] == 1234
    assert nic['vlan-type'] == 'enforced'


# -- console and dump ---------------------------------------------------------

def test_console_output_is_the_os_messages(driver):
    instance = make_instance()
    spawn(driver, instance)
    lines = driver.get_console_output(None, instance).splitlines()
    assert ('Kernel command line: 1000,0,fa163e000000;1004,0,fa163e000001;'
            in lines)
    assert [line for line in lines if line.endswith(' login:')]


def test_trigger_crash_dump_restarts_the_psw(driver, controls):
    instance = make_instance()
    spawn(driver, instance)
    part = faked(instance)
    driver.trigger_crash_dump(instance)
    events = controls.call('GET', '/events')['events'].get(part.uri, [])
    assert [e['event'] for e in events] == ['psw-restart']
    assert partition_props(part)['status'] == 'active'
    assert 'PSW restart' in driver.get_console_output(None, instance)


# -- resources ----------------------------------------------------------------

def test_update_provider_tree(driver):
    def inventory():
        tree = provider_tree.ProviderTree()
        tree.new_root(hmc.HOST, str(uuid.uuid4()))
        driver.update_provider_tree(tree, hmc.HOST)
        return tree, tree.data(hmc.HOST).inventory

    tree, inv = inventory()
    assert sorted(inv) == [orc.MEMORY_MB, orc.VCPU]
    assert nova_conf.CONF.cpu_allocation_ratio is None
    assert nova_conf.CONF.initial_cpu_allocation_ratio == 4.0
    assert inv[orc.VCPU]['total'] == 20
    assert inv[orc.VCPU]['max_unit'] == 20
    assert inv[orc.VCPU]['allocation_ratio'] == 4.0
    assert inv[orc.MEMORY_MB]['total'] == 524288
    assert inv[orc.MEMORY_MB]['max_unit'] == 524288
    assert inv[orc.MEMORY_MB]['allocation_ratio'] == 1.0
    # A ratio set in placement stays while cpu_allocation_ratio is unset.
    inv[orc.VCPU]['allocation_ratio'] = 8.0
    tree.update_inventory(hmc.HOST, inv)
    driver.update_provider_tree(tree, hmc.HOST)
    assert tree.data(hmc.HOST).inventory[orc.VCPU]['allocation_ratio'] == 8.0

    nova_conf.CONF.set_override('cpu_allocation_ratio', 2.5)
    nova_conf.CONF.set_override('ram_allocation_ratio', 3.0)
    try:
        _, inv = inventory()
    finally:
        nova_conf.CONF.clear_override('cpu_allocation_ratio')
        nova_conf.CONF.clear_override('ram_allocation_ratio')
    assert inv[orc.VCPU]['allocation_ratio'] == 2.5
    assert inv[orc.MEMORY_MB]['allocation_ratio'] == 1.0
    assert orc.DISK_GB not in inv


# -- HMC refusals -------------------------------------------------------------

def test_failed_start_job_leaves_nothing(driver, controls):
    instance = make_instance()
    controls.fault(method='POST', path='/operations/start',
                   job_failure={'status': 409, 'reason': 0,
                                'message': 'no memory'})
    with pytest.raises(BuildFailed) as e:
        spawn(driver, instance)
    assert 'starting partition OpenStack-' in str(e.value)
    assert 'refused: HTTP 409,0: no memory' in str(e.value)
    assert_nothing_left(instance)
    assert driver.list_instances() == []


# -- two compute hosts on one CPC --------------------------------------------

def test_two_hosts_on_one_cpc_keep_to_their_own(driver, controls):
    other = dpm_driver.DPMDriver(None, config=hmc.make_config(),
                                 host_name='subset-2',
                                 known_instances=hmc.no_instances)
    other.init_host('subset-2')
    mine, theirs = make_instance(memory_mb=4096), make_instance(
        memory_mb=2048)
    network_info = spawn(driver, mine)
    spawn(other, theirs, nics=(hmc.VSWITCH_OSD_2,))
    assert driver.list_instances() == [mine.name]
    assert driver.list_instance_uuids() == [mine.uuid]
    assert other.list_instances() == [theirs.name]
    assert other.list_instance_uuids() == [theirs.uuid]
    assert driver.get_available_resource(hmc.HOST)['memory_mb_used'] == 4096
    assert other.get_available_resource('subset-2')['memory_mb_used'] == 2048

    part = faked(mine)
    before = partition_props(part)
    devices = device_uris(part)
    seq = controls.last_seq()
    other.destroy(None, mine, network_info)      # not its own: a no-op
    other.power_off(mine)                         # likewise
    for call in (
            lambda: other.power_on(None, mine, network_info),
            lambda: other.reboot(None, mine, network_info, 'HARD'),
            lambda: other.trigger_crash_dump(mine),
            lambda: other.get_console_output(None, mine),
            lambda: other.get_info(mine, use_cache=False)):
        with pytest.raises(exception.InstanceNotFound):
            call()
    assert changes(controls, seq) == []
    assert partition_props(part) == before
    assert device_uris(part) == devices
    assert driver.list_instances() == [mine.name]
    assert state(driver, mine) == power_state.RUNNING
    # And the other way round.
    driver.power_off(theirs)
    with pytest.raises(exception.InstanceNotFound):
        driver.power_on(None, theirs, None)
    assert state(other, theirs) == power_state.RUNNING
    other.destroy(None, theirs, None)
    assert other.list_instances() == []
    assert driver.list_instances() == [mine.name]


# -- partitions no instance owns (a crash in the middle of a spawn) -----------

@pytest.mark.parametrize('action, kept', [('report', True),
                                          ('remove', False)])
def test_init_host_handles_orphans(driver, caplog, action, kept):
    """A partition of this subset that no instance of this host owns is
    reported, or removed with orphan_action = remove; the instance that
    Nova knows, another host's partition and the foreign ones stay."""
    known, orphan, elsewhere = (str(uuid.uuid4()) for _ in range(3))
    hmc.add_partition(hmc.HOST, known, 'instance-known')
    hmc.add_partition(hmc.HOST, orphan, 'instance-orphan', status='active')
    hmc.add_partition('subset-2', elsewhere, 'instance-elsewhere')
    dpm = dpm_driver.DPMDriver(
        None, config=hmc.make_config(orphan_action=action),
        host_name=hmc.HOST, known_instances=lambda host: {known})
    dpm.init_host(hmc.HOST)
    names = {p.name for p in hmc.faked_cpc().partitions.list()}
    assert naming.partition_name(hmc.HOST, known) in names
    assert naming.partition_name('subset-2', elsewhere) in names
    assert (naming.partition_name(hmc.HOST, orphan) in names) is kept
    assert naming.partition_name(hmc.HOST, orphan) in caplog.text
    assert dpm.list_instance_uuids() == (
        [known, orphan] if kept else [known])


def test_attach_refuses_a_volume_mapped_to_other_wwpns(driver):
    """Cinder mapped the LUN for other initiators: the guest would never
    see it, so the attach fails naming both sides."""
    instance = make_instance()
    spawn(driver, instance)
    connection = hmc.fc_connection(instance, lun=2)
    connection['data']['initiator_target_map'] = {
        'c05076ffffff0001': list(hmc.TARGETS)}
    with pytest.raises(InstanceSetupError) as e:
        driver.attach_volume(None, connection, instance, '/dev/sdb')
    assert 'no path' in str(e.value)
    assert 'c05076ffffff0001' in str(e.value)
    driver.attach_volume(None, hmc.fc_connection(instance, lun=2), instance,
                         '/dev/sdb')
