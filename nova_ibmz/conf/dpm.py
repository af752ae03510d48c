# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""[dpm]: the CPC subset a compute host manages and the HMC that reaches it.

Option names and meanings follow the seed driver (nova-dpm), so an existing
nova.conf keeps working; the TLS options and host:port are additions.
"""

import dataclasses
import os

from oslo_config import cfg

from nova_ibmz.conf import types
from nova_ibmz.common.exception import ConfigurationError

GROUP = cfg.OptGroup('dpm', title='IBM Z DPM driver', help="""
Options for compute_driver = ibmz.DPMDriver: partitions of one IBM Z or
LinuxONE CPC in DPM (Dynamic Partition Manager) mode, managed through the
Web Services API of the HMC (Hardware Management Console) that manages the
CPC.  Each compute host owns a "CPC subset": at most max_processors shared
IFLs and max_memory MiB of the CPC, and only the partitions it created.
""")

OPTS = [
    cfg.Opt('hmc', type=types.HostPortType,
            help="""
Host name or IP address of the HMC that manages the target CPC, optionally
with the Web Services API port: "hmc.example.org", "hmc.example.org:6794",
"[fd00::1]:6794".  The port defaults to 6794.
"""),
    cfg.StrOpt('hmc_username',
               help='User name for the HMC Web Services API.'),
    cfg.StrOpt('hmc_password', secret=True,
               help='Password of hmc_username.'),
    cfg.StrOpt('hmc_ca_file',
               help="""
PEM file with the CA certificate(s) that signed the HMC's certificate.
Unset: the system's trusted CAs are used.
"""),
    cfg.BoolOpt('hmc_verify_cert', default=True,
                help="""
Verify the HMC's TLS certificate.  Turning this off exposes the HMC password
to anyone who can intercept the connection; use hmc_ca_file instead.
"""),
    cfg.Opt('cpc_object_id', type=types.ObjectIdType,
            help='Object-id of the target CPC on the HMC (a UUID).'),
    cfg.IntOpt('max_processors', min=1,
               help="""
Maximum number of shared IFL processors of the target CPC this compute host
may use.  Partitions share the CPC's IFLs, so this is also the largest
number of vCPUs one instance may have.
"""),
    cfg.IntOpt('max_memory', min=512,
               help="""
Maximum memory in MiB of the target CPC this compute host may use, summed
over its partitions.  At least 512, the least a partition can boot with.
"""),
    cfg.MultiOpt('physical_storage_adapter_mappings',
                 item_type=types.AdapterPortType, default=[],
                 help="""
FCP storage adapter port used to create an HBA for each instance, as
"<adapter-object-id>:<port>" (port is the adapter's port index, 0 for FCP
adapters).  Repeat the option for several adapters.  Used on CPCs without the
dpm-storage-management firmware feature (z13); on later CPCs storage groups
replace HBAs.
"""),
    cfg.IntOpt('status_cache_seconds', default=10, min=0,
               help="""
Seconds for which one list of this host's partitions (with their status,
processors and memory) answers Nova's questions: a power-state sync of every
instance then costs the HMC one request.  0 asks the HMC every time.
"""),
    cfg.IntOpt('job_timeout', default=600, min=10,
               help="""
Seconds to wait for an HMC job (start, stop, dump) before the operation fails.
"""),
    cfg.StrOpt('orphan_action', default='report',
               choices=[('report', 'log a warning naming each one'),
                        ('remove', 'stop and delete them')],
               help="""
What nova-compute does at start with partitions of this host's subset that no
instance of this host owns (left behind by a crash in the middle of a
spawn, for example).  Partitions of other workloads are never considered.
"""),
    cfg.ListOpt('target_wwpn_ignore_list', item_type=types.WWPNType,
                default=[],
                help="""
Target (storage side) WWPNs to leave out of boot and volume paths, for
example the NAS or file-module ports a V7000 Unified reports.
"""),
    cfg.IntOpt('hmc_retries', default=3, min=0, max=8,
               help="""
How many times to repeat an HMC request that the HMC refused as busy (HTTP
409 reason 2; any request) or that got no answer (reads and deletes; a
create, update or operation only if it never reached the HMC, since it may
have been done).  The waits between tries double from 1 second, so 8 (the
most) waits up to 255 seconds.  A refused logon is never repeated.  0: never
repeat.
"""),
]

REQUIRED = ('hmc', 'hmc_username', 'hmc_password', 'cpc_object_id',
            'max_processors', 'max_memory')


@dataclasses.dataclass(frozen=True)
class DPMConfig:
    """The [dpm] values one compute host runs with, checked together."""

    hmc: types.HostPort
    hmc_username: str
    hmc_password: str = dataclasses.field(repr=False)
    cpc_object_id: str
    max_processors: int
    max_memory: int
    hmc_ca_file: str = None
    hmc_verify_cert: bool = True
    physical_storage_adapter_mappings: tuple = ()
    target_wwpn_ignore_list: frozenset = frozenset()
    status_cache_seconds: int = 10
    job_timeout: int = 600
    orphan_action: str = 'report'
    hmc_retries: int = 3
    # Seconds before the first repeat; not an option (tests shorten it).
    retry_backoff: float = 1.0

    @property
    def verify(self):
        """The verify_cert value zhmcclient.Session takes."""
        if not self.hmc_verify_cert:
            return False
        return self.hmc_ca_file or True


def load(conf):
    """Build a DPMConfig from conf.dpm; raise ConfigurationError if unfit."""
    group = conf[GROUP.name]
    missing = [name for name in REQUIRED if group[name] in (None, '')]
    if missing:
        raise ConfigurationError(GROUP.name, ', '.join(missing),
                                 'required for compute_driver = '
                                 'ibmz.DPMDriver but not set')
    if group.hmc_ca_file and not group.hmc_verify_cert:
        raise ConfigurationError(GROUP.name, 'hmc_ca_file',
                                 'is set while hmc_verify_cert is false; '
                                 'unset one of them')
    if group.hmc_ca_file and not os.path.isfile(group.hmc_ca_file):
        raise ConfigurationError(GROUP.name, 'hmc_ca_file',
                                 f'{group.hmc_ca_file!r} is not a file')
    mappings = tuple(group.physical_storage_adapter_mappings)
    if not mappings:
        raise ConfigurationError(GROUP.name,
                                 'physical_storage_adapter_mappings',
                                 'required: the FCP adapter ports that give '
                                 'instances their paths to the boot volume')
    if len(set(mappings)) != len(mappings):
        dup = next(str(m) for m in mappings if mappings.count(m) > 1)
        raise ConfigurationError(GROUP.name,
                                 'physical_storage_adapter_mappings',
                                 f'{dup!r} is given more than once')
    return DPMConfig(
        **{name: group[name] for name in REQUIRED},
        hmc_ca_file=group.hmc_ca_file,
        hmc_verify_cert=group.hmc_verify_cert,
        physical_storage_adapter_mappings=mappings,
        target_wwpn_ignore_list=frozenset(group.target_wwpn_ignore_list),
        status_cache_seconds=group.status_cache_seconds,
        job_timeout=group.job_timeout,
        orphan_action=group.orphan_action,
        hmc_retries=group.hmc_retries)
