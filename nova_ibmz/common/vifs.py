# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Waiting for Neutron to report a new instance's ports plugged.

Both drivers make the instance's NICs, then wait, as nova's libvirt driver
does, for the network-vif-plugged event of every port Neutron reports down:
the network agent of the host (the DPM agent, the z/VM agent) reports a
port up once it sees its NIC.  [DEFAULT] vif_plugging_timeout bounds the
wait (0: no wait), and vif_plugging_is_fatal says whether a port that does
not come up fails the build.  The build then ends with a message naming
the ports (Nova's own VirtualInterfaceCreateException would say only
"Failed to allocate the network(s)").
"""

import contextlib

from nova.compute import task_states
from nova import exception
from oslo_log import log as logging

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz import conf

LOG = logging.getLogger(__name__)
CONF = conf.CONF


def events(instance, network_info):
    """The network-vif-plugged events to wait for: ports Neutron reports
    down (nova's libvirt driver takes a port without 'active', a stale
    cache, as up).  None on a rebuild on the same host: Nova hands the
    driver its cache then, which may still hold a port as down that the
    agent has reported up since (Nova refreshes it only now and then), and
    the ports stay bound here; an evacuation, which binds them here, has
    a migration context and a fresh network_info.  Cost: none."""
    down = [('network-vif-plugged', vif['id']) for vif in network_info or []
            if vif.get('active', True) is False]
    if (down and instance.task_state == task_states.REBUILD_SPAWNING and
            instance.migration_context is None):
        return []
    return down


def _failed(event_name, instance):
    LOG.error('Neutron reported a failure on %s', event_name,
              instance=instance)
    if CONF.vif_plugging_is_fatal:
        raise InstanceSetupError(
            instance.uuid, f'Neutron reported {event_name} failed')


def _host(instance):
    return instance.host if instance.obj_attr_is_set('host') else None


def bound(instance, network_info):
    """Wait for Nova's allocation of the instance's ports (it runs while
    the driver builds), and end the build on a port Neutron could not
    bind to this host, naming it (Nova keeps 255 characters of a fault):
    Nova's own error would be rescheduled and end as "Exceeded maximum
    number of retries".  Cost: no request; the build waits here for
    the allocation, which it would otherwise wait for at its first NIC.
    """
    try:
        len(network_info or ())
    except exception.PortBindingFailed as e:
        raise InstanceSetupError(
            instance.uuid, f'Neutron could not bind port '
            f'{e.kwargs["port_id"]} to host {_host(instance)} '
            f"(binding_failed): is its physnet in the agent's mappings?"
        ) from e


@contextlib.contextmanager
def plugged(virtapi, instance, network_info):
    """Run the block (which makes the NICs), then wait for the events."""
    timeout = CONF.vif_plugging_timeout
    waited = events(instance, network_info) if timeout else []
    if not waited:
        yield
        return
    try:
        with virtapi.wait_for_instance_event(instance, waited,
                                             timeout=timeout,
                                             error_callback=_failed):
            yield
    except exception.InstanceEventTimeout:
        # Nova keeps 255 characters of a fault: the host first.
        message = (f'the network agent of host {_host(instance)} reported '
                   f'no port up within {timeout} s ([DEFAULT] '
                   f'vif_plugging_timeout): '
                   f'{", ".join(port for _, port in waited)}')
        LOG.warning(message, instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise InstanceSetupError(instance.uuid, message)
