# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Cold resize within a CPC subset, and resize / cold migration between
two subsets of the simulator's CPC, driven as Nova's resize flow drives
the two hosts' drivers (dpm.migration).  Nova's Migration and compute node
records, which the drivers read through the conductor, are given here;
tests/functional/test_dpm_migration.py runs the flow through Nova."""

from nova.compute import task_states
from nova import exception
from nova import objects
import pytest

from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.dpm import storage
from nova_ibmz.sim.hmc import metrics as sim_metrics
from tests import hmc
from tests import hmcsim
from tests.unit import test_dpm_driver as lifecycle

OTHER = 'subset-2'


@pytest.fixture
def spawned(driver):
    instance = lifecycle.make_instance(vcpus=2, memory_mb=4096)
    lifecycle.spawn(driver, instance)
    return driver, instance


driver = lifecycle.driver


@pytest.fixture
def other(driver):
    """The second subset's driver, on the same CPC, and what Nova's
    records say of a migration to it and of its compute node."""
    dest = dpm_driver.DPMDriver(
        None, config=hmc.make_config(max_processors=4, max_memory=16384),
        host_name=OTHER, known_instances=hmc.no_instances)
    dest.init_host(OTHER)
    return dest


@pytest.fixture
def records(monkeypatch, other):
    """Nova's records as the drivers read them: one Migration (dest set
    by the test), and the compute nodes from each driver's resources."""
    migration = objects.Migration(id=7, source_compute=hmc.HOST,
                                  dest_compute=OTHER)
    monkeypatch.setattr(objects.Migration, 'get_by_id',
                        classmethod(lambda cls, ctx, id_: migration))

    def nodes(cls, context, host):
        if host != OTHER:
            raise exception.ComputeHostNotFound(host=host)
        resources = other.get_available_resource(OTHER)
        return [objects.ComputeNode(
            hypervisor_type=resources['hypervisor_type'],
            vcpus=resources['vcpus'], memory_mb=resources['memory_mb'])]
    monkeypatch.setattr(objects.ComputeNodeList, 'get_all_by_host',
                        classmethod(nodes))
    return migration


def moving(instance, task_state):
    instance.migration_context = objects.MigrationContext(migration_id=7)
    instance.task_state = task_state
    return instance


def flavor(vcpus, memory_mb):
    return objects.Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=0,
                          ephemeral_gb=0, swap=0, name=f'dpm.{vcpus}',
                          flavorid=str(vcpus), extra_specs={})


def sizes(instance, host=hmc.HOST):
    props = hmc.find_partition(instance.uuid, host=host).properties
    return (props['status'], props['ifl-processors'],
            props['initial-memory'], props['maximum-memory'])


def test_resize_then_revert(spawned):
    driver, instance = spawned
    here = objects.Migration(source_compute=hmc.HOST, dest_compute=hmc.HOST)
    old, new = instance.flavor, flavor(4, 8192)
    assert driver.migrate_disk_and_power_off(
        None, instance, hmc.HOST, new, None) == ''
    assert sizes(instance)[0] == 'stopped'
    instance.flavor = new
    driver.finish_migration(None, here, instance, '', None, None, True, {})
    assert sizes(instance) == ('active', 4, 8192, 8192)
    driver.confirm_migration(None, here, instance, None)
    assert sizes(instance) == ('active', 4, 8192, 8192)

    driver.migrate_disk_and_power_off(None, instance, hmc.HOST, old, None)
    instance.flavor = old
    driver.finish_revert_migration(None, instance, None, here,
                                   power_on=False)
    assert sizes(instance) == ('stopped', 2, 4096, 4096)


@pytest.mark.parametrize('dest, new, words', [
    ('subset-9', flavor(2, 4096), 'subset-9 is not a compute host Nova '
     'knows'),
    (OTHER, flavor(5, 4096), "flavor dpm.5 (5 vCPUs, 4096 MiB) exceeds "
     "those of CPC subset subset-2 4 IFLs or 16384 MiB"),
    (OTHER, flavor(2, 16385), 'exceeds those of CPC subset subset-2'),
    (hmc.HOST, flavor(21, 4096), "exceeds the subset's (subset-1) 20 IFLs"),
    (hmc.HOST, flavor(2, 512 * 1024 + 1), "exceeds the subset's"),
])
def test_resize_refused_leaves_the_partition_running(spawned, records, dest,
                                                     new, words):
    driver, instance = spawned
    records.dest_compute = dest
    with pytest.raises(exception.InstanceFaultRollback) as e:
        driver.migrate_disk_and_power_off(None, moving(instance, None),
                                          '127.0.0.1', new, None)
    assert words in str(e.value.inner_exception)
    assert sizes(instance) == ('active', 2, 4096, 4096)


def test_a_move_to_a_zvm_host_is_refused(spawned, records, monkeypatch):
    driver, instance = spawned
    monkeypatch.setattr(
        objects.ComputeNodeList, 'get_all_by_host', classmethod(
            lambda cls, ctx, host: [objects.ComputeNode(
                hypervisor_type='zvm', vcpus=64, memory_mb=10 ** 6)]))
    with pytest.raises(exception.InstanceFaultRollback) as e:
        driver.migrate_disk_and_power_off(None, moving(instance, None),
                                          '127.0.0.1', flavor(2, 4096), None)
    assert 'subset-2 is not a DPM host (hypervisor zvm)' in str(
        e.value.inner_exception)
    assert sizes(instance)[0] == 'active'


def arrive(source, dest, instance, new=None, **fail):
    """Nova's flow up to the destination's finish_migration: the source
    stops its partition, the destination's connector makes its own,
    finish_migration starts it."""
    new = new or instance.flavor
    source.migrate_disk_and_power_off(
        None, moving(instance, task_states.RESIZE_MIGRATING), '127.0.0.1',
        new, None)
    instance.flavor = new
    instance.task_state = task_states.RESIZE_FINISH
    connector = dest.get_volume_connector(instance)
    dest.finish_migration(
        None, objects.Migration(source_compute=hmc.HOST, dest_compute=OTHER),
        instance, '', hmc.network_info(hmc.VSWITCH_OSD_1), None, True, {},
        block_device_info=hmc.boot_from_volume(instance, host=OTHER))
    return connector


def test_migrate_to_another_subset_then_confirm(spawned, other, records):
    driver, instance = spawned
    source_wwpns = storage.remembered_wwpns(instance, hmc.HOST)
    connector = arrive(driver, other, instance, flavor(3, 8192))
    # The destination's own HBA, its WWPN what Cinder maps volumes to.
    dest_part = hmc.find_partition(instance.uuid, host=OTHER)
    with hmc.server().sim.lock:
        wwpns = [h.properties['wwpn'] for h in dest_part.hbas.list()]
        nics = len(dest_part.nics.list())
    assert connector['wwpns'] == wwpns != source_wwpns
    assert connector['host'] == OTHER
    assert (sizes(instance, OTHER), nics) == (('active', 3, 8192, 8192), 1)
    assert sizes(instance) == ('stopped', 2, 4096, 4096)
    # Until confirmed, both partitions are the instance's.
    assert driver.list_instance_uuids() == [instance.uuid]
    assert other.list_instance_uuids() == [instance.uuid]

    driver.confirm_migration(None, records, instance, None)
    assert hmc.find_partition(instance.uuid) is None
    assert sizes(instance, OTHER)[0] == 'active'
    assert storage.remembered_wwpns(instance, OTHER) == wwpns
    assert storage.remembered_wwpns(instance, hmc.HOST) == []


def test_migrate_to_another_subset_then_revert(spawned, other, records):
    driver, instance = spawned
    source_uri = hmc.find_partition(instance.uuid).uri
    source_wwpns = storage.remembered_wwpns(instance, hmc.HOST)
    old = instance.flavor
    arrive(driver, other, instance, flavor(3, 8192))

    instance.task_state = task_states.RESIZE_REVERTING
    other.destroy(None, instance, None)
    assert hmc.find_partition(instance.uuid, host=OTHER) is None
    instance.flavor = old
    assert driver.get_volume_connector(instance)['wwpns'] == source_wwpns
    driver.finish_revert_migration(None, instance, None, records)
    assert hmc.find_partition(instance.uuid).uri == source_uri
    assert sizes(instance) == ('active', 2, 4096, 4096)
    assert storage.remembered_wwpns(instance, OTHER) == []
    assert storage.remembered_wwpns(instance, hmc.HOST) == source_wwpns


def test_arrival_failing_half_way_leaves_the_destination_nothing(
        spawned, other, records):
    driver, instance = spawned
    controls = hmcsim.Controls(hmc.server())
    controls.fault(method='POST', path=r'/nics$', times=1, status=400,
                   reason=7, message='refused by the test')
    with pytest.raises(exception.NovaException) as e:
        arrive(driver, other, instance)
    assert 'refused by the test' in str(e.value)
    assert hmc.find_partition(instance.uuid, host=OTHER) is None
    assert sizes(instance)[0] == 'stopped'      # the source's, unchanged


def test_instance_diagnostics(spawned):
    """State, one CPU per IFL and the memory of the partition."""
    driver, instance = spawned
    diags = driver.get_instance_diagnostics(instance)
    assert (diags.state, diags.hypervisor) == ('running', 'prsm')
    assert diags.num_cpus == 2
    assert (diags.memory_details.maximum, diags.memory_details.used) == (
        4096, 4096)
    # The simulator's usage figure for this running partition.
    with hmc.server().sim.lock:
        expected = sim_metrics.usage(lifecycle.faked(instance))[0]
    assert expected > 0
    assert [c.utilisation for c in diags.cpu_details] == [expected] * 2
    driver.power_off(instance)
    stopped = driver.get_instance_diagnostics(instance)
    assert stopped.state == 'shutdown'
    assert [c.utilisation for c in stopped.cpu_details] == [0, 0]


def test_metrics_context_made_again_after_a_new_logon(spawned):
    """The HMC drops a session's metrics contexts with the session."""
    driver, instance = spawned
    driver.get_instance_diagnostics(instance)
    controls = hmcsim.Controls(hmc.server())
    controls.call('POST', '/sessions/expire')
    with hmc.server().sim.lock:
        sim = hmc.server().sim
        for context in sim.hmc.metrics_contexts.list():
            sim.hmc.metrics_contexts.remove(context.oid)
    assert driver.get_diagnostics(instance)['processor_usage_percent'] > 0
