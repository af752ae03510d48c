# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Cold resize of a DPM partition within its CPC subset (simulator)."""

from nova import exception
from nova import objects
import pytest

from nova_ibmz.sim.hmc import metrics as sim_metrics
from tests import hmc
from tests import hmcsim
from tests.unit import test_dpm_driver as lifecycle


@pytest.fixture
def spawned():
    driver = hmc.driver(None)
    instance = lifecycle.make_instance(vcpus=2, memory_mb=4096)
    lifecycle.spawn(driver, instance)
    return driver, instance


def flavor(vcpus, memory_mb):
    return objects.Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=0,
                          ephemeral_gb=0, swap=0, name=f'dpm.{vcpus}',
                          flavorid=str(vcpus), extra_specs={})


def sizes(instance):
    props = lifecycle.faked(instance).properties
    return (props['status'], props['ifl-processors'],
            props['initial-memory'], props['maximum-memory'])


def test_resize_then_revert(spawned):
    driver, instance = spawned
    old, new = instance.flavor, flavor(4, 8192)
    assert driver.migrate_disk_and_power_off(
        None, instance, hmc.HOST, new, None) == ''
    assert sizes(instance)[0] == 'stopped'
    instance.flavor = new
    driver.finish_migration(None, None, instance, '', None, None, True, {})
    assert sizes(instance) == ('active', 4, 8192, 8192)
    driver.confirm_migration(None, None, instance, None)
    assert sizes(instance) == ('active', 4, 8192, 8192)

    driver.migrate_disk_and_power_off(None, instance, hmc.HOST, old, None)
    instance.flavor = old
    driver.finish_revert_migration(None, instance, None, None,
                                   power_on=False)
    assert sizes(instance) == ('stopped', 2, 4096, 4096)


@pytest.mark.parametrize('dest, new, words', [
    ('subset-2', flavor(2, 4096), 'not moved to subset-2'),
    (hmc.HOST, flavor(21, 4096), 'exceeds the subset'),
    (hmc.HOST, flavor(2, 512 * 1024 + 1), 'exceeds the subset'),
])
def test_resize_refused_leaves_the_partition_running(spawned, dest, new,
                                                     words):
    driver, instance = spawned
    with pytest.raises(exception.InstanceFaultRollback) as e:
        driver.migrate_disk_and_power_off(None, instance, dest, new, None)
    assert words in str(e.value.inner_exception)
    assert sizes(instance) == ('active', 2, 4096, 4096)


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
