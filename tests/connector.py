# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A z/VM driver on the Cloud Connector simulator, served on 127.0.0.1."""

import atexit
import shutil
import tempfile

from nova_ibmz.conf import types
from nova_ibmz.conf import zvm as zvm_conf
from nova_ibmz.sim.zvm import model
from nova_ibmz.sim.zvm import server as zvm_server
from nova_ibmz.zvm import driver as zvm_driver

ADMIN_TOKEN = 'sim-admin-token'
_server = None
_image_dir = None


def new_model():
    """An empty single-system cluster (ZVMSIM1).  Its image repository is
    the process's one directory, which a new model empties."""
    global _image_dir
    if _image_dir is None:
        _image_dir = tempfile.mkdtemp(prefix='nova-ibmz-zvm-connector-')
        atexit.register(shutil.rmtree, _image_dir, ignore_errors=True)
    return model.Model(image_dir=_image_dir)


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
