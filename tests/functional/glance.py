# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The functional tests' Glance: one real Glance 33 for the whole test
process (nova_ibmz/sandbox/glance.py starts it, in a process of its own,
with its database and file store in a temporary directory), started on
first use as tests/functional/neutron.py's neutron-server is, and stopped
with it at the end of the functional tests (conftest.py).

A cloud that mixes in OnGlance has its Nova on it instead of nova's
in-memory GlanceFixture, and its glance attribute (where the harness kept
that fixture) is the Glance fixture below: images made through Glance's
API, as a user makes them, and read back as Glance shows them.  The
images a test made, Nova's snapshots with them, go when it ends.
Cost: ~3 s at the first use (with db_sync), ~150 MiB resident.
"""

import atexit
import pathlib
import shutil
import tempfile

import fixtures
from nova.tests import fixtures as nova_fixtures

from nova_ibmz.sandbox import glance as launcher
from nova_ibmz.sandbox import services
from tests import nova_zvm

# Taken on import (test collection): nova's TestCase points tempfile at a
# directory of its own that goes away after each test.
TMP_ROOT = tempfile.gettempdir()
# More than any test makes: one page of Glance's image list.
LIST_LIMIT = 1000
_servers = []


def server():
    """The process's Glance (a launcher.Glance), started on first use."""
    if not _servers:
        state_dir = pathlib.Path(tempfile.mkdtemp(
            prefix='nova-ibmz-glance-', dir=TMP_ROOT))
        images = launcher.Glance(state_dir, nova_fixtures.PROJECT_ID)
        _servers.append(images)
        atexit.register(stop)
        images.start()
    return _servers[0]


def stop():
    """The process's Glance stopped, if it runs, and its directory gone:
    the next use starts a new one."""
    if _servers:
        images = _servers.pop()
        images.stop()
        shutil.rmtree(images.state_dir, ignore_errors=True)


class Glance(fixtures.Fixture):
    """Images in the process's Glance, through its API, as the admin of
    nova's test project (Nova's harness's callers)."""

    def _setUp(self):
        self.url = server().url
        before = set(self._ids())
        self.addCleanup(self._delete_new, before)

    def create(self, name, data, **properties):
        """A new public raw image of data (bytes) with properties: its
        id."""
        return launcher.upload_image(self.url, name, data, properties)['id']

    def zvm_image(self):
        """A new z/VM image of tests/nova_zvm.py: a disk dump of its
        distribution, for s390x: its id."""
        return self.create('rhel-s390x', nova_zvm.image_data(),
                           os_distro=nova_zvm.OS_DISTRO,
                           architecture='s390x')

    def show(self, image_id):
        """The image as Glance v2 shows it (properties at the top)."""
        return launcher.request(self.url, 'GET',
                                f'/v2/images/{image_id}').json()

    def data(self, image_id):
        """The image's data, as a client downloads it."""
        return launcher.request(self.url, 'GET',
                                f'/v2/images/{image_id}/file').content

    def _ids(self):
        return [i['id'] for i in launcher.request(
            self.url, 'GET', f'/v2/images?limit={LIST_LIMIT}').json()[
                'images']]

    def _delete_new(self, before):
        for image_id in set(self._ids()) - before:
            launcher.request(self.url, 'DELETE', f'/v2/images/{image_id}')


class OnGlance:
    """Mixed into a cloud (listed before nova's _IntegratedTestBase in its
    bases): its Nova on the process's Glance from the start; glance: the
    Glance fixture."""

    def setUp(self):
        services.nova_on_glance(self, server().url)
        super().setUp()

    def _setup_services(self):
        self.glance = self.useFixture(Glance())
        super()._setup_services()
