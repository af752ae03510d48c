# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""An HMC that goes away in the middle of a spawn or a destroy: what the
driver could not remove is recorded under state_path and removed once the
HMC answers again, at the next resource audit or start; never a partition
of another workload or another host, nor one an instance of this host has.
"""

import json
import pathlib

from nova import conf as nova_conf
import pytest

from nova_ibmz.common.exception import BuildFailed
from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.hmc import naming
from tests import hmc
from tests import hmcsim
from tests.unit.test_dpm_driver import assert_nothing_left
from tests.unit.test_dpm_driver import faked
from tests.unit.test_dpm_driver import make_instance
from tests.unit.test_dpm_driver import spawn

OTHER_HOST = 'subset-2'


def leftovers_file(host=hmc.HOST):
    return (pathlib.Path(nova_conf.CONF.state_path) / 'nova-ibmz' /
            f'dpm-{host}-leftovers.json')


def recorded_leftovers(host=hmc.HOST):
    """{key: record} of what host's driver still has to remove."""
    path = leftovers_file(host)
    return json.loads(path.read_text())['leftovers'] if path.exists() else {}


@pytest.fixture
def controls():
    return hmcsim.Controls(hmc.server())


@pytest.fixture
def neighbours(controls):
    """A foreign partition and one of another compute host of the CPC,
    compared after the test."""
    hmc.reset()
    other = make_instance().uuid
    hmc.add_partition(OTHER_HOST, other, 'other-vm')
    foreign = hmc.foreign_partitions()
    yield
    assert hmc.foreign_partitions() == foreign
    assert hmc.find_partition(other, host=OTHER_HOST).properties[
        'status'] == 'active'


def new_driver(known=frozenset()):
    """A driver of hmc.HOST on the running simulator (not reset), whose
    Nova has the instances known on this host."""
    dpm = dpm_driver.DPMDriver(None, config=hmc.make_config(),
                               host_name=hmc.HOST,
                               known_instances=lambda host: set(known))
    dpm.init_host(hmc.HOST)
    return dpm


def outage_from(controls, method, path):
    """The HMC goes away at the first request matching method and path."""
    controls.fault(method=method, path=path, times=1, outage_s=600)


def end_outage(controls):
    controls.call('DELETE', '/faults')


def test_outage_in_spawn_leaves_the_partition_until_the_hmc_answers(
        controls, neighbours):
    dpm = new_driver()
    instance = make_instance()
    dpm.prepare_for_spawn(instance)
    outage_from(controls, 'POST', r'/nics$')
    with pytest.raises(BuildFailed) as e:
        dpm.spawn(None, instance, None, [], None, {},
                  network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                  block_device_info=hmc.boot_from_volume(instance))
    assert 'creating NIC OpenStack_Port_' in str(e.value)
    assert faked(instance) is not None
    name = naming.partition_name(hmc.HOST, instance.uuid)
    assert list(recorded_leftovers()) == [f'partition {name}']
    # Nova's resource audit while the HMC is still away: kept.
    with pytest.raises(HypervisorUnreachable):
        dpm.get_available_resource(hmc.HOST)
    assert faked(instance) is not None
    end_outage(controls)
    dpm.get_available_resource(hmc.HOST)
    assert_nothing_left(instance)
    assert recorded_leftovers() == {}


def test_outage_in_prepare_leaves_nothing_after_a_restart(controls,
                                                          neighbours):
    """The HMC goes away after the partition is created, before its HBA:
    a new nova-compute (the record is a file) removes it at start."""
    dpm = new_driver()
    instance = make_instance()
    outage_from(controls, 'POST', r'/hbas$')
    with pytest.raises(BuildFailed) as e:
        dpm.prepare_for_spawn(instance)
    assert 'creating HBA OpenStack_HBA_0' in str(e.value)
    assert faked(instance) is not None
    end_outage(controls)
    new_driver()
    assert_nothing_left(instance)
    assert recorded_leftovers() == {}


def test_outage_in_destroy_completes_the_delete_later(controls, neighbours):
    dpm = new_driver()
    instance = make_instance()
    spawn(dpm, instance)
    outage_from(controls, 'POST', r'/operations/stop$')
    dpm.destroy(None, instance, None)        # Nova's delete goes on
    assert faked(instance).properties['status'] == 'active'
    assert len(recorded_leftovers()) == 1
    end_outage(controls)
    dpm.get_available_resource(hmc.HOST)
    assert_nothing_left(instance)


def test_an_instance_back_on_this_host_settles_its_leftover(controls,
                                                            neighbours):
    """A shelved instance whose partition could not be removed comes back
    to this host: the audit leaves the partition alone while Nova has the
    instance here; its new build removes the old partition first."""
    instance = make_instance()
    dpm = new_driver(known={instance.uuid})
    spawn(dpm, instance)
    old_uri = faked(instance).uri
    outage_from(controls, 'POST', r'/operations/stop$')
    dpm.destroy(None, instance, None)
    end_outage(controls)
    dpm.get_available_resource(hmc.HOST)
    assert faked(instance).uri == old_uri
    assert len(recorded_leftovers()) == 1
    spawn(dpm, instance)
    assert faked(instance).uri != old_uri
    assert faked(instance).properties['status'] == 'active'
    assert recorded_leftovers() == {}
    dpm.destroy(None, instance, None)


def test_a_newer_partition_of_the_same_name_is_not_the_leftover(
        controls, neighbours):
    """The record names the partition's URI: a partition made under the
    same name since (by hand, say) is not removed."""
    dpm = new_driver()
    instance = make_instance()
    dpm.prepare_for_spawn(instance)
    outage_from(controls, 'POST', r'/nics$')
    with pytest.raises(BuildFailed):
        dpm.spawn(None, instance, None, [], None, {},
                  network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                  block_device_info=hmc.boot_from_volume(instance))
    end_outage(controls)
    with hmc.server().sim.lock:
        part = faked(instance)
        part.manager.remove(part.oid)
    newer = hmc.add_partition(hmc.HOST, instance.uuid, instance.name)
    dpm.get_available_resource(hmc.HOST)
    assert faked(instance).uri == newer.uri
    assert recorded_leftovers() == {}
    with hmc.server().sim.lock:
        newer.manager.remove(newer.oid)


def test_a_leftover_is_never_a_foreign_partition(controls, neighbours):
    """A partition of the recorded name without this host's description
    (another workload's) is not ours: it stays, the record goes."""
    dpm = new_driver()
    instance = make_instance()
    spawn(dpm, instance)
    outage_from(controls, 'POST', r'/operations/stop$')
    dpm.destroy(None, instance, None)
    end_outage(controls)
    controls.set_properties(faked(instance).uri,
                            description='production, hands off')
    dpm.get_available_resource(hmc.HOST)
    assert faked(instance).properties['status'] == 'active'
    assert recorded_leftovers() == {}
    with hmc.server().sim.lock:
        part = faked(instance)
        part.manager.remove(part.oid)


def test_an_unreadable_leftovers_file_stops_the_host(controls):
    path = leftovers_file()
    path.parent.mkdir(parents=True)
    path.write_text('{"leftovers": ')
    with pytest.raises(ConfigurationError) as e:
        new_driver().get_available_resource(hmc.HOST)
    assert str(e.value).startswith(f'[DEFAULT] state_path: {path} ')
