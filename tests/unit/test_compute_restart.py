# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A compute service of ours starts again (issue 18, item 5).

Nova 34 refuses a second start without a node identity file in
state_path, which our drivers write at init_host
(common.leftovers.ensure_identity), with the uuid they report:
tests/scaleout/test_restarts.py found restarted nova-compute processes
exiting with "No local node identity found".  What nova-compute calls at
a restart reaches our drivers with the arguments it passes, in its order
(resume_state_on_host_boot took share_info for block_device_info and
failed on the fifth).  The delete of an instance whose spawn was killed
removes the z/VM config drive the spawn left.
"""

import inspect
from unittest import mock

from nova.compute import manager
from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova.virt import driver as nova_driver
from nova.virt import node as nova_node
import nova.conf
from oslo_config import cfg
import pytest

from nova_ibmz.common import leftovers
from nova_ibmz.dpm.driver import DPMDriver
from nova_ibmz.zvm.driver import ZVMDriver
from tests import connector
from tests import hmc

CONF = nova.conf.CONF


@pytest.fixture(autouse=True)
def command_line():
    """A configuration read from a command line without files, as
    nova-compute's (Nova looks for its file next to each one)."""
    with mock.patch.object(CONF, 'config_file', [], create=True):
        yield


@pytest.fixture
def zvm_names():
    CONF.set_override('instance_name_template', 'os%06x')
    yield
    CONF.clear_override('instance_name_template')


def dpm_driver():
    return hmc.driver(None, config=hmc.make_config(),
                      known_instances=hmc.no_instances)


def zvm_driver():
    return connector.driver(None)


def nova_accepts_a_restart():
    """What nova-compute checks right after init_host, for a service the
    database knows already (its second start on): raises
    InvalidConfiguration, or not."""
    service = mock.Mock(version=service_obj.NODE_IDENTITY_VERSION)
    CONF.set_override('compute_driver', 'ibmz.DPMDriver')
    try:
        manager.ComputeManager._ensure_existing_node_identity(
            mock.Mock(), service)
    finally:
        CONF.clear_override('compute_driver')


@pytest.mark.parametrize('make', [dpm_driver, zvm_driver])
def test_init_host_writes_the_node_identity(make, state_path, zvm_names):
    with pytest.raises(exception.InvalidConfiguration):
        nova_accepts_a_restart()        # what a restart got before
    driver = make()
    driver.init_host('compute-1')
    node_uuid, = driver.get_nodenames_by_uuid()
    assert (state_path / 'compute_id').read_text() == node_uuid
    assert nova_node.read_local_node_uuid() == node_uuid
    nova_accepts_a_restart()
    # The next start finds it and keeps it.
    make().init_host('compute-1')
    assert (state_path / 'compute_id').read_text() == node_uuid


def test_an_identity_file_there_is_kept(state_path):
    state_path.mkdir(parents=True)
    (state_path / 'compute_id').write_text(
        '7b4e1a36-5c0f-4e7a-9d43-0a2b1c3d4e5f\n')
    leftovers.ensure_identity('11111111-2222-3333-4444-555555555555')
    assert nova_node.read_local_node_uuid() == (
        '7b4e1a36-5c0f-4e7a-9d43-0a2b1c3d4e5f')


def test_a_file_written_meanwhile_is_fine(state_path):
    """Several computes of one process (the embedded sandbox) share a
    state_path: the first one's file stands."""
    written = []

    def write(node_uuid):
        if not written:
            state_path.mkdir(parents=True, exist_ok=True)
            (state_path / 'compute_id').write_text(node_uuid)
            written.append(node_uuid)
        raise exception.InvalidNodeConfiguration(reason='appeared')
    with mock.patch.object(nova_node, 'read_local_node_uuid',
                           side_effect=[None, 'the-other']), \
            mock.patch.object(nova_node, 'write_local_node_uuid',
                              side_effect=write):
        leftovers.ensure_identity('mine')


def test_nothing_without_a_command_line(state_path):
    with mock.patch.object(nova_node, 'read_local_node_uuid',
                           side_effect=cfg.NoSuchOptError(
                               'config_file')):
        leftovers.ensure_identity('11111111-2222-3333-4444-555555555555')
    assert not state_path.exists()


@pytest.mark.parametrize('cls', [DPMDriver, ZVMDriver])
def test_every_driver_call_takes_novas_arguments(cls):
    """Nova's compute manager passes most arguments by position: each
    method of the base driver that ours override takes the base's
    parameters, in its order."""
    differ = {}
    for name, method in vars(cls).items():
        base = getattr(nova_driver.ComputeDriver, name, None)
        if name.startswith('_') or not callable(base):
            continue
        ours = list(inspect.signature(method).parameters)
        novas = list(inspect.signature(base).parameters)
        if ours != novas:
            differ[name] = (ours, novas)
    assert differ == {}


@pytest.mark.parametrize('make', [dpm_driver, zvm_driver])
def test_resume_state_on_host_boot_as_nova_calls_it(make, zvm_names):
    """nova-compute's _resume_guests_state, at a restart with [DEFAULT]
    resume_guests_state_on_host_boot: five arguments."""
    driver = make()
    instance = mock.Mock(uuid='4b5e3a4c-8f26-4d4e-9c1a-3b2f1e0d9c8b')
    with mock.patch.object(type(driver), 'power_on') as power_on, \
            mock.patch('nova_ibmz.dpm.partition.start') as start, \
            mock.patch.object(type(driver), '_owned',
                              return_value=('part', 'stopped'),
                              create=True):
        driver.resume_state_on_host_boot('ctx', instance, 'nw', 'shares',
                                         'bdi')
    assert power_on.called or start.called


def test_destroy_removes_the_config_drive_of_a_killed_spawn(sim, zvm_names):
    """nova-compute killed while the connector deployed the image: the
    config drive stays in image_tmp_path, and the instance goes to ERROR
    at the restart.  Its delete removes the drive with the guest; the
    drive of another instance (a spawn under way) stays."""
    driver = zvm_driver()
    instance = objects.Instance(
        id=1, uuid='4b5e3a4c-8f26-4d4e-9c1a-3b2f1e0d9c8b', host=None,
        task_state=None, vm_state='error',
        system_metadata={'image_os_distro': 'rhel8.6'},
        flavor=objects.Flavor(vcpus=1, memory_mb=1024))
    driver._builds._define(instance, 'OS000001', [
        {'size': '1g', 'is_boot_disk': True, 'disk_pool': 'ECKD:POOL1'}])
    connector.COMPUTE_TMP.mkdir(parents=True, exist_ok=True)
    drive = connector.COMPUTE_TMP / f'{instance.uuid}.iso'
    other = connector.COMPUTE_TMP / 'e2a4f0c6-1b3d-4e5f-8a7b-9c0d1e2f3a4b.iso'
    drive.write_bytes(b'config drive')
    other.write_bytes(b'config drive')
    try:
        driver.destroy(None, instance, [])
        assert not drive.exists()
        assert other.exists()
        assert 'OS000001' not in sim.model.guests
    finally:
        other.unlink(missing_ok=True)
