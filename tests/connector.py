# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A z/VM driver on the Cloud Connector simulator, served on 127.0.0.1."""

import atexit
import pathlib
import shutil
import tempfile

from nova_ibmz.conf import types
from nova_ibmz.conf import zvm as zvm_conf
from nova_ibmz.sim.zvm import model
from nova_ibmz.sim.zvm import server as zvm_server
from nova_ibmz.zvm import client as zvm_client
from nova_ibmz.zvm import driver as zvm_driver

ADMIN_TOKEN = 'sim-admin-token'
# Taken at import: nova's TestCase points tempfile at a per-test directory
# that goes with the test, and the simulator outlives tests.
_ROOT = pathlib.Path(tempfile.mkdtemp(prefix='nova-ibmz-zvm-'))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
# The connector's image repository, and the compute host's image_tmp_path.
REPOSITORY = _ROOT / 'repository'
COMPUTE_TMP = _ROOT / 'compute'
_servers = []


def new_model():
    """An empty SSI cluster of two members (ZVMSIM1, ZVMSIM2), its image
    repository emptied."""
    return model.Model(members=2, image_dir=REPOSITORY)


def _serve():
    if not _servers:
        cluster = new_model()
        for name in cluster.members:
            sim = zvm_server.ConnectorServer(
                cluster, name, admin_token=ADMIN_TOKEN).start()
            atexit.register(sim.stop)
            _servers.append(sim)
    return _servers


def server():
    """The connector of the process's simulator on its first member;
    started on first use."""
    return _serve()[0]


def second():
    """The connector of the second member, on the same cluster."""
    return _serve()[1]


def config(url):
    return zvm_conf.ZVMConfig(cloud_connector_url=url,
                              disk_pool=types.DiskPool('ECKD', 'POOL1'),
                              admin_token=ADMIN_TOKEN, connector_timeout=10,
                              image_tmp_path=str(COMPUTE_TMP),
                              vswitch='VSWITCH1',
                              retry_backoff=0.01)


def client(url, admin_token=ADMIN_TOKEN, **kwargs):
    """Our REST client of a simulated connector, with short waits."""
    return zvm_client.CloudConnector(url, admin_token=admin_token,
                                     **dict({'timeout': 10, 'backoff': 0.01},
                                            **kwargs))


def fresh(sim):
    """The simulator with a new, empty cluster on both members; sim (the
    first member's connector) keeps ZVMSIM1."""
    cluster = new_model()
    for n, member in enumerate(_serve()):
        member.model = cluster
        member.member_name = list(cluster.members)[n]
    return sim


def driver(virtapi):
    """A driver on the simulator, whose model starts empty each time."""
    sim = fresh(server())
    return zvm_driver.ZVMDriver(virtapi, config=config(sim.url))


# Storage targets Cinder's FC driver would give.
TARGETS = ['500507680B21BAC6', '500507680b22bac6']


def fc_connection(serial='vol-1', lun=1, targets=TARGETS, **data):
    """Cinder's connection info of an FC volume at lun."""
    return {'driver_volume_type': 'fibre_channel', 'serial': serial,
            'data': dict(target_wwn=targets, target_lun=lun, **data)}


def second_driver(virtapi):
    """A driver on the cluster's second member (ZVMSIM2)."""
    return zvm_driver.ZVMDriver(virtapi, config=config(second().url))
