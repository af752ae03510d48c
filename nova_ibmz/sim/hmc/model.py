# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The simulated HMC's state: zhmcclient.mock's faked HMC plus what it lacks.

The faked HMC (resources and their properties) comes from zhmcclient.mock.
Beside it this holds logon sessions, asynchronous jobs, the OS messages and
events of partitions, and the allocators that keep MAC addresses, WWPNs
and device numbers unique.  Every request runs under ``lock`` because the
server answers each one on its own thread and the faked HMC has no locking.

Jobs complete lazily: every request first calls advance(), which applies
the jobs whose time has come.  Nothing but a request can observe the
state, so this is exact, and no timer thread races the requests.
"""

import collections
import logging
import pathlib
import random
import threading
import time

from zhmcclient.mock import FakedSession

from nova_ibmz.sim import statefile
from nova_ibmz.sim.hmc import faults as sim_faults
from nova_ibmz.sim.hmc import jobs
from nova_ibmz.sim.hmc import partitions
from nova_ibmz.sim.hmc import persist

LOG = logging.getLogger(__name__)
TOPOLOGIES = pathlib.Path(__file__).parent / 'topologies'

# Auto-assigned device numbers start where zhmcclient.mock starts them.
FIRST_AUTO_DEVNO = 0x8000
# IBM's NPIV WWPNs begin with the IEEE company id of IBM, 0x005076, as
# c05076...; the simulator draws the remaining digits at random.
WWPN_PREFIX = 'c05076'


def topology_path(name_or_path):
    """A shipped topology by name ('default'), or a file path."""
    shipped = TOPOLOGIES / f'{name_or_path}.yaml'
    return shipped if shipped.exists() else pathlib.Path(name_or_path)


class Simulator:
    """The state of one simulated HMC."""

    def __init__(self, topology, job_seconds=None, state_file=None):
        self.lock = threading.RLock()
        self.topology = pathlib.Path(topology)
        self.job_seconds = job_seconds or dict(jobs.DEFAULT_SECONDS)
        self.state_file = state_file and pathlib.Path(state_file)
        self.faults = sim_faults.Faults()
        with self.lock:
            if self.state_file and self.state_file.exists():
                self._load(statefile.read_state(self.state_file))
            else:
                self.reset()

    # -- loading, saving -----------------------------------------------

    def reset(self):
        """Back to the topology: no sessions, jobs, messages or faults."""
        with self.lock:
            definition, passwords = persist.read_topology(self.topology)
            self._load({'definition': definition, 'passwords': passwords,
                        'jobs': [], 'os_messages': {}, 'events': {}})
            self.faults.clear()
            self.save()

    def _load(self, state):
        self.hmc = FakedSession.from_hmc_dict(state['definition']).hmc
        self.metric_values = state['definition']['hmc_definition'].get(
            'metric_values')
        self.passwords = state['passwords']
        self.sessions = {}
        now = time.monotonic()
        self.jobs = {j['job_id']: jobs.Job.from_state(j, now)
                     for j in state['jobs']}
        self.os_messages = collections.defaultdict(list, state['os_messages'])
        self.events = collections.defaultdict(list, state['events'])
        self._dirty = False

    def state(self):
        now = time.monotonic()
        return {'definition': persist.hmc_definition(self.hmc,
                                                     self.metric_values),
                'passwords': self.passwords,
                'jobs': [j.to_state(now) for j in self.jobs.values()],
                'os_messages': self.os_messages, 'events': self.events}

    def changed(self):
        self._dirty = True

    def save(self):
        """Write the state file if there is one and something changed."""
        with self.lock:     # also called by the command after serving
            if self.state_file:
                statefile.write_state(self.state_file, self.state())
            self._dirty = False

    def save_if_changed(self):
        if self._dirty:
            self.save()

    # -- sessions ------------------------------------------------------

    def logon(self, userid, password):
        """A new session id, or None if the credentials are wrong."""
        user = next((u for c in self.hmc.consoles.list()
                     for u in c.users.list() if u.name == userid), None)
        if (user is None or user.properties.get('disabled') or
                self.passwords.get(userid) != password):
            return None
        session_id = random.SystemRandom().getrandbits(128).to_bytes(
            16, 'big').hex()
        self.sessions[session_id] = userid
        return session_id

    def logoff(self, session_id):
        self.sessions.pop(session_id, None)

    def expire_sessions(self):
        """Invalidate every session, as an HMC restart does."""
        self.sessions.clear()

    # -- jobs ----------------------------------------------------------

    def start_job(self, kind, method, op_uri, target_uri):
        """A new running job, failing at its end if a fault says so."""
        rule = self.faults.take(method, op_uri, deferred=True)
        job = jobs.Job(kind=kind, op_method=method, op_uri=op_uri,
                       target_uri=target_uri,
                       deadline=time.monotonic() + self.job_seconds[kind],
                       failure=rule.job_failure if rule else None)
        self.jobs[job.job_id] = job
        self.changed()
        return job

    def advance(self):
        """Complete every job whose time has come, oldest first."""
        now = time.monotonic()
        for job in sorted(self.jobs.values(), key=lambda j: j.deadline):
            if job.due(now):
                try:
                    partitions.complete(self, job)
                except Exception as e:
                    # A bug of ours must fail this job, not every request.
                    LOG.exception('Completing %s failed', job.uri)
                    job.finish(jobs.Failure(500, 0, f'Simulator error: {e}'))
                self.changed()

    # -- what the partitions "printed" and what happened to them -------

    def os_message(self, partition, text):
        messages = self.os_messages[partition.uri]
        number = messages[-1]['sequence-number'] + 1 if messages else 0
        messages.append({
            'sequence-number': number, 'message-id': number,
            'message-text': text, 'is-priority': False, 'is-held': False,
            'prompt-text': '', 'os-name': partition.properties.get(
                'os-name', ''),
            'timestamp': int(time.time() * 1000)})

    def event(self, partition, name, **details):
        self.events[partition.uri].append(
            dict(details, event=name, timestamp=int(time.time() * 1000)))

    def forget(self, partition):
        self.os_messages.pop(partition.uri, None)
        self.events.pop(partition.uri, None)

    # -- unique names and numbers --------------------------------------

    def all_partitions(self):
        return [p for cpc in self.hmc.cpcs.list()
                for p in cpc.partitions.list()]

    def used_macs(self):
        return {n.properties.get('mac-address')
                for p in self.all_partitions() for n in p.nics.list()}

    def new_mac(self):
        used = self.used_macs()
        return _unused(used, lambda r: '02:00:00:' + ':'.join(
            f'{b:02x}' for b in r.getrandbits(24).to_bytes(3, 'big')))

    def new_wwpn(self):
        used = set()
        for partition in self.all_partitions():
            used.update(h.properties.get('wwpn')
                        for h in partition.hbas.list())
        for console in self.hmc.consoles.list():
            for group in console.storage_groups.list():
                used.update(v.properties.get('world-wide-port-name')
                            for v in group.virtual_storage_resources.list())
        return _unused(
            used, lambda r: f'{WWPN_PREFIX}{r.getrandbits(40):010x}')

    def used_devnos(self, partition):
        """Device numbers of a partition's NICs, HBAs, VFs and volumes."""
        used = {d.properties.get('device-number', '').lower()
                for mgr in (partition.nics, partition.hbas,
                            partition.virtual_functions)
                for d in mgr.list()}
        for group in self.attached_storage_groups(partition):
            used.update(v.properties['device-number'].lower()
                        for v in group.virtual_storage_resources.list()
                        if v.properties['partition-uri'] == partition.uri)
        return used

    def new_devno(self, partition):
        used = self.used_devnos(partition)
        devno = FIRST_AUTO_DEVNO
        while f'{devno:04x}' in used:
            devno += 1
        return f'{devno:04x}'

    def attached_storage_groups(self, partition):
        return [self.hmc.lookup_by_uri(uri)
                for uri in partition.properties.get('storage-group-uris', [])]


def _unused(used, make):
    rand = random.SystemRandom()
    while True:
        value = make(rand)
        if value not in used:
            return value
