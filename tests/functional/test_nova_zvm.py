# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova in process with its own z/VM driver (compute_driver = zvm.ZVMDriver)
against the Cloud Connector simulator: a client we did not write boots,
reboots, pauses, snapshots and deletes a server through it, with a real
Glance (tests/functional/glance.py).
"""

import os
import sys

from nova.tests.functional import integrated_helpers

from tests.functional import glance
from tests.functional import zvm_steps
from tests import nova_zvm

HOST = 'zvm-compute-1'


class InTreeZVMServersTest(glance.OnGlance,
                           integrated_helpers._IntegratedTestBase):

    ADMIN_API = True
    microversion = 'latest'

    def setUp(self):
        self.sim = nova_zvm.reset()
        self.flags(compute_driver='zvm.ZVMDriver')
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self.stub_out('nova.virt.configdrive.ConfigDriveBuilder.make_drive',
                      nova_zvm.write_config_drive)
        # The Neutron fixture sends no network-vif-plugged events.
        self.flags(vif_plugging_timeout=0)
        # A defect of the in-tree driver, not of the simulator: nova 34's
        # compute refuses to start a new host when list_instance_uuids()
        # raises NotImplementedError, which nova.virt.zvm never
        # implemented.  Its guests carry no instance UUID, so "none" is
        # the only answer it could give.
        self.stub_out('nova.virt.zvm.driver.ZVMDriver.list_instance_uuids',
                      lambda driver: [])
        super().setUp()
        nova_zvm.configure()

    def _setup_compute_service(self):
        nova_zvm.configure()
        return self._start_compute(HOST)

    def _guest(self, server):
        """The simulator's record of the server's guest, or None."""
        userid = server['OS-EXT-SRV-ATTR:instance_name'].upper()
        with self.sim.model.lock:
            return self.sim.model.guests.get(userid)

    def _snapshot(self, server):
        """Glance's record of a new snapshot, once Nova is done with it."""
        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap-1'}})['image_id']
        self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None})
        return self.glance.show(image_id)

    def test_boot_reboot_pause_snapshot_delete(self):
        flavor = self._create_flavor(vcpu=2, memory_mb=2048, disk=5)
        server = self._create_server(image_uuid=self.glance.zvm_image(),
                                     flavor_id=flavor, networks='none')
        guest = self._guest(server)
        self.assertEqual(('on', 2, 2048), (guest.state, guest.vcpus,
                                           guest.memory_mb))
        self.assertEqual(nova_zvm.OS_DISTRO, guest.os_version)
        # The config drive went to the guest's reader (with the IUCV
        # authorisation script the connector punches after it).
        self.assertEqual(['cfgdrive.iso', 'iucvauth.sh'],
                         [f['file'] for f in guest.reader])

        zvm_steps.reboot_and_pause(self, server)

        snapshot = self._snapshot(server)
        self.assertEqual(('active', nova_zvm.OS_DISTRO),
                         (snapshot['status'], snapshot['os_distro']))
        # Captured, exported to the compute host, then removed.
        calls = [(r['method'], r['path']) for r in self.sim.log.since()]
        for call in [('PUT', f'/images/{snapshot["id"]}'),
                     ('DELETE', f'/images/{snapshot["id"]}')]:
            self.assertIn(call, calls)
        # The connector's copy is gone once Glance has the image.
        with self.sim.model.lock:
            self.assertNotIn(snapshot['id'], self.sim.model.images)

        log = self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']
        self.assertIn('login:', log)

        self._stop_server(server)
        self.assertEqual('off', self._guest(server).state)
        self._start_server(server)
        self.assertEqual('on', self._guest(server).state)

        self._delete_server(server)
        self.assertIsNone(self._guest(server))
