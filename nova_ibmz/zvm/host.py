# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The z/VM system (or SSI member) behind one Cloud Connector.

Cost: every call is one GET /host, unless an earlier answer will do; the
node name is read once and kept, because a z/VM system does not change its
name while nova-compute runs.
"""

import time

from nova.objects import fields
from oslo_serialization import jsonutils


class ZVMHost:

    def __init__(self, connector):
        self._connector = connector
        self._node = None
        self._info = None
        self._read_at = 0.0

    def info(self, max_age=0):
        """GET /host: CPUs, memory, disk pool, hypervisor name and IPL;
        the last answer instead, if it is at most max_age seconds old
        (None: of any age)."""
        now = time.monotonic()
        if self._info is None or (max_age is not None and
                                  now - self._read_at > max_age):
            self._info = self._connector.get('/host')
            self._read_at = now
            self._node = self._info['hypervisor_hostname']
        return self._info

    @property
    def node(self):
        """Nova's node name: the z/VM system name."""
        if self._node is None:
            self.info()
        return self._node

    def uptime(self):
        """The system's IPL time as the connector says it ("IPL at
        11/21/26 08:00:00 UTC"), Nova's host uptime text."""
        return self.info()['ipl_time']

    def resources(self):
        """Nova's resource dict, from the connector's view of the host."""
        info = self.info()
        return {
            'vcpus': info['vcpus'],
            'memory_mb': info['memory_mb'],
            'local_gb': info['disk_total'],
            'vcpus_used': info['vcpus_used'],
            'memory_mb_used': info['memory_mb_used'],
            'local_gb_used': info['disk_used'],
            'hypervisor_type': fields.HVType.ZVM,
            'hypervisor_version': info['hypervisor_version'],
            'hypervisor_hostname': info['hypervisor_hostname'],
            'cpu_info': jsonutils.dumps(info['cpu_info']),
            'disk_available_least': info['disk_available'],
            'supported_instances': [(fields.Architecture.S390X,
                                     fields.HVType.ZVM, fields.VMMode.HVM)],
            'numa_topology': None,
        }
