# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The agent loop of the IBM Z Neutron agents (DPM and z/VM).

Neutron's own CommonAgentLoop (a private module) reads the global
``cfg.CONF.host``, so agents of several hosts cannot share one process,
as they do in the sandbox's and the tests' neutron-server.  This loop
takes its host as an argument and runs on two native threads: one
reports the agent's state, one polls the hypervisor for devices.

    loop = AgentLoop(manager, host, polling_interval=2, report_interval=30)
    loop.start()    # returns at once; stop() returns once both stopped

The manager is the hypervisor's side, with this interface:

``agent_type``
    str: the agent type ML2's mechanism driver looks for (``DPM agent``,
    ``z/VM agent``).
``binary``
    str: the agent's program name (``neutron-ibmz-dpm-agent``).
``configurations()``
    dict (JSON): what the agent reports in its state, e.g. its mappings.
    The loop adds ``devices``: how many devices it reported up.  Called
    from the report thread.
``devices()``
    set of str: the devices that exist now, each what ML2's RPC resolves
    to a port: a MAC (``fa:16:3e:..``, lower case) or a port id.  Raises
    on a hypervisor error: the loop then keeps what it knew (a failure is
    never read as "no devices") and asks again next interval.
``plug(device, details)``
    bool: accept a device whose port ML2 bound to this host.  details is
    ML2's entry for it (``port_id``, ``mac_address``, ``network_type``,
    ``physical_network``, ``segmentation_id``, ``admin_state_up``, ...).
    True: the port is up (the z/VM agent grants and couples here; the DPM
    agent only checks the NIC's virtual switch).  False or an exception:
    not up yet; the loop asks again next interval.  Not called for a port
    that is administratively down.
``unplug(device)``
    the device is gone: forget it.  Nothing on the hypervisor changes.
``replaced()``
    set of str: the devices of the last ``devices()`` that are other
    hypervisor objects than at the look before (a NIC deleted and made
    again for the same port between two looks, as a DPM rebuild does).
    The loop takes such a device that was up as new: its port goes
    through BUILD to ACTIVE again, and Neutron sends Nova the
    network-vif-plugged a driver waits for.

``devices``, ``plug``, ``unplug`` and ``replaced`` are called from the
polling thread only, one at a time.

What the loop tells Neutron, through its own RPC clients
(``neutron.agent.rpc``: PluginReportStateAPI and PluginApi, on the
transport ``neutron_lib.rpc`` was initialised with):

- every report interval, its state (agent type, binary, host,
  configurations; ``start_flag`` until the first report got through);
  a server that answers "revived" (it had taken the agent for dead) gets
  everything again at the next poll;
- every polling interval, what changed: the details of new devices and of
  those not up yet (one get_devices_details_list), then new ones up and
  vanished ones down (one update_device_list, with this loop's host);
  nothing when nothing changed.  A device not up is asked for again after
  1, 2, 4, ... up to MAX_BACKOFF polling intervals: a NIC whose port
  Neutron does not know (a leftover) costs the server little.  A failed
  RPC call is logged and everything is sent again (a resync) at the next
  interval.

Ports ML2 resolves for a device turn BUILD when asked for, ACTIVE when
reported up, DOWN when reported down; a resync (and so an agent restart)
takes a port that is up through BUILD back to ACTIVE, as every Neutron L2
agent does.  Changes of a port's admin state are seen only at a resync:
the loop does not listen for port updates.
"""

import threading
import time

from neutron.agent import rpc as agent_rpc
from neutron.conf.agent import common as agent_conf
from neutron_lib.agent import constants as agent_consts
from neutron_lib.agent import topics
from neutron_lib import constants
from neutron_lib import context as n_context
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
# A thread stopping waits this long for a call in flight (an RPC call or a
# hypervisor request has its own timeout).
JOIN_SECONDS = 30
# The most polling intervals between two questions about a device not up.
MAX_BACKOFF = 32


class AgentLoop:
    """Reports the manager's state and devices for host (see the module).

    state_rpc, plugin_rpc and context default to Neutron's agent RPC
    clients and an admin context; tests pass their own.
    """

    def __init__(self, manager, host, polling_interval, report_interval,
                 state_rpc=None, plugin_rpc=None, context=None):
        self.manager = manager
        self.host = host
        self.polling_interval = polling_interval
        self.report_interval = report_interval
        if state_rpc is None:
            # PluginReportStateAPI reads [AGENT] report_interval when it is
            # made (a neutron-server registers no agent options) and takes
            # it as the report's RPC timeout: a report should not outlast
            # this loop's interval.
            agent_conf.register_agent_state_opts_helper(cfg.CONF)
            state_rpc = agent_rpc.PluginReportStateAPI(topics.REPORTS)
            state_rpc.timeout = report_interval
        self._state_rpc = state_rpc
        self._plugin_rpc = plugin_rpc or agent_rpc.PluginApi(topics.PLUGIN)
        self._context = (context or
                         n_context.get_admin_context_without_session())
        self.agent_id = f'{manager.binary}-{host}'
        self._up = set()        # reported up
        self._waiting = set()   # present, not up yet
        self._gone = set()      # vanished, not reported down yet
        self._polls = 0
        # device waiting -> (why not up, the poll that asks again, backoff)
        self._later = {}
        self._started = False   # a report got through
        self._resync = threading.Event()
        self._stop = threading.Event()
        self._threads = []

    # -- threads ---------------------------------------------------------

    def start(self):
        """Start reporting and polling; returns at once."""
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._every, daemon=True,
                             args=(self.report_interval, self.report),
                             name=f'{self.agent_id}-report'),
            threading.Thread(target=self._every, daemon=True,
                             args=(self.polling_interval, self.poll),
                             name=f'{self.agent_id}-poll')]
        for thread in self._threads:
            thread.start()
        LOG.info('%s: reporting every %s s, polling every %s s',
                 self.agent_id, self.report_interval, self.polling_interval)

    def stop(self):
        """Stop both threads; returns once they stopped (or after
        JOIN_SECONDS each, with a warning, if a call hangs)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(JOIN_SECONDS)
            if thread.is_alive():
                LOG.warning('%s: %s did not stop within %d s',
                            self.agent_id, thread.name, JOIN_SECONDS)
        self._threads = []

    def _every(self, interval, work):
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                work()
            except Exception:
                # Neither a bug nor a surprise from a library may end the
                # thread: the agent would look alive and do nothing.
                LOG.exception('%s: %s failed', self.agent_id, work.__name__)
            self._stop.wait(max(0.0, interval - (time.monotonic() - began)))

    # -- state reports ---------------------------------------------------

    @property
    def devices_up(self):
        """The devices reported up (a copy)."""
        return set(self._up)

    def state(self):
        """The agent state report_state sends."""
        configurations = dict(self.manager.configurations(),
                              devices=len(self._up))
        return {'agent_type': self.manager.agent_type,
                'binary': self.manager.binary, 'host': self.host,
                'topic': 'N/A', 'configurations': configurations,
                'start_flag': not self._started}

    def report(self):
        """Report the agent's state once (one RPC call); False if it did
        not get through."""
        try:
            status = self._state_rpc.report_state(self._context, self.state(),
                                                  use_call=True)
        except Exception as error:
            LOG.warning('%s: the state report failed (%s); trying again '
                        'in %s s', self.agent_id, error, self.report_interval)
            return False
        self._started = True
        if status == agent_consts.AGENT_REVIVED:
            LOG.info('%s: the server had taken the agent for dead: sending '
                     'every device again', self.agent_id)
            self._resync.set()
        return True

    # -- devices ---------------------------------------------------------

    def poll(self):
        """One polling interval: the manager's devices (its cost), then at
        most two RPC calls if anything changed.  False if the hypervisor
        or an RPC call failed (all is tried again next time)."""
        try:
            current = set(self.manager.devices())
        except Exception as error:
            LOG.warning('%s: cannot list devices (%s); trying again in %s s',
                        self.agent_id, error, self.polling_interval)
            return False
        self._polls += 1
        resync = self._resync.is_set()
        self._resync.clear()
        if resync:
            self._waiting |= self._up
            self._up.clear()
            self._later.clear()
        vanished = (self._up | self._waiting) - current
        for device in sorted(vanished):
            self._forget(device)
        # A device back before its down was reported is new again.
        self._gone = (self._gone | vanished) - current
        for device in sorted(set(self.manager.replaced()) & self._up):
            LOG.info('%s: device %s was made again: reporting it again',
                     self.agent_id, device)
            self._up.discard(device)
        self._waiting |= current - self._up
        try:
            self._sync()
        except Exception as error:
            LOG.warning('%s: the plugin RPC failed (%s); sending everything '
                        'again in %s s', self.agent_id, error,
                        self.polling_interval)
            self._resync.set()
            return False
        return True

    def _sync(self):
        asked = sorted(d for d in self._waiting
                       if d not in self._later or
                       self._later[d][1] <= self._polls)
        details = (self._plugin_rpc.get_devices_details_list(
            self._context, asked, self.agent_id, host=self.host)
            if asked else [])
        up = self._accept(details, set(asked))
        gone = sorted(self._gone)
        if not up and not gone:
            return
        result = self._plugin_rpc.update_device_list(
            self._context, up, gone, self.agent_id, self.host)
        failed_up = set(result.get('failed_devices_up', ()))
        for device in up:
            if device not in failed_up:
                self._up.add(device)
                self._waiting.discard(device)
                self._later.pop(device, None)
                LOG.info('%s: device %s is up', self.agent_id, device)
            else:
                self._note(device, 'the server failed to set its port up')
        self._gone = set(result.get('failed_devices_down', ())) & self._gone
        for device in set(gone) - self._gone:
            LOG.info('%s: device %s is down (gone)', self.agent_id, device)

    def _accept(self, details, asked):
        """The devices among details that the manager takes as up."""
        up = []
        for entry in details:
            device = entry.get('device')
            if device not in asked:
                continue
            if 'port_id' not in entry:
                self._note(device, 'its port is bound to another host'
                           if constants.NO_ACTIVE_BINDING in entry else
                           'Neutron has no port of it bound to this host')
            elif not entry.get('admin_state_up', True):
                self._note(device, 'its port is administratively down')
            elif self._plug(device, entry):
                up.append(device)
            else:
                self._note(device, f'port {entry["port_id"]} was not '
                           'plugged (see above)')
        return up

    def _plug(self, device, entry):
        try:
            return bool(self.manager.plug(device, entry))
        except Exception:
            LOG.exception('%s: plugging device %s (port %s) failed',
                          self.agent_id, device, entry.get('port_id'))
            return False

    def _forget(self, device):
        self._up.discard(device)
        self._waiting.discard(device)
        self._later.pop(device, None)
        try:
            self.manager.unplug(device)
        except Exception:
            LOG.exception('%s: unplugging device %s failed', self.agent_id,
                          device)

    def _note(self, device, reason):
        """A device is not up: log why, once per reason, and ask again
        later (the wait doubling up to MAX_BACKOFF polls)."""
        before, _, backoff = self._later.get(device, (None, 0, 0))
        backoff = min(backoff * 2 or 1, MAX_BACKOFF)
        self._later[device] = (reason, self._polls + backoff, backoff)
        if before != reason:
            LOG.info('%s: device %s is not up: %s', self.agent_id, device,
                     reason)
