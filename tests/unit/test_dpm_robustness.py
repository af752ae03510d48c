# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""DPM driver edge cases a review found: kept partitions, transitions,
vanished partitions, strict ownership marks, long host names."""

import threading
import uuid

from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from oslo_utils import uuidutils
import pytest

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.hmc import naming
from tests import hmc
from tests import hmcsim
from tests.unit.test_dpm_driver import faked
from tests.unit.test_dpm_leftovers import recorded_leftovers
from tests.unit.test_dpm_driver import make_instance
from tests.unit.test_dpm_driver import spawn


@pytest.fixture
def driver():
    return hmc.driver(None, known_instances=hmc.no_instances)


@pytest.fixture
def controls(driver):
    return hmcsim.Controls(hmc.server())


def test_resize_revert_keeps_the_partition(driver):
    """Nova destroys before finish_revert_migration on the same host."""
    instance = make_instance()
    spawn(driver, instance)
    instance.task_state = task_states.RESIZE_REVERTING
    driver.destroy(None, instance, None)
    assert faked(instance).properties['status'] == 'stopped'
    driver.finish_revert_migration(None, instance, None, objects.Migration(
        source_compute=hmc.HOST, dest_compute=hmc.HOST))
    assert faked(instance).properties['status'] == 'active'


def test_rebuild_of_a_vanished_partition_says_so(driver, controls):
    instance = make_instance()
    spawn(driver, instance)
    controls.set_properties(faked(instance).uri, status='stopped')
    with hmc.server().sim.lock:
        part = faked(instance)
        part.manager.remove(part.oid)
    instance.task_state = task_states.REBUILDING
    driver.destroy(None, instance, None)        # gone: nothing to stop
    instance.task_state = task_states.REBUILD_SPAWNING
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                     block_device_info=hmc.boot_from_volume(instance))
    assert 'partition is gone' in str(e.value)


def test_destroy_waits_for_a_partition_still_starting(driver, controls):
    """A start job that timed out leaves the partition starting; destroy
    waits until it is no longer, then stops and deletes it."""
    instance = make_instance()
    spawn(driver, instance)
    uri = faked(instance).uri
    controls.set_properties(uri, status='starting')
    threading.Timer(0.3, controls.set_properties, (uri,),
                    {'status': 'active'}).start()
    driver.destroy(None, instance, None)
    assert faked(instance) is None


def test_destroy_leaves_a_partition_stuck_starting_for_later(controls):
    """The partition stays starting past job_timeout: Nova's delete ends,
    and the partition is removed at the first resource audit after it
    has left 'starting'."""
    dpm = hmc.driver(None, config=hmc.make_config(job_timeout=1),
                     known_instances=hmc.no_instances)
    instance = make_instance()
    spawn(dpm, instance)
    uri = faked(instance).uri
    controls.set_properties(uri, status='starting')
    dpm.destroy(None, instance, None)
    assert faked(instance) is not None
    [record] = recorded_leftovers().values()
    assert 'still starting' in record['error']
    dpm.get_available_resource(hmc.HOST)     # still starting: kept
    assert faked(instance) is not None
    controls.set_properties(uri, status='active')
    dpm.get_available_resource(hmc.HOST)
    assert faked(instance) is None
    assert recorded_leftovers() == {}


def test_destroy_of_a_partition_deleted_meanwhile(driver, controls):
    """Deleted between the ownership check and the delete: gone, fine."""
    instance = make_instance()
    spawn(driver, instance)
    driver.power_off(instance)
    controls.fault(method='DELETE', path=r'^/api/partitions/[^/]+$',
                   status=404, reason=1, message='gone', times=1)
    driver.destroy(None, instance, None)


def test_an_orphan_that_cannot_go_does_not_stop_the_host(controls):
    orphan = str(uuid.uuid4())
    hmc.reset()
    hmc.add_partition(hmc.HOST, orphan, 'instance-orphan', status='stopped')
    controls.fault(method='DELETE', path=r'^/api/partitions/', status=409,
                   reason=1, message='busy')
    dpm = dpm_driver.DPMDriver(
        None, config=hmc.make_config(orphan_action='remove'),
        host_name=hmc.HOST, known_instances=hmc.no_instances)
    dpm.init_host(hmc.HOST)        # logs, does not raise
    assert dpm.list_instance_uuids() == [orphan]


@pytest.mark.parametrize('name, description, owned', [
    ('OpenStack-subset-1-{uuid}', 'OpenStack CPCSubset=subset-1', True),
    ('OpenStack-subset-1-{uuid}', 'OpenStack CPCSubset=subset-1 x', True),
    ('OpenStack-subset-1-{uuid}', 'OpenStack Foo CPCSubset=subset-1',
     False),
    ('OpenStack-subset-1-{uuid}', 'OpenStack CPCSubset=subset-1x', False),
    ('OpenStack-subset-1-{uuid}', 'OpenStack CPCSubset=subset-1\tx',
     False),
    ('OpenStack-subset-1-not-a-uuid', 'OpenStack CPCSubset=subset-1', False),
    ('OpenStack-subset-1-{uuid}-x', 'OpenStack CPCSubset=subset-1', False),
])
def test_ownership_marks_are_exact(name, description, owned):
    props = {'name': name.format(uuid=uuidutils.generate_uuid()),
             'description': description}
    assert naming.is_owned(props, 'subset-1') is owned


def test_host_names_too_long_for_the_hmc():
    """Partition names are at most 64 characters: 47 go to the prefix and
    the uuid, so the host may have 17."""
    ok = dpm_driver.DPMDriver(None, config=hmc.make_config(),
                              host_name='h' * 17,
                              known_instances=hmc.no_instances)
    ok.init_host('h' * 17)
    long = dpm_driver.DPMDriver(None, config=hmc.make_config(),
                                host_name='compute-1.example.org',
                                known_instances=hmc.no_instances)
    with pytest.raises(ConfigurationError) as e:
        long.init_host('compute-1.example.org')
    assert str(e.value).startswith('[DEFAULT] host: ')
    assert 'at most 17 characters' in str(e.value)


def test_power_off_of_a_missing_partition_is_a_no_op(driver, controls):
    seq = controls.last_seq()
    driver.power_off(make_instance())
    assert not [r for r in controls.requests(seq) if r['method'] != 'GET'
                and r['path'] != '/api/sessions']


def test_power_on_of_a_missing_partition_is_not_found(driver):
    with pytest.raises(exception.InstanceNotFound):
        driver.power_on(None, make_instance(), None)


def test_partitions_of_the_retired_nova_dpm(driver):
    """nova-dpm described partitions as 'OpenStack CPCSubset=<host>' only:
    they are ours, listed by uuid, and have no instance name to list."""
    uuid_ = uuidutils.generate_uuid()
    hmc.add_partition(hmc.HOST, uuid_, 'x',
                      description=f'OpenStack CPCSubset={hmc.HOST}')
    assert driver.list_instance_uuids() == [uuid_]
    assert driver.list_instances() == []
    assert driver.get_num_instances() == 1


def test_unshelve_connector_makes_the_partition(driver):
    """Unshelving asks for the connector before spawn, without
    prepare_for_spawn: the connector makes the partition and its HBAs."""
    instance = make_instance()
    instance.vm_state = vm_states.SHELVED_OFFLOADED
    instance.task_state = task_states.SPAWNING
    connector = driver.get_volume_connector(instance)
    part = faked(instance)
    assert part.properties['status'] == 'stopped'
    assert connector['wwpns'] == [h.properties['wwpn']
                                  for h in part.hbas.list()]
    assert driver.get_volume_connector(instance) == connector   # once
    driver.spawn(None, instance, None, [], None, {},
                 network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                 block_device_info=hmc.boot_from_volume(instance))
    assert faked(instance).properties['status'] == 'active'
