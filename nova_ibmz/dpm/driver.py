# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova compute driver for IBM Z / LinuxONE partitions in DPM mode.

compute_driver = ibmz.DPMDriver.  The class only maps Nova's calls onto the
parts: host.CPCSubset (the CPC share and its partitions) and partition
(names, ownership, power state).
"""

from nova.virt import driver
from nova.virt import hardware

from nova_ibmz import conf
from nova_ibmz.dpm import host
from nova_ibmz.dpm import partition


class DPMDriver(driver.ComputeDriver):

    capabilities = dict(driver.ComputeDriver.capabilities)

    def __init__(self, virtapi, config=None, host_name=None,
                 session_factory=host.open_session):
        """Read [dpm] now, so several drivers can run in one process."""
        super().__init__(virtapi)
        self._subset = host.CPCSubset(
            config or conf.dpm.load(conf.CONF), host_name or conf.CONF.host,
            session_factory=session_factory)

    def init_host(self, host):
        self._subset.check()

    def list_instances(self):
        return [partition.instance_name(p) for p in self._subset.partitions()]

    def get_info(self, instance, use_cache=True):
        props = self._subset.find(instance)
        return hardware.InstanceInfo(
            state=partition.power_state_of(props.get('status')))

    def get_available_resource(self, nodename):
        return self._subset.resources()

    def get_available_nodes(self, refresh=False):
        return [self._subset.host]
