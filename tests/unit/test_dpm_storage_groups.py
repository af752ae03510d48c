# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""DPMDriver on a CPC with dpm-storage-management (the z14+ model):
storage groups instead of HBAs, on the simulator's storage-groups topology.

PROD-DB2 there boots from its own storage group, which no test may touch.
"""

from nova.compute import task_states
import pytest

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.conf import types
from nova_ibmz.hmc import naming
from tests import hmc
from tests.unit.test_dpm_driver import make_instance


def snapshot():
    """Properties of the foreign partitions and of every storage group
    with its volumes and paths that is not ours."""
    parts = hmc.foreign_partitions(hmc.SG)
    sim = hmc.server(hmc.SG).sim
    with sim.lock:
        groups = {g.name: (dict(g.properties),
                           [dict(v.properties)
                            for v in g.storage_volumes.list()],
                           [dict(v.properties)
                            for v in g.virtual_storage_resources.list()])
                  for g in sim.hmc.consoles.console.storage_groups.list()
                  if not g.name.startswith('OpenStack-')}
    return parts, groups


@pytest.fixture
def driver():
    dpm = hmc.driver(None, topology=hmc.SG, config=hmc.make_config(
        hmc.SG, physical_storage_adapter_mappings=(
            types.AdapterPort(hmc.SG_FCP_1, 0),
            types.AdapterPort(hmc.SG_FCP_2, 0))))
    before = snapshot()
    assert before[1]     # PROD-DB2-BOOT is there to be left alone
    yield dpm
    assert snapshot() == before


def faked_group(instance):
    name = naming.partition_name(hmc.HOST, instance.uuid)
    sim = hmc.server(hmc.SG).sim
    with sim.lock:
        found = [g for g in sim.hmc.consoles.console.storage_groups.list()
                 if g.name == name]
    return found[0] if found else None


def faked_partition(instance):
    return hmc.find_partition(instance.uuid, topology=hmc.SG)


def spawn(driver, instance):
    driver.prepare_for_spawn(instance)
    driver.spawn(None, instance, None, [], None, {},
                 network_info=hmc.network_info(hmc.SG_VSWITCH_OSD_1),
                 block_device_info=hmc.boot_from_volume(instance))


def test_spawn_boots_from_the_instance_storage_group(driver):
    instance = make_instance()
    spawn(driver, instance)
    part, group = faked_partition(instance), faked_group(instance)
    assert part.properties['status'] == 'active'
    assert part.properties['storage-group-uris'] == [group.uri]
    assert group.properties['shared'] is False
    paths = group.virtual_storage_resources.list()
    assert len(paths) == 2
    wwpns = [p.properties['world-wide-port-name'] for p in paths]
    assert sorted(driver.get_volume_connector(instance)['wwpns']) == \
        sorted(wwpns)
    [volume] = group.storage_volumes.list()
    assert volume.properties['usage'] == 'boot'
    assert part.properties['boot-device'] == 'storage-volume'
    assert part.properties['boot-storage-volume'] == volume.uri
    assert part.properties['hba-uris'] == []
    assert part.properties['boot-os-specific-parameters'] == (
        '1000,0,fa163e000000;')


def test_destroy_removes_partition_and_group(driver):
    instance = make_instance()
    spawn(driver, instance)
    wwpns = driver.get_volume_connector(instance)['wwpns']
    driver.destroy(None, instance, None)
    assert faked_partition(instance) is None
    assert faked_group(instance) is None
    assert driver.get_volume_connector(instance)['wwpns'] == wwpns
    driver.destroy(None, instance, None)     # gone already: fine


def test_spawn_failure_removes_the_group(driver):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    assert faked_group(instance) is not None
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info('no-such-vswitch'),
                     block_device_info=hmc.boot_from_volume(instance))
    assert 'virtual switch no-such-vswitch does not exist' in str(e.value)
    assert faked_partition(instance) is None
    assert faked_group(instance) is None


def test_a_foreign_group_with_our_name_is_not_deleted(driver):
    """A storage group named like the instance's but without our
    description survives the destroy of the instance."""
    instance = make_instance()
    spawn(driver, instance)
    sim = hmc.server(hmc.SG).sim
    with sim.lock:
        faked_group(instance).properties['description'] = 'Imported'
    driver.destroy(None, instance, None)
    assert faked_partition(instance) is None
    group = faked_group(instance)
    assert group is not None and group.properties['description'] == \
        'Imported'
    with sim.lock:      # let the fixture's comparison see the topology
        sim.hmc.consoles.console.storage_groups.remove(group.oid)


def test_a_rebuild_refused_keeps_the_partitions_nics(driver):
    """A rebuild without a boot volume fails before it deletes the NICs
    it would make again: the stopped partition stays as it was."""
    instance = make_instance()
    spawn(driver, instance)
    nics = [n.uri for n in faked_partition(instance).nics.list()]
    instance.task_state = task_states.REBUILDING
    driver.destroy(None, instance, None)
    instance.task_state = task_states.REBUILD_SPAWNING
    with pytest.raises(InstanceSetupError, match='boot from a Cinder FC'):
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.SG_VSWITCH_OSD_1),
                     block_device_info=None)
    assert [n.uri for n in faked_partition(instance).nics.list()] == nics


def test_rebuild_keeps_partition_group_and_boot_volume(driver):
    """Nova's default rebuild: destroy (REBUILDING) only stops, spawn
    (REBUILD_SPAWNING) takes the same partition, paths and boot volume."""
    instance = make_instance()
    spawn(driver, instance)
    part, group = faked_partition(instance), faked_group(instance)
    volume = part.properties['boot-storage-volume']
    wwpns = driver.get_volume_connector(instance)['wwpns']
    instance.task_state = task_states.REBUILDING
    driver.destroy(None, instance, None)
    assert faked_partition(instance).properties['status'] == 'stopped'
    instance.task_state = task_states.REBUILD_SPAWNING
    driver.spawn(None, instance, None, [], None, {},
                 network_info=hmc.network_info(hmc.SG_VSWITCH_OSD_1),
                 block_device_info=hmc.boot_from_volume(instance))
    again = faked_partition(instance)
    assert again.uri == part.uri
    assert again.properties['status'] == 'active'
    assert again.properties['boot-storage-volume'] == volume
    assert faked_group(instance).uri == group.uri
    assert len(faked_group(instance).storage_volumes.list()) == 1
    assert len(again.nics.list()) == 1
    assert sorted(p.properties['world-wide-port-name'] for p in
                  group.virtual_storage_resources.list()) == sorted(wwpns)
