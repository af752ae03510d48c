# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the simulated z/VM system holds: its resources and guests.

All state changes go through the model's lock, because the HTTP server
answers each request on its own thread.
"""

import dataclasses
import threading
import time


class NotFound(Exception):
    """A named object does not exist (HTTP 404 in the API)."""


@dataclasses.dataclass
class Guest:
    userid: str
    vcpus: int
    memory_mb: int
    power_state: str = 'off'


@dataclasses.dataclass
class System:
    """One z/VM system (SSI member) as GET /host reports it."""

    name: str = 'ZVMSIM1'
    vcpus: int = 16
    memory_mb: int = 262144
    disk_pool: str = 'ECKD:POOL1'
    disk_total_gb: int = 2048
    version: str = '7.3.0'
    cec_model: str = '8561'
    ipl_time: float = dataclasses.field(default_factory=time.time)


class Model:

    def __init__(self, system=None):
        self.system = system or System()
        self.guests = {}
        self.lock = threading.RLock()

    def guest(self, userid):
        with self.lock:
            try:
                return self.guests[userid.upper()]
            except KeyError:
                raise NotFound(f'Guest {userid.upper()!r}')

    def add_guest(self, guest):
        with self.lock:
            self.guests[guest.userid] = guest

    def host_info(self):
        """The output of GET /host, in the connector's field names."""
        with self.lock:
            running = [g for g in self.guests.values()
                       if g.power_state == 'on']
            s = self.system
            return {
                'zvm_host': s.name,
                'zcc_userid': 'OPNCLOUD',
                'vcpus': s.vcpus,
                'vcpus_used': sum(g.vcpus for g in running),
                'memory_mb': s.memory_mb,
                'memory_mb_used': sum(g.memory_mb for g in running),
                'cpu_info': {'architecture': 's390x',
                             'cec_model': s.cec_model},
                'hypervisor_type': 'zvm',
                'hypervisor_version': int(s.version.replace('.', '')),
                'hypervisor_hostname': s.name,
                'ipl_time': time.strftime(
                    'IPL at %m/%d/%y %H:%M:%S UTC',
                    time.gmtime(s.ipl_time)),
                'disk_total': s.disk_total_gb,
                'disk_used': 0,
                'disk_available': s.disk_total_gb,
            }
