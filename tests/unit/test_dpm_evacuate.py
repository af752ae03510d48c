# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Evacuation from a subset of CPC1 to a subset of CPC3 on the simulator,
driven as Nova's rebuild drives the destination's driver (connector, then
spawn) and its init_host the returning source's (destroy): the source's
partition fenced through the HMC first, or the evacuation refused when
the HMC cannot tell (dpm.evacuation).  Nova's Migration record, which the
drivers read through the conductor, is given here;
tests/functional/test_dpm_evacuate.py runs the flow through Nova."""

from nova.compute import task_states
from nova import objects
import pytest

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.dpm import storage
from nova_ibmz.hmc import naming
from tests import hmc
from tests import hmcsim
from tests.unit import test_dpm_driver as lifecycle

DEST = 'cpc3-subset'
CPC1_URI = f'/api/cpcs/{hmc.CPC_ID}'

driver = lifecycle.driver
controls = lifecycle.controls


@pytest.fixture
def dest(driver):
    """The destination's driver: a subset of CPC3 on the same HMC."""
    dpm = dpm_driver.DPMDriver(
        None, config=hmc.make_config(cpc_id=hmc.CPC3_ID), host_name=DEST,
        known_instances=hmc.no_instances)
    dpm.init_host(DEST)
    return dpm


@pytest.fixture
def evacuated(driver, monkeypatch):
    """An instance spawned on the source, and Nova's record of its
    evacuation to DEST."""
    instance = lifecycle.make_instance()
    lifecycle.spawn(driver, instance)
    record = objects.Migration(id=7, migration_type='evacuation',
                               source_compute=hmc.HOST, dest_compute=DEST)
    monkeypatch.setattr(objects.Migration, 'get_by_id',
                        classmethod(lambda cls, ctx, id_: record))
    instance.migration_context = objects.MigrationContext(migration_id=7)
    return instance


def rebuild(dest, instance):
    """The destination's part of Nova's rebuild of an evacuation: the
    connector while it maps the block devices, then spawn."""
    instance.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
    connector = dest.get_volume_connector(instance)
    instance.task_state = task_states.REBUILD_SPAWNING
    dest.spawn(None, instance, None, [], None, {},
               network_info=hmc.network_info(hmc.CPC3_VSWITCH_OSD_1),
               block_device_info=hmc.boot_from_volume(instance, host=DEST))
    return connector


def source_status(instance):
    return lifecycle.partition_props(lifecycle.faked(instance))['status']


def hmc_controls():
    return hmcsim.Controls(hmc.server())


def set_source(instance, **props):
    hmc_controls().set_properties(lifecycle.faked(instance).uri, **props)


def dest_partition(instance):
    return hmc.find_partition(instance.uuid, host=DEST, cpc_id=hmc.CPC3_ID)


def test_evacuate_is_supported(driver):
    assert driver.capabilities['supports_evacuate'] is True


def test_a_running_source_is_fenced_before_anything_is_made(
        driver, dest, evacuated, controls):
    instance = evacuated
    source_wwpns = storage.remembered_wwpns(instance, hmc.HOST)
    since = controls.last_seq()
    connector = rebuild(dest, instance)

    assert source_status(instance) == 'stopped'
    part = dest_partition(instance)
    assert lifecycle.partition_props(part)['status'] == 'active'
    calls = [c for c in lifecycle.api_calls(controls, since)
             if not c[1].startswith('/api/jobs/')]
    source_uri = lifecycle.faked(instance).uri
    stop = calls.index(('POST', f'{source_uri}/operations/stop'))
    create = calls.index(
        ('POST', f'/api/cpcs/{hmc.CPC3_ID}/partitions'))
    start = calls.index(('POST', f'{part.uri}/operations/start'))
    # One request across the CPCs, the CPC's status and the partition's
    # marks read, the stop and its check, all before the create.
    assert calls[:stop + 2] == [
        ('GET', '/api/console/operations/list-permitted-partitions'),
        ('GET', CPC1_URI), ('GET', source_uri),
        ('POST', f'{source_uri}/operations/stop'), ('GET', source_uri)]
    assert stop < create < start
    # Its own WWPNs for Cinder; after the spawn only its own are kept.
    with hmc.server().sim.lock:
        wwpns = [h.properties['wwpn'] for h in part.hbas.list()]
    assert connector['wwpns'] == wwpns != source_wwpns
    assert storage.remembered_wwpns(instance, hmc.HOST) == []
    assert storage.remembered_cpc(instance, hmc.HOST) is None
    assert storage.remembered_cpc(instance, DEST) == hmc.CPC3_ID


@pytest.mark.parametrize('status', ['paused', 'degraded'])
def test_a_source_running_otherwise_is_stopped(dest, evacuated, status):
    set_source(evacuated, status=status)
    rebuild(dest, evacuated)
    assert source_status(evacuated) == 'stopped'


@pytest.mark.parametrize('status', ['stopped', 'terminated',
                                    'reservation-error'])
def test_a_source_that_runs_nothing_gets_no_stop(dest, evacuated, controls,
                                                 status):
    set_source(evacuated, status=status)
    since = controls.last_seq()
    rebuild(dest, evacuated)
    source_uri = lifecycle.faked(evacuated).uri
    assert not [c for c in lifecycle.api_calls(controls, since)
                if c[1].startswith(source_uri + '/')]
    assert source_status(evacuated) == status
    assert lifecycle.partition_props(
        dest_partition(evacuated))['status'] == 'active'


def test_a_source_partition_gone_is_fine(driver, dest, evacuated):
    driver.destroy(None, evacuated, None)
    rebuild(dest, evacuated)
    assert lifecycle.partition_props(
        dest_partition(evacuated))['status'] == 'active'


def test_a_cpc_without_power_runs_nothing(dest, evacuated, controls):
    hmc_controls().set_properties(CPC1_URI, status='no-power')
    since = controls.last_seq()
    rebuild(dest, evacuated)
    assert 'stop' not in lifecycle.operations(controls, since)
    assert dest_partition(evacuated) is not None


def refused(dest, instance):
    instance.task_state = task_states.REBUILD_BLOCK_DEVICE_MAPPING
    with pytest.raises(InstanceSetupError) as e:
        dest.get_volume_connector(instance)
    assert dest_partition(instance) is None
    assert dest.list_instance_uuids() == []
    return str(e.value)


@pytest.mark.parametrize('status', ['not-communicating', 'status-check'])
def test_a_cpc_the_hmc_does_not_reach_refuses(dest, evacuated, status):
    hmc_controls().set_properties(CPC1_URI, status=status)
    message = refused(dest, evacuated)
    name = naming.partition_name(hmc.HOST, evacuated.uuid)
    assert (f"partition {name} may still run the instance from its "
            f"volumes; its CPC {hmc.CPC_NAME} has status {status!r}: the "
            f"HMC cannot tell whether the partition runs") in message
    assert source_status(evacuated) == 'active'


def test_a_gone_partition_on_a_cpc_not_answering_refuses(
        driver, dest, evacuated):
    driver.destroy(None, evacuated, None)
    hmc_controls().set_properties(CPC1_URI, status='not-communicating')
    assert "has status 'not-communicating'" in refused(dest, evacuated)


@pytest.mark.parametrize('status', ['communications-not-active',
                                    'status-check'])
def test_a_partition_status_the_hmc_cannot_tell_refuses(
        dest, evacuated, status):
    set_source(evacuated, status=status)
    assert f"its status is {status!r}: the HMC cannot tell" in refused(
        dest, evacuated)
    assert source_status(evacuated) == status


def test_no_partition_and_no_cpc_recorded_refuses(driver, dest, evacuated):
    """An instance built before the CPC was recorded, whose partition the
    HMC does not list."""
    driver.destroy(None, evacuated, None)
    del evacuated.system_metadata[f'{storage.CPC_KEY}:{hmc.HOST}']
    assert 'its CPC was not recorded' in refused(dest, evacuated)


def test_a_partition_of_the_name_without_the_marks_is_not_touched(
        dest, evacuated):
    set_source(evacuated, description='PROD workload')
    assert f'does not carry the marks of host {hmc.HOST}' in refused(
        dest, evacuated)
    assert source_status(evacuated) == 'active'


def test_the_returning_source_removes_only_its_own(driver, dest, evacuated):
    """Nova's init_host on the source destroys the evacuated instance:
    the source's partition goes; the destination's and a decoy of the
    source's name on CPC3 without its marks stay as they were."""
    rebuild(dest, evacuated)
    decoy = hmc.add_partition(hmc.HOST, evacuated.uuid, 'x',
                              cpc_id=hmc.CPC3_ID,
                              description='PROD workload')
    kept = [lifecycle.partition_props(p)
            for p in (dest_partition(evacuated), decoy)]
    evacuated.task_state = None
    driver.destroy(None, evacuated, None)
    assert lifecycle.faked(evacuated) is None
    assert [lifecycle.partition_props(p)
            for p in (dest_partition(evacuated), decoy)] == kept
    with hmc.server().sim.lock:
        hmc.faked_cpc(cpc_id=hmc.CPC3_ID).partitions.remove(decoy.oid)


def test_the_source_back_during_the_evacuation_removes_its_own(
        driver, evacuated):
    """Nova destroys it also while the evacuation is still rebuilding
    elsewhere: not kept as for a rebuild on this host."""
    evacuated.task_state = task_states.REBUILDING
    driver.destroy(None, evacuated, None)
    assert lifecycle.faked(evacuated) is None
