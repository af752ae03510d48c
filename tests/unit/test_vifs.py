# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Both drivers wait for network-vif-plugged of the ports Neutron reports
down, within [DEFAULT] vif_plugging_timeout (common.vifs)."""

import contextlib

from nova.compute import task_states
from nova import conf as nova_conf
from nova import exception as nova_exception
from nova.network import model as net_model
from nova import objects
from oslo_utils import uuidutils
import pytest

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common import vifs

objects.register_all()
CONF = nova_conf.CONF


class RecordingVirtAPI:
    """Nova's virtapi, recording the events the driver waits for; the wait
    ends with `outcome` (None: all events came; a str: the name of an
    event Neutron reports failed)."""

    def __init__(self, outcome=None):
        self.outcome = outcome
        self.waits = []

    @contextlib.contextmanager
    def wait_for_instance_event(self, instance, event_names, timeout=300,
                                error_callback=None):
        self.waits.append((event_names, timeout))
        yield
        if isinstance(self.outcome, str):
            error_callback(self.outcome, instance)
        elif self.outcome:
            raise self.outcome


def ports(*active):
    return net_model.NetworkInfo([
        net_model.VIF(id=f'port-{n}', address=f'02:00:00:00:00:0{n}',
                      active=state) for n, state in enumerate(active)])


@pytest.fixture
def options():
    yield lambda **kw: [CONF.set_override(k, v) for k, v in kw.items()]
    CONF.clear_override('vif_plugging_timeout')
    CONF.clear_override('vif_plugging_is_fatal')


def instance(task_state=None, migration_context=None):
    return objects.Instance(uuid=uuidutils.generate_uuid(), host='zvm-1',
                            task_state=task_state,
                            migration_context=migration_context)


def test_only_the_ports_neutron_reports_down_are_waited_for():
    info = ports(False, True)
    assert vifs.events(instance(), info) == [('network-vif-plugged',
                                              'port-0')]
    # A cache entry without 'active' is taken as up, as nova's libvirt
    # driver takes it: waiting for it could hang the build.
    assert vifs.events(instance(), [{'id': 'port-9'}]) == []


def test_a_rebuild_on_the_same_host_waits_for_no_port():
    """Its network_info is Nova's cache, and its ports stay bound here;
    an evacuation (a migration context) binds them here and waits."""
    info = ports(False, True)
    assert vifs.events(instance(task_states.REBUILD_SPAWNING), info) == []
    evacuated = instance(task_states.REBUILD_SPAWNING,
                         objects.MigrationContext(migration_id=1))
    assert vifs.events(evacuated, info) == [('network-vif-plugged',
                                             'port-0')]


@pytest.mark.parametrize('timeout, fatal, outcome, raised', [
    (300, True, None, None),
    (300, True, nova_exception.InstanceEventTimeout(), InstanceSetupError),
    (300, False, nova_exception.InstanceEventTimeout(), None),
    (300, True, 'network-vif-plugged-port-0', InstanceSetupError),
    (300, False, 'network-vif-plugged-port-0', None),
    (0, True, None, None),      # vif_plugging_timeout 0: no wait
])
def test_the_wait_and_its_end(options, timeout, fatal, outcome, raised):
    """Port 0 is down, port 1 up: only port 0 is waited for."""
    options(vif_plugging_timeout=timeout, vif_plugging_is_fatal=fatal)
    virtapi = RecordingVirtAPI(outcome)
    plugged = vifs.plugged(virtapi, instance(), ports(False, True))
    if raised:
        with pytest.raises(raised) as e:
            with plugged:
                pass
        assert 'port-0' in str(e.value)
    else:
        with plugged:
            pass
    # vif_plugging_timeout 0, or no port down: Nova is not asked at all.
    assert virtapi.waits == (
        [([('network-vif-plugged', 'port-0')], timeout)] if timeout else [])


def test_a_timeout_names_the_ports_and_the_host(options):
    options(vif_plugging_timeout=300, vif_plugging_is_fatal=True)
    virtapi = RecordingVirtAPI(nova_exception.InstanceEventTimeout())
    with pytest.raises(InstanceSetupError) as e:
        with vifs.plugged(virtapi, instance(), ports(False, False)):
            pass
    assert str(e.value).endswith(
        ': the network agent of host zvm-1 reported no port up within 300 s '
        '([DEFAULT] vif_plugging_timeout): port-0, port-1')


def test_a_port_neutron_could_not_bind_is_named(options):
    def allocate():     # as Nova's allocation of a port ML2 cannot bind
        raise nova_exception.PortBindingFailed(port_id='port-7')
    info = net_model.NetworkInfoAsyncWrapper(allocate)
    with pytest.raises(InstanceSetupError) as e:
        vifs.bound(instance(), info)
    assert str(e.value).endswith(
        ': Neutron could not bind port port-7 to host zvm-1 '
        "(binding_failed): is its physnet in the agent's mappings?")


def test_no_port_down_no_wait(options):
    options(vif_plugging_timeout=300, vif_plugging_is_fatal=True)
    with vifs.plugged(None, instance(), ports(True, True)):
        pass
