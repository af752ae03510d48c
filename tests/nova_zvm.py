# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's in-tree z/VM driver on the Cloud Connector simulator.

nova.virt.zvm is a client of the Cloud Connector that nobody here wrote:
it sends no token (the real server's auth=none mode) and names guests after
instance_name_template, which must give at most 8 characters.  It is the
check that the simulator speaks the connector's protocol, not ours.
"""

import atexit
import pathlib
import shutil
import tempfile

import nova.conf
from nova.virt.zvm import driver as zvm_driver

from nova_ibmz.sim.zvm import images
from nova_ibmz.sim.zvm import model
from nova_ibmz.sim.zvm import server as zvm_server

CONF = nova.conf.CONF
# Taken at import: nova's TestCase points tempfile at a per-test directory
# that goes with the test, and the simulator outlives tests.
TMP_ROOT = tempfile.gettempdir()
# Upper case, as the connector lists userids: nova's suite looks for the
# instance's name in list_instances().
NAME_TEMPLATE = 'OS%06X'
OS_DISTRO = 'rhel8.6'
_cluster = {}


def connector():
    """The process's simulator (auth none); started on first use."""
    if not _cluster:
        root = pathlib.Path(tempfile.mkdtemp(prefix='nova-zvm-sim-',
                                             dir=TMP_ROOT))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        cluster = model.Model(image_dir=root / 'images')
        server = zvm_server.ConnectorServer(cluster, auth='none').start()
        atexit.register(server.stop)
        _cluster.update(server=server, root=root)
    return _cluster['server']


def reset():
    """An empty simulator, and an empty image cache for the driver."""
    server = connector()
    with server.model.lock:
        server.model.reset()
    server.log.clear()
    cache = _cluster['root'] / 'image-cache'
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    return server


def configure():
    """Point [zvm] at the simulator; nova's config fixture undoes it."""
    server = connector()
    CONF.set_override('cloud_connector_url', server.url, 'zvm')
    CONF.set_override('image_tmp_path',
                      str(_cluster['root'] / 'image-cache'), 'zvm')
    CONF.set_override('instance_name_template', NAME_TEMPLATE)
    # nova's z/VM guide requires a config drive: the connector refuses a
    # deploy without transport files.
    CONF.set_override('force_config_drive', True)


def driver(virtapi):
    """nova's suite builds its driver with import_object(path, virtapi)."""
    reset()
    configure()
    return zvm_driver.ZVMDriver(virtapi)


def image_data(payload=b'rhel 8.6 s390x root file system\n' * 64):
    """A z/VM image file: the disk header the connector reads, then data
    (text: nova's driver reads a snapshot back in text mode)."""
    return images.header(3338) + payload


def write_config_drive(builder, path):
    """ConfigDriveBuilder.make_drive without genisoimage (not installed
    here): the connector copies the file to the guest's reader; what is
    in it does not matter to the simulator."""
    with open(path, 'wb') as f:
        f.write(b'config drive stand-in')


def generate_config_drive(context, instance, *args):
    """nova.virt.zvm.utils.generate_configdrive for nova's unit suite,
    whose instances cannot give the metadata a real config drive needs."""
    path = _cluster['root'] / f'{instance.uuid}.iso'
    write_config_drive(None, path)
    return str(path)
