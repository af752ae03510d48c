# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The options of neutron-ibmz-dpm-agent, registered on a ConfigOpts of
its own (load()), never on the global CONF: the agent may run as a thread
of a neutron-server with agents of other hosts (the tests' and the
sandbox's), and Neutron's own options stay Neutron's.

The HMC options keep the names the DPM compute host has in nova.conf's
[dpm] (an operator copies them), [dpm] physical_network_adapter_mappings
the name networking-dpm gave it, and [DEFAULT] host the compute host's.
"""

import dataclasses
import os
import re
import socket
import urllib.parse

from oslo_config import cfg

from nova_ibmz.neutron.agent import config
from nova_ibmz.neutron.agent.config import ConfigError

HMC_PORT = 6794
_OBJECT_ID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                        r'[0-9a-f]{12}$')

DEFAULT_OPTS = [
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='dpm-subset-1',
               help="""
The CPC subset this agent serves: nova.conf's [DEFAULT] host of its DPM
compute host.  The agent reports the ports of the NICs that host made
(described "OpenStack mac=<mac>, CPCSubset=<host>"), and Neutron binds the
ports of that host's instances with this agent's mappings.
"""),
]

DPM_GROUP = cfg.OptGroup('dpm', title='The HMC and the network adapters')
DPM_OPTS = [
    cfg.StrOpt('hmc', required=True, sample_default='hmc.example.org:6794',
               help="""
Host name or IP address of the HMC that manages the CPC, optionally with
the Web Services API port (default 6794): as nova.conf's [dpm] hmc of the
compute host.
"""),
    cfg.StrOpt('hmc_username', required=True,
               help="""
User of the HMC Web Services API.  The agent only reads: the user needs
object access to the CPC, its network adapters and the partitions of the
CPC subset, no task that changes them.
"""),
    cfg.StrOpt('hmc_password', required=True, secret=True,
               help='Password of hmc_username.'),
    cfg.StrOpt('hmc_ca_file',
               help="""
PEM file with the CA certificate(s) that signed the HMC's certificate.
Unset: the system's trusted CAs.
"""),
    cfg.BoolOpt('hmc_verify_cert', default=True,
                help="""
Verify the HMC's TLS certificate.  Turning this off exposes the HMC password
to anyone who can intercept the connection; use hmc_ca_file instead.
"""),
    cfg.StrOpt('cpc_object_id', required=True,
               sample_default='fa1f2466-12df-311a-804c-4ed2cc1d6564',
               help='Object-id of the CPC on the HMC (a UUID).'),
    cfg.IntOpt('hmc_retries', default=3, min=0, max=8,
               help="""
How many times to repeat a read that got no answer, or that the HMC refused
as busy, waiting 1 s and doubling.  A refused logon is never repeated.
"""),
    cfg.MultiStrOpt('physical_network_adapter_mappings', default=[],
                    sample_default=['provider:3ea09d2a-b18d-11e6-89a4-'
                                    '42f2e9ef1641:0'],
                    help="""
Which network adapter port carries each physical network, one line per
mapping: "<physical network>:<adapter object-id>[:<port>]", port 0 or 1
(default 0).  The adapter must be an OSA (osd) or HiperSockets adapter of
the CPC; the agent checks each mapping at start and refuses a wrong one.  A
physical network or an adapter port may be given once only.  Neutron binds
a port of a flat or VLAN network on one of these physical networks to the
adapter port's virtual switch (vif_details "object_id"), or, on a CPC
without virtual switches (z17), to the adapter port itself.
"""),
]

AGENT_GROUP = config.agent_group()
AGENT_OPTS = config.agent_opts("""\
Seconds between two looks at the NICs: one HMC request per mapped virtual
switch each (one in all on a CPC without virtual switches), plus one per
NIC not seen before.""")


@dataclasses.dataclass(frozen=True)
class Mapping:
    """One physical_network_adapter_mappings line."""

    physnet: str
    adapter_id: str
    port: int
    line: str = dataclasses.field(default=None, compare=False, repr=False)

    def wrong(self, why):
        """ConfigError: this mapping, as its line gives it, and why not."""
        return ConfigError(_wrong(self.line or f'{self.physnet}:'
                                  f'{self.adapter_id}:{self.port}', why))


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """The values the agent runs with."""

    host: str
    hmc_host: str           # as a URL holds it: an IPv6 address in []
    hmc_port: int
    hmc_username: str
    hmc_password: str = dataclasses.field(repr=False)
    cpc_object_id: str
    mappings: tuple         # of Mapping
    hmc_ca_file: str = None
    hmc_verify_cert: bool = True
    hmc_retries: int = 3
    polling_interval: int = 2
    report_interval: float = 30

    @property
    def verify(self):
        """The verify_cert value zhmcclient.Session takes."""
        if not self.hmc_verify_cert:
            return False
        return self.hmc_ca_file or True

    @property
    def endpoint(self):
        return f'{self.hmc_host}:{self.hmc_port}'


def list_opts():
    """For oslo-config-generator."""
    return [(None, DEFAULT_OPTS), (DPM_GROUP, DPM_OPTS),
            (AGENT_GROUP, AGENT_OPTS)]


def load(args):
    """Parse the command line args (--config-file ...) into a ConfigOpts
    of the agent's own and check it: an AgentConfig, or ConfigError.
    Nothing here asks the HMC (mappings.check does)."""
    return config.parse(args, 'neutron-ibmz-dpm-agent', list_opts(), _read)


def _read(conf):
    dpm = conf.dpm
    if dpm.hmc_ca_file and not dpm.hmc_verify_cert:
        raise ConfigError('[dpm] hmc_ca_file is set while hmc_verify_cert '
                          'is false; unset one of them')
    if dpm.hmc_ca_file and not os.path.isfile(dpm.hmc_ca_file):
        raise ConfigError(f'[dpm] hmc_ca_file: {dpm.hmc_ca_file!r} is not '
                          'a file')
    if not _OBJECT_ID.fullmatch(dpm.cpc_object_id):
        raise ConfigError(f'[dpm] cpc_object_id: {dpm.cpc_object_id!r} is '
                          'not an HMC object-id (a UUID, lower case)')
    hmc_host, hmc_port = parse_hmc(dpm.hmc)
    return AgentConfig(
        host=conf.host, hmc_host=hmc_host, hmc_port=hmc_port,
        hmc_username=dpm.hmc_username, hmc_password=dpm.hmc_password,
        cpc_object_id=dpm.cpc_object_id,
        mappings=parse_mappings(dpm.physical_network_adapter_mappings),
        hmc_ca_file=dpm.hmc_ca_file, hmc_verify_cert=dpm.hmc_verify_cert,
        hmc_retries=dpm.hmc_retries,
        polling_interval=conf.agent.polling_interval,
        report_interval=conf.agent.report_interval)


def parse_hmc(text):
    """'host', 'host:port' or '[v6 address]:port' -> (host as a URL holds
    it, port); ConfigError if it is none of them."""
    try:
        parts = urllib.parse.urlsplit('//' + text.strip())
        port = parts.port or HMC_PORT
        valid = parts.hostname and not (parts.path or parts.query or
                                        parts.fragment or parts.username)
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f'[dpm] hmc: {text!r} is not host, host:port or '
                          '[IPv6 address]:port')
    host = parts.hostname
    return (f'[{host}]' if ':' in host else host), port


def parse_mappings(lines):
    """The Mappings of physical_network_adapter_mappings lines;
    ConfigError names the first wrong one.  A physical network, and an
    adapter port, may be mapped once only."""
    mappings = []
    for line in lines:
        mapping = _parse_mapping(line)
        for other in mappings:
            if other.physnet == mapping.physnet:
                raise mapping.wrong(f'physical network {mapping.physnet} '
                                    'is mapped twice')
            if (other.adapter_id, other.port) == (mapping.adapter_id,
                                                  mapping.port):
                raise mapping.wrong(f'port {mapping.port} of adapter '
                                    f'{mapping.adapter_id} is mapped twice')
        mappings.append(mapping)
    if not mappings:
        raise ConfigError('[dpm] physical_network_adapter_mappings: no '
                          'mapping given')
    return tuple(mappings)


def _parse_mapping(line):
    fields = [field.strip() for field in line.split(':')]
    if len(fields) not in (2, 3) or not fields[0]:
        raise ConfigError(_wrong(line, 'not "<physical network>:<adapter '
                                 'object-id>[:<port>]"'))
    adapter_id = fields[1].lower()
    if not _OBJECT_ID.fullmatch(adapter_id):
        raise ConfigError(_wrong(line, f'{fields[1]!r} is not an adapter '
                                 'object-id (a UUID)'))
    port = fields[2] if len(fields) == 3 else '0'
    if port not in ('0', '1'):
        raise ConfigError(_wrong(line, f'port {port!r} is neither 0 nor 1'))
    return Mapping(fields[0], adapter_id, int(port), line.strip())


def _wrong(line, why):
    return f'[dpm] physical_network_adapter_mappings = {line}: {why}'
