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
from nova_ibmz.zvm import driver as zvm_driver

ADMIN_TOKEN = 'sim-admin-token'
# Taken at import: nova's TestCase points tempfile at a per-test directory
# that goes with the test, and the simulator outlives tests.
_ROOT = pathlib.Path(tempfile.mkdtemp(prefix='nova-ibmz-zvm-'))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
# The connector's image repository, and the compute host's image_tmp_path.
REPOSITORY = _ROOT / 'repository'
COMPUTE_TMP = _ROOT / 'compute'
_server = None


def new_model():
    """An empty single-system cluster (ZVMSIM1), its image repository
    emptied."""
    return model.Model(image_dir=REPOSITORY)


def server():
    """The process's simulator; started on first use."""
    global _server
    if _server is None:
        _server = zvm_server.ConnectorServer(
            new_model(), admin_token=ADMIN_TOKEN).start()
        atexit.register(_server.stop)
    return _server


def config(url):
    return zvm_conf.ZVMConfig(cloud_connector_url=url,
                              disk_pool=types.DiskPool('ECKD', 'POOL1'),
                              admin_token=ADMIN_TOKEN, connector_timeout=10,
                              image_tmp_path=str(COMPUTE_TMP),
                              vswitch='VSWITCH1',
                              retry_backoff=0.01)


def fresh(sim):
    """The simulator with a new, empty model (and its system ZVMSIM1)."""
    sim.model = new_model()
    sim.member_name = next(iter(sim.model.members))
    return sim


def driver(virtapi):
    """A driver on the simulator, whose model starts empty each time."""
    sim = fresh(server())
    return zvm_driver.ZVMDriver(virtapi, config=config(sim.url))
