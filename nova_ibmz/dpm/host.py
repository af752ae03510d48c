# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The CPC subset: the share of one CPC a compute host manages.

Cost on the HMC: connecting pulls the CPC's properties once (1 GET, plus the
logon); every later question about the subset's partitions is answered by
one partition list request that carries the properties we need.
"""

import re
import threading

from nova import exception
from nova.objects import fields
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import versionutils
import zhmcclient

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.dpm import partition

LOG = logging.getLogger(__name__)

# CPC statuses in which its partitions can run.  Anything else (no-power,
# not-operating, service, ...) means the CPC is down for this host.
OPERATING_STATUSES = frozenset(['active', 'operating', 'degraded',
                                'acceptable', 'exceptions',
                                'service-required'])


def open_session(config):
    """A zhmcclient session to the HMC; logon happens on first use."""
    # zhmcclient puts the host into its URL as given.
    return zhmcclient.Session(
        config.hmc.url_host, config.hmc_username, config.hmc_password,
        port=config.hmc.port, verify_cert=config.verify)


class CPCSubset:
    """One compute host's partitions and limits on one CPC.

    A zhmcclient session may be used by one thread at a time, and Nova calls
    a driver from several, so every HMC request runs under one lock.
    """

    def __init__(self, config, host, session_factory=open_session):
        self.config = config
        self.host = host
        self._session_factory = session_factory
        self._lock = threading.RLock()
        self._cpc = None

    @property
    def endpoint(self):
        return f'HMC {self.config.hmc}'

    def _hmc_call(self, what, func, *args, **kwargs):
        """Run one HMC call under the lock; name the HMC if it fails."""
        with self._lock:
            try:
                return func(*args, **kwargs)
            except zhmcclient.HTTPError as e:
                if e.http_status == 404:
                    raise
                raise HypervisorUnreachable(
                    self.endpoint, f'{what} failed: HTTP {e.http_status},'
                    f'{e.reason}: {e.message}')
            except (zhmcclient.ConnectionError, zhmcclient.AuthError,
                    zhmcclient.ServerAuthError) as e:
                raise HypervisorUnreachable(self.endpoint,
                                            f'{what} failed: {e}')

    @property
    def cpc(self):
        """The target CPC with its full properties (pulled once).

        Under the lock, so concurrent first calls open one session only.
        """
        with self._lock:
            if self._cpc is None:
                self._cpc = self._read_cpc()
            return self._cpc

    def _read_cpc(self):
        client = zhmcclient.Client(self._session_factory(self.config))
        cpc = client.cpcs.resource_object(self.config.cpc_object_id)
        try:
            self._hmc_call('reading the CPC', cpc.pull_full_properties)
        except (zhmcclient.HTTPError, zhmcclient.CeasedExistence):
            raise ConfigurationError(
                'dpm', 'cpc_object_id',
                f'no CPC with object-id {self.config.cpc_object_id} '
                f'on {self.endpoint}')
        return cpc

    def check(self):
        """Fail unless the CPC can host this subset (for init_host)."""
        cpc = self.cpc
        props = cpc.properties
        where = f'CPC {cpc.name} ({self.config.cpc_object_id})'
        if not props.get('dpm-enabled'):
            raise ConfigurationError(
                'dpm', 'cpc_object_id',
                f'{where} is not in DPM mode; this driver manages DPM '
                f'partitions only')
        if props.get('status') not in OPERATING_STATUSES:
            raise HypervisorUnreachable(
                self.endpoint, f'{where} is not operating (status '
                f'{props.get("status")!r})')
        ifls = props.get('processor-count-ifl', 0)
        if self.config.max_processors > ifls:
            raise ConfigurationError(
                'dpm', 'max_processors',
                f'{self.config.max_processors} exceeds the {ifls} IFLs of '
                f'{where}')
        memory = props.get('storage-customer', 0)
        if self.config.max_memory > memory:
            raise ConfigurationError(
                'dpm', 'max_memory',
                f'{self.config.max_memory} MiB exceeds the {memory} MiB of '
                f'customer memory of {where}')
        LOG.info('CPC subset %(host)s on %(cpc)s: up to %(cpus)d IFLs and '
                 '%(mem)d MiB', {'host': self.host, 'cpc': where,
                                 'cpus': self.config.max_processors,
                                 'mem': self.config.max_memory})

    def partitions(self, name_regex=None):
        """Properties of this host's partitions, in one list request."""
        filter_args = {'name': name_regex or partition.name_filter(self.host)}
        found = self._hmc_call(
            'listing partitions', self.cpc.partitions.list,
            filter_args=filter_args,
            additional_properties=list(partition.LIST_PROPERTIES))
        return [dict(p.properties) for p in found
                if partition.is_owned(p.properties, self.host)]

    def find(self, instance):
        """Properties of the instance's partition; InstanceNotFound if none."""
        name = partition.partition_name(self.host, instance.uuid)
        found = self.partitions(name_regex=re.escape(name))
        if not found:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return found[0]

    def resources(self):
        """Nova's resource dict for the subset.

        IFLs are shared among partitions, so the subset's vCPUs in use are
        those of its largest partition; memory is dedicated, so it adds up.
        """
        parts = self.partitions()
        props = self.cpc.properties
        return {
            'vcpus': self.config.max_processors,
            'memory_mb': self.config.max_memory,
            'local_gb': 0,
            'vcpus_used': max((p.get('ifl-processors', 0) for p in parts),
                              default=0),
            'memory_mb_used': sum(p.get('initial-memory', 0) for p in parts),
            'local_gb_used': 0,
            'hypervisor_type': fields.HVType.PRSM,
            'hypervisor_version': versionutils.convert_version_to_int(
                props.get('se-version', '0')),
            'hypervisor_hostname': self.host,
            'cpu_info': jsonutils.dumps({
                'arch': fields.Architecture.S390X, 'vendor': 'IBM',
                'model': props.get('machine-type')}),
            'disk_available_least': 0,
            'supported_instances': [(fields.Architecture.S390X,
                                     fields.HVType.PRSM, fields.VMMode.HVM)],
            'numa_topology': None,
        }
