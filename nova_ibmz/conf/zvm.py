# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""[zvm]: the z/VM Cloud Connector a compute host talks to and how it deploys.

Nova registers a [zvm] group for its in-tree driver (cloud_connector_url,
ca_file, image_tmp_path, reachable_timeout).  We use those very options, so
an operator moving from the in-tree driver keeps the section, and add ours
beside them under names nova does not use.  reachable_timeout is the one we
do not read: the in-tree driver waits that long after a spawn for the guest
to answer the connector, ours does not wait for the guest's OS.
"""

import dataclasses
import ipaddress
import os
import urllib.parse

from nova.conf import zvm as nova_zvm
from oslo_config import cfg
from oslo_log import log as logging

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.conf import types

GROUP = cfg.OptGroup('zvm', title='IBM z/VM driver', help="""
Options for compute_driver = ibmz.ZVMDriver: guests of one z/VM system (or
one member of a z/VM SSI cluster), managed through the z/VM Cloud Connector
REST API.  cloud_connector_url, ca_file and image_tmp_path are the in-tree
z/VM driver's options and keep their meaning; its reachable_timeout is
accepted and not used.
""")

NOVA_OPTS = nova_zvm.zvm_opts

OPTS = [
    cfg.Opt('disk_pool', type=types.DiskPoolType,
            help="""
Disk pool for root and ephemeral minidisks, as "ECKD:<pool>" or
"FBA:<pool>".  A host deploys to one disk type only: images and resizes must
match it.
"""),
    cfg.Opt('user_profile', type=types.CPNameType,
            help="""
z/VM directory profile new guests include (for example OSDFLT).  Unset: the
Cloud Connector's own default profile.
"""),
    cfg.Opt('vswitch', type=types.CPNameType,
            help="""
z/VM virtual switch that guest NICs couple to when the port binding does not
name one.
"""),
    cfg.StrOpt('admin_token_file',
               help="""
File holding the Cloud Connector's admin token (its [wsgi] auth=token
secret).  The driver exchanges it for short-lived auth tokens.  Unset: the
connector runs with auth=none.  Keep the file readable by nova only.
"""),
    cfg.IntOpt('connector_timeout', default=300, min=1,
               help="""
Seconds to wait for one Cloud Connector request.  Deploy and capture run
synchronously on the connector, so allow for the largest image.
"""),
    cfg.IntOpt('connector_retries', default=3, min=0,
               help="""
How many times to repeat a Cloud Connector request that got no answer (GET,
PUT and DELETE only) or HTTP 503 (the connector throttles deploy and capture).
The waits between tries double from 1 second.  0: never repeat.
"""),
]

REQUIRED = ('cloud_connector_url', 'disk_pool')
LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ZVMConfig:
    """The [zvm] values one compute host runs with, checked together."""

    cloud_connector_url: str
    disk_pool: types.DiskPool
    ca_file: str = None
    admin_token: str = dataclasses.field(default=None, repr=False)
    user_profile: str = None
    vswitch: str = None
    connector_timeout: int = 300
    connector_retries: int = 3
    # Seconds before the first repeat; not an option (tests shorten it).
    retry_backoff: float = 1.0
    image_tmp_path: str = None

    @property
    def verify(self):
        """The verify value requests takes."""
        return self.ca_file or True


def _read_token(path):
    try:
        with open(path) as f:
            token = f.read().strip()
    except OSError as e:
        raise ConfigurationError(GROUP.name, 'admin_token_file',
                                 f'cannot read {path!r}: {e.strerror}')
    if not token:
        raise ConfigurationError(GROUP.name, 'admin_token_file',
                                 f'{path!r} is empty')
    return token


def _is_loopback(hostname):
    if hostname == 'localhost':
        return True
    try:
        return ipaddress.ip_address(hostname or '').is_loopback
    except ValueError:
        return False        # a name: it may resolve to any machine


def load(conf):
    """Build a ZVMConfig from conf.zvm; raise ConfigurationError if unfit."""
    group = conf[GROUP.name]
    missing = [name for name in REQUIRED if not group[name]]
    if missing:
        raise ConfigurationError(GROUP.name, ', '.join(missing),
                                 'required for compute_driver = '
                                 'ibmz.ZVMDriver but not set')
    url = urllib.parse.urlsplit(group.cloud_connector_url)
    if url.scheme not in ('http', 'https'):
        raise ConfigurationError(GROUP.name, 'cloud_connector_url',
                                 f'{group.cloud_connector_url!r} is not an '
                                 f'http:// or https:// URL')
    if url.scheme == 'http' and not _is_loopback(url.hostname):
        LOG.warning('[zvm] cloud_connector_url: %s is plain http to another '
                    'machine: the auth tokens and every guest\'s data cross '
                    'the network unencrypted; serve the Cloud Connector over '
                    'https and set [zvm] ca_file',
                    group.cloud_connector_url)
    if group.ca_file and not os.path.isfile(group.ca_file):
        raise ConfigurationError(GROUP.name, 'ca_file',
                                 f'{group.ca_file!r} is not a file')
    token = (_read_token(group.admin_token_file)
             if group.admin_token_file else None)
    return ZVMConfig(
        cloud_connector_url=group.cloud_connector_url,
        disk_pool=group.disk_pool,
        ca_file=group.ca_file,
        admin_token=token,
        user_profile=group.user_profile,
        vswitch=group.vswitch,
        connector_timeout=group.connector_timeout,
        connector_retries=group.connector_retries,
        image_tmp_path=group.image_tmp_path)
