# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-dpm-agent: one per CPC subset, next to (or on) the DPM
compute host of that subset, as networking-dpm's agent was deployed.

    neutron-ibmz-dpm-agent --config-file /etc/neutron/neutron.conf \\
        --config-file /etc/neutron/plugins/ml2/ibmz_dpm_agent.ini

At start it checks every [dpm] physical_network_adapter_mappings line
against the HMC (mappings.py) and refuses a wrong one with a one-line
error naming it (exit code 1); a wrong option, or a logon the HMC
refuses, gets the same.  An HMC that does not answer is asked again, with
waits that double up to a minute, each logged: the agent waits for it
rather than exiting.  Then the shared agent loop runs the manager
(manager.py) until SIGTERM or SIGINT (exit code 0): it reports the agent
alive with the translated mappings and the ports of this subset's NICs up
and down.  It only reads from the HMC.

In the tests and the sandbox the agent runs as a thread of
nova_ibmz.neutron.server instead: its ``[ibmz_sandbox] agents`` entry is
``nova_ibmz.neutron.dpm.agent:server_agent:<agent config file>``.
"""

import sys

from oslo_log import log as logging
import zhmcclient

from nova_ibmz.hmc import errors
from nova_ibmz.hmc import session
from nova_ibmz.neutron.agent import service
from nova_ibmz.neutron.dpm import manager
from nova_ibmz.neutron.dpm import mappings
from nova_ibmz.neutron.dpm import options

LOG = logging.getLogger(__name__)


def open_session(config, backoff=1.0):
    """A session to the HMC (nova_ibmz.hmc.session: busy answers and lost
    reads repeated [dpm] hmc_retries times); logon at its first request."""
    return session.HMCSession(
        config.hmc_host, config.hmc_username, config.hmc_password,
        port=config.hmc_port, verify_cert=config.verify,
        retries=config.hmc_retries, backoff=backoff)


def check(client, config):
    """mappings.check, with what the HMC refuses as a ConfigError (a
    refused logon, a user without access); the HMC not answering stays
    errors.Unreachable, to wait for."""
    try:
        return mappings.check(client, config)
    except errors.LogonRefused as e:
        raise options.ConfigError(
            f'{e.endpoint}: {e.refusal}; check [dpm] hmc_username and '
            'hmc_password, and that the user is enabled on the HMC') from e
    except errors.Refused as e:
        raise options.ConfigError(f'{e}; the agent reads the CPC, its '
                                  'adapters and virtual switches, and the '
                                  'NICs on them') from e


class DPMAgent(service.Agent):
    """The DPM agent (service.Agent): the mappings checked against the
    HMC, then the NICs of the subset's partitions.  backoff shortens the
    HMC session's waits between repeats (tests)."""

    transient = errors.Unreachable

    def __init__(self, config, first_wait=service.FIRST_WAIT, backoff=1.0,
                 rpc=None):
        super().__init__(config, first_wait, rpc)
        self.session = open_session(config, backoff)
        self.checking = 'checking the mappings against the HMC'

    def check(self):
        """mappings.check: ConfigError for a wrong mapping or a refused
        logon.  Cost: a logon and mappings.check's requests per try (11
        for three mappings)."""
        return check(zhmcclient.Client(self.session), self.config)

    def make_manager(self, checked):
        return manager.DPMManager(self.config, *checked)

    def started(self, checked):
        cpc, targets = checked
        LOG.info('DPM agent of host %s runs on CPC %s of HMC %s: %s',
                 self.config.host, cpc.name, self.config.endpoint,
                 '; '.join(str(t) for t in targets))

    def close(self):
        """Log off."""
        try:
            self.session.logoff()
        except zhmcclient.Error as e:
            # The HMC ends a session it does not hear from by itself.
            LOG.info('HMC %s: logoff failed: %s', self.config.endpoint, e)


def server_agent(config_file):
    """nova_ibmz.neutron.server's agent hook: the agent of config_file,
    with options of its own (the server's global CONF has its own host)."""
    return DPMAgent(options.load(['--config-file', config_file]))


def main(argv=None):
    """The console script neutron-ibmz-dpm-agent (see the module)."""
    return service.main(
        'neutron-ibmz-dpm-agent', sys.argv[1:] if argv is None else argv,
        lambda args: DPMAgent(options.load(args)), options.ConfigError)


if __name__ == '__main__':
    sys.exit(main())
