# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The options of neutron-ibmz-zvm-agent, registered on a ConfigOpts of
its own (load()), never on the global CONF: the agent may run as a thread
of a neutron-server that has other agents of other hosts (the tests' and
the sandbox's), and Neutron's own options stay Neutron's.

The Cloud Connector options keep the names the Nova side gives them in
nova.conf's [zvm] (cloud_connector_url, ca_file, admin_token_file), and
[DEFAULT] host and instance_name_template the names of nova.conf's: an
operator copies the values of the compute host the agent serves.
"""

import dataclasses
import re
import socket

from oslo_config import cfg

from nova_ibmz.neutron.agent import config
from nova_ibmz.neutron.agent.config import ConfigError

# A CP name (a vswitch's): 1 to 8 letters, digits or @#$_-.
_CP_NAME = re.compile(r'^[A-Z0-9@#$_-]{1,8}$')

DEFAULT_OPTS = [
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='zvm-compute-1',
               help="""
The name of the Nova compute host whose z/VM system this agent serves:
nova.conf's [DEFAULT] host there.  Neutron binds the ports of that host's
instances with this agent's vswitch mappings.
"""),
    cfg.StrOpt('instance_name_template', default='os%06x',
               help="""
nova.conf's [DEFAULT] instance_name_template of that compute host.  A guest
is one of OpenStack's only if its userid follows it; the agent never
touches another guest.
"""),
]

ZVM_GROUP = cfg.OptGroup('zvm', title='z/VM Cloud Connector and vswitches')
ZVM_OPTS = [
    cfg.URIOpt('cloud_connector_url', schemes=['http', 'https'],
               required=True, sample_default='https://zvm.example.org:8080',
               help="""
URL of the z/VM Cloud Connector of the z/VM system (or SSI member) this
agent serves, as in nova.conf's [zvm] section of the compute host.
"""),
    cfg.StrOpt('ca_file',
               help="""
CA bundle to verify the Cloud Connector's certificate with (https).  Unset:
the system's CA bundle.
"""),
    cfg.StrOpt('admin_token_file',
               help="""
File holding the Cloud Connector's admin token (its [wsgi] auth=token
secret).  Unset: the connector runs with auth=none.  Keep the file readable
by the agent's user only.
"""),
    cfg.ListOpt('vswitch_mappings', required=True,
                sample_default='physnet1:VSWITCH1,physnet2:VSWITCH2',
                help="""
Which z/VM vswitch carries each physical network:
"<physical network>:<vswitch>", comma separated.  Each vswitch must exist on
the z/VM system, which the agent checks at start.  Neutron binds a port of
a flat or VLAN network on one of these physical networks to the vswitch
(vif_details "vswitch"), with the VLAN of a VLAN network.
"""),
]

AGENT_GROUP = config.agent_group()
AGENT_OPTS = config.agent_opts("""\
Seconds between two looks at the guests' NICs (one Cloud Connector request
each while nothing changes).""")


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """The values the agent runs with."""

    host: str
    instance_name_template: str
    cloud_connector_url: str
    vswitch_mappings: dict          # physical network -> VSWITCH
    ca_file: str = None
    admin_token: str = dataclasses.field(default=None, repr=False)
    polling_interval: int = 2
    report_interval: float = 30

    @property
    def verify(self):
        """The verify value requests takes."""
        return self.ca_file or True


def list_opts():
    """For oslo-config-generator."""
    return [(None, DEFAULT_OPTS), (ZVM_GROUP, ZVM_OPTS),
            (AGENT_GROUP, AGENT_OPTS)]


def load(args):
    """Parse the command line args (--config-file ...) into a ConfigOpts
    of the agent's own and check it: an AgentConfig, or ConfigError."""
    return config.parse(args, 'neutron-ibmz-zvm-agent', list_opts(), _read)


def _read(conf):
    zvm, agent = conf.zvm, conf.agent
    return AgentConfig(
        host=conf.host, instance_name_template=conf.instance_name_template,
        cloud_connector_url=zvm.cloud_connector_url, ca_file=zvm.ca_file,
        polling_interval=agent.polling_interval,
        report_interval=agent.report_interval,
        vswitch_mappings=parse_mappings(zvm.vswitch_mappings),
        admin_token=zvm.admin_token_file and _read_token(
            zvm.admin_token_file))


def parse_mappings(entries):
    """{physical network: VSWITCH} of "<physnet>:<vswitch>" entries;
    ConfigError names the first wrong one."""
    mappings = {}
    for entry in entries:
        physnet, _, vswitch = entry.partition(':')
        physnet, vswitch = physnet.strip(), vswitch.strip().upper()
        if not physnet or not _CP_NAME.match(vswitch):
            raise ConfigError(
                f'[zvm] vswitch_mappings: {entry!r} is not "<physical '
                f'network>:<vswitch>" (a vswitch name has 1 to 8 letters, '
                f'digits or @#$_-)')
        if physnet in mappings:
            raise ConfigError(
                f'[zvm] vswitch_mappings: physical network {physnet} is '
                f'mapped twice')
        mappings[physnet] = vswitch
    if not mappings:
        raise ConfigError('[zvm] vswitch_mappings: no mapping given')
    return mappings


def _read_token(path):
    # The token itself never goes into a message.
    try:
        with open(path) as f:
            token = f.read().strip()
    except OSError as e:
        raise ConfigError(f'[zvm] admin_token_file: cannot read {path!r}: '
                          f'{e.strerror}')
    if not token:
        raise ConfigError(f'[zvm] admin_token_file: {path!r} is empty')
    return token
