# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The CPC subset: the share of one CPC a compute host manages.

Cost on the HMC: connecting pulls the CPC's properties once (1 GET, plus the
logon).  Every question about the subset's partitions is answered from one
partition list request that carries the properties we need, kept for
``status_cache_seconds`` so that Nova's power-state sync of N instances
costs one request, not N.  Our own changes drop the cached list.  A
request the HMC calls temporary (busy, no answer) costs one more per
[dpm] hmc_retries try, where repeating it is safe (hmc.session).
"""

import re
import threading
import time

from nova import exception
from nova.objects import fields
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import versionutils
import zhmcclient

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.hmc import errors
from nova_ibmz.hmc import session
from nova_ibmz.hmc import naming
from nova_ibmz.dpm import partition

LOG = logging.getLogger(__name__)

UUID_LENGTH = 36
# CPC statuses in which its partitions can run.  Anything else (no-power,
# not-operating, service, ...) means the CPC is down for this host.
OPERATING_STATUSES = frozenset(['active', 'operating', 'degraded',
                                'acceptable', 'exceptions',
                                'service-required'])


def open_session(config):
    """A session to the HMC (see hmc.session); logon happens on first use."""
    # zhmcclient puts the host into its URL as given.
    return session.HMCSession(
        config.hmc.url_host, config.hmc_username, config.hmc_password,
        port=config.hmc.port, verify_cert=config.verify,
        retries=config.hmc_retries, backoff=config.retry_backoff)


class LogonRefused(HypervisorUnreachable):
    """The HMC refused the logon of [dpm] hmc_username (403 reason 0)."""

    def __init__(self, error):
        self.refusal = error.refusal
        super().__init__(error.endpoint, f'{error.summary}; check [dpm] '
                         'hmc_username and hmc_password, and that the user '
                         'is enabled on the HMC')


class CPCSubset:
    """One compute host's partitions and limits on one CPC.

    A zhmcclient session may be used by one thread at a time, and Nova calls
    a driver from several, so every HMC request runs under one lock.
    """

    def __init__(self, config, host, session_factory=open_session):
        self.config = config
        self.host = host
        # No request yet: zhmcclient logs on at the first one.
        self._session = session_factory(config)
        self._lock = threading.RLock()
        self._cpc = None
        self._listing = None        # (monotonic time, [partition props])
        self._vswitch_ports = {}    # virtual switch object id -> port

    def set_host(self, host):
        with self._lock:
            self.host = host
            self._listing = None

    @property
    def endpoint(self):
        return f'HMC {self.config.hmc}'

    def hmc_call(self, what, func, *args, **kwargs):
        """Run one HMC call under the lock; name the HMC if it fails.

        The session has repeated what the HMC called temporary (busy, no
        answer) as far as that is safe.  404 reaches the caller as
        zhmcclient.HTTPError; other refusals (4xx) become RequestRefused,
        a refused logon LogonRefused, and an HMC that cannot answer (5xx,
        no connection) HypervisorUnreachable.
        """
        with self._lock:
            self._session.operation = what
            try:
                return errors.call(self.endpoint, what,
                                   self.config.hmc_username, func, *args,
                                   **kwargs)
            except errors.LogonRefused as e:
                raise LogonRefused(e)
            except errors.Refused as e:
                raise RequestRefused(self.endpoint, what, e.why)
            except errors.Unreachable as e:
                raise HypervisorUnreachable(self.endpoint, e.summary)
            finally:
                self._session.operation = None

    @property
    def cpc(self):
        """The target CPC with its full properties (pulled once).

        Under the lock, so concurrent first calls read it once.
        """
        with self._lock:
            if self._cpc is None:
                self._cpc = self._read_cpc()
            return self._cpc

    def _read_cpc(self):
        """The first request of the host.  A refused logon stops it here
        (nova-compute does not start): each later try would count as one
        more failed logon of the user on the HMC."""
        cpc = zhmcclient.Client(self._session).cpcs.resource_object(
            self.config.cpc_object_id)
        try:
            self.hmc_call('reading the CPC', cpc.pull_full_properties)
        except LogonRefused as e:
            raise ConfigurationError(
                'dpm', 'hmc_username, hmc_password',
                f'{self.endpoint}: {e.refusal}: a wrong user or password, '
                'or a disabled user; not tried again, as each refused logon '
                'counts towards the HMC disabling the user')
        except (zhmcclient.HTTPError, zhmcclient.CeasedExistence):
            raise ConfigurationError(
                'dpm', 'cpc_object_id',
                f'no CPC with object-id {self.config.cpc_object_id} '
                f'on {self.endpoint}')
        return cpc

    def check(self):
        """Fail unless the CPC can host this subset (for init_host)."""
        longest = len(naming.partition_name(self.host, UUID_LENGTH * 'x'))
        if longest > naming.MAX_NAME:
            raise ConfigurationError(
                'DEFAULT', 'host', f'{self.host!r} makes partition names of '
                f'{longest} characters; the HMC takes {naming.MAX_NAME}: '
                f'use a host name of at most '
                f'{len(self.host) - longest + naming.MAX_NAME} '
                'characters')
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

    def partitions(self, fresh=False):
        """Properties of this host's partitions, from one list request.

        The list is reused for config.status_cache_seconds unless fresh.
        """
        with self._lock:
            now = time.monotonic()
            age = now - self._listing[0] if self._listing else None
            if fresh or age is None or age >= self.config.status_cache_seconds:
                self._listing = (now, self._list(
                    naming.name_filter(self.host)))
            return self._listing[1]

    def changed(self):
        """Forget the cached list: we changed a partition."""
        with self._lock:
            self._listing = None

    def _list(self, name_regex):
        found = self.hmc_call(
            'listing partitions', self.cpc.partitions.list,
            filter_args={'name': name_regex},
            additional_properties=list(partition.LIST_PROPERTIES))
        return [dict(p.properties) for p in found
                if naming.is_owned(p.properties, self.host)]

    def find(self, instance, fresh=False):
        """Properties of the instance's partition; InstanceNotFound if none."""
        name = naming.partition_name(self.host, instance.uuid)
        for props in self.partitions(fresh):
            if props['name'] == name:
                return props
        raise exception.InstanceNotFound(instance_id=instance.uuid)

    def owned(self, instance):
        """The instance's partition as a zhmcclient resource, checked fresh.

        Every change goes through here: the partition must carry both of
        this host's marks now, not when some list was cached.
        """
        props = self.find(instance, fresh=True)
        return self.cpc.partitions.resource_object(props['object-uri'],
                                                   props)

    def create(self, instance):
        """Create the instance's partition (stopped) and return it.

        A partition that already has the name is never adopted: the HMC
        refuses the duplicate name (400,8), and we say whose it is.
        """
        props = partition.create_properties(self.host, instance)
        what = f'creating partition {props["name"]}'
        try:
            part = self.hmc_call(what, self.cpc.partitions.create, props)
        except RequestRefused:
            taken = self._list(re.escape(props['name']))
            if taken:
                raise exception.InstanceExists(name=instance.name)
            if self.hmc_call('listing partitions', self.cpc.partitions.list,
                             filter_args={'name': re.escape(props['name'])}):
                raise InstanceSetupError(
                    instance.uuid, f'partition {props["name"]} exists on '
                    f'{self.endpoint} and is not one of ours: refusing to '
                    'touch or adopt it')
            raise
        finally:
            self.changed()
        return part

    def vswitch_ports(self, vswitch_ids):
        """The adapter port of each virtual switch; one list when asked
        about a switch not seen yet (they change only with the hardware)."""
        with self._lock:
            if not set(vswitch_ids) <= set(self._vswitch_ports):
                for vswitch in self.hmc_call(
                        'listing virtual switches',
                        self.cpc.virtual_switches.list,
                        additional_properties=['port']):
                    self._vswitch_ports[vswitch.uri.rsplit('/', 1)[1]] = \
                        vswitch.properties.get('port', 0)
            return {v: self._vswitch_ports[v] for v in vswitch_ids
                    if v in self._vswitch_ports}

    @property
    def storage_groups(self):
        """True on CPCs that give FCP storage through storage groups."""
        return any(f.get('name') == 'dpm-storage-management' and
                   f.get('state') for f in
                   self.cpc.properties.get('available-features-list', []))

    def wait(self, what, job, timeout):
        """Wait for an HMC job, polling quickly at first, then every second.

        zhmcclient's own waiting polls every 10 s, so a 3-second start
        would cost 10; this costs about the job's own time.
        """
        deadline = time.monotonic() + timeout
        pause = 0.1
        while True:
            try:
                status, result = self.hmc_call(what,
                                               job.check_for_completion)
            except zhmcclient.HTTPError as e:   # the job is gone (404)
                raise RequestRefused(self.endpoint, what,
                                     f'HTTP {e.http_status},{e.reason}: '
                                     f'{e.message}')
            if status == 'complete':
                return result
            if time.monotonic() + pause > deadline:
                raise HypervisorUnreachable(
                    self.endpoint, f'{what} did not end within {timeout} s')
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def resources(self):
        """Nova's resource dict for the subset.

        IFLs are shared among partitions, so the subset's vCPUs in use are
        those of its largest partition; memory is dedicated, so it adds up.
        A CPC that is not operating makes the host not ready (an error for
        this audit), never a host with zero resources.
        """
        cpc = self.cpc
        self.hmc_call('reading the CPC status', cpc.pull_properties,
                      ['status'])
        if cpc.properties.get('status') not in OPERATING_STATUSES:
            raise HypervisorUnreachable(
                self.endpoint, f'CPC {cpc.name} is not operating (status '
                f'{cpc.properties.get("status")!r}): host {self.host} is '
                'not ready')
        parts = self.partitions()
        props = cpc.properties
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
            'stats': {'uptime': self.uptime()},
        }

    def uptime(self):
        """The hypervisor's uptime for Nova: None, "not known".  Cost: none.

        The HMC tells no start time of a CPC (nor of its partitions): no
        CPC, Console or partition property, no metric.  None in the
        resources' stats is Nova's own "the driver does not support
        uptime": the hypervisor details show it as null without asking the
        compute host.  The time nova-compute's machine has been up would be
        another machine's.
        """
        return None
