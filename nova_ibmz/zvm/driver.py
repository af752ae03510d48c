# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova compute driver for guests of IBM z/VM, through the Cloud Connector.

compute_driver = ibmz.ZVMDriver.  The class only maps Nova's calls onto the
parts: client.CloudConnector (REST), host.ZVMHost (the z/VM system) and
guest.Guests (the guests).
"""

from nova.virt import driver
from nova.virt import hardware

from nova_ibmz import conf
from nova_ibmz.zvm import client
from nova_ibmz.zvm import guest
from nova_ibmz.zvm import host


class ZVMDriver(driver.ComputeDriver):

    capabilities = dict(driver.ComputeDriver.capabilities)

    def __init__(self, virtapi, config=None):
        """Read [zvm] now, so several drivers can run in one process."""
        super().__init__(virtapi)
        config = config or conf.zvm.load(conf.CONF)
        connector = client.CloudConnector(
            config.cloud_connector_url, verify=config.verify,
            admin_token=config.admin_token,
            timeout=config.connector_timeout,
            retries=config.connector_retries, backoff=config.retry_backoff)
        self._host = host.ZVMHost(connector)
        self._guests = guest.Guests(connector)

    def init_host(self, host):
        guest.check_name_template(conf.CONF.instance_name_template)
        self._host.info()  # fails clearly if the connector is unreachable

    def list_instances(self):
        return self._guests.names()

    def get_info(self, instance, use_cache=True):
        return hardware.InstanceInfo(state=self._guests.power_state(instance))

    def get_available_resource(self, nodename):
        return self._host.resources()

    def get_available_nodes(self, refresh=False):
        return [self._host.node]
