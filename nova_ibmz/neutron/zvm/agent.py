# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-zvm-agent: one per z/VM system (or SSI member), next to
the compute host that manages it.

    neutron-ibmz-zvm-agent --config-file /etc/neutron/neutron.conf \\
        --config-file /etc/neutron/plugins/ml2/ibmz_zvm_agent.ini

At start it checks every [zvm] vswitch_mappings entry against the Cloud
Connector (GET /vswitches: one request) and refuses a vswitch the z/VM
system does not have with a one-line error naming the mapping (exit code
1); a wrong option gets the same.  A connector that does not answer is
asked again, with waits that double up to a minute, each logged: the agent
waits for it rather than exiting.  Then the shared agent loop runs the
manager (manager.py) until SIGTERM or SIGINT (exit code 0).

In the tests and the sandbox the agent runs as a thread of
nova_ibmz.neutron.server instead: its ``[ibmz_sandbox] agents`` entry is
``nova_ibmz.neutron.zvm.agent:server_agent:<agent config file>``.
"""

import sys

from oslo_log import log as logging

from nova_ibmz.connector import client
from nova_ibmz.neutron.agent import service
from nova_ibmz.neutron.zvm import manager
from nova_ibmz.neutron.zvm import options

LOG = logging.getLogger(__name__)
# Seconds for one request: the agent asks only for lists and small
# changes, never for a deploy.
REQUEST_TIMEOUT = 60
# What the start waits out: no answer, or an error the connector answers
# for a request that cannot be wrong (SMAPI down, say).
TRANSIENT = (client.Unreachable, client.ConnectorError)


def connect(config, backoff=1.0):
    """Our Cloud Connector client for the agent.  A request that gets no
    answer is repeated once: the next polling interval asks again."""
    return client.CloudConnector(
        config.cloud_connector_url, verify=config.verify,
        admin_token=config.admin_token, timeout=REQUEST_TIMEOUT, retries=1,
        backoff=backoff)


def check_vswitches(connector, mappings):
    """ConfigError naming the first mapping whose vswitch the connector
    does not list, or a refused admin token; True.  Cost: one GET
    /vswitches."""
    try:
        known = {name.upper() for name in connector.get('/vswitches')}
    except client.TokenRefused as e:
        raise options.ConfigError(f'[zvm] admin_token_file: {e}') from e
    for physnet, vswitch in mappings.items():
        if vswitch not in known:
            raise options.ConfigError(
                f'[zvm] vswitch_mappings: {physnet}:{vswitch}: the z/VM '
                f'system of {connector.url} has no vswitch {vswitch}')
    return True


class ZVMAgent(service.Agent):
    """The z/VM agent (service.Agent): the vswitch mappings checked
    against the Cloud Connector, then the NICs of OpenStack's guests.
    backoff shortens the client's wait before its repeat (tests)."""

    transient = TRANSIENT

    def __init__(self, config, first_wait=service.FIRST_WAIT, backoff=1.0,
                 rpc=None):
        super().__init__(config, first_wait, rpc)
        self.connector = connect(config, backoff)
        self.checking = (f'checking the vswitch mappings against the Cloud '
                         f'Connector at {config.cloud_connector_url}')

    def check(self):
        """check_vswitches: ConfigError for a wrong mapping or a refused
        admin token.  Cost: one GET /vswitches per try."""
        return check_vswitches(self.connector, self.config.vswitch_mappings)

    def make_manager(self, checked):
        return manager.ZVMManager(self.connector,
                                  self.config.vswitch_mappings,
                                  self.config.instance_name_template)

    def started(self, checked):
        LOG.info('z/VM agent of host %s runs on the Cloud Connector at %s: '
                 'vswitch mappings %s', self.config.host,
                 self.config.cloud_connector_url,
                 self.config.vswitch_mappings)


def server_agent(config_file):
    """nova_ibmz.neutron.server's agent hook: the agent of config_file,
    with options of its own (the server's global CONF has its own host)."""
    return ZVMAgent(options.load(['--config-file', config_file]))


def main(argv=None):
    """The console script neutron-ibmz-zvm-agent (see the module)."""
    return service.main(
        'neutron-ibmz-zvm-agent', sys.argv[1:] if argv is None else argv,
        lambda args: ZVMAgent(options.load(args)), options.ConfigError)


if __name__ == '__main__':
    sys.exit(main())
