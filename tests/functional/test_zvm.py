# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The z/VM driver through Nova's API on two members of a simulated SSI
cluster (tests.functional.zvm_cloud): lifecycle, snapshots, resize,
rebuild, evacuation, live migration, volumes, interfaces, images, and
spawns that fail half-way."""

import re

from oslo_utils.fixture import uuidsentinel as uuids

from nova_ibmz.sim.zvm import faults
from nova_ibmz.sim.zvm import guests as sim_guests
from nova_ibmz.sim.zvm import images as sim_images
from nova_ibmz.sim.zvm import model as sim_model
from tests import connector
from tests.functional import neutron
from tests.functional import zvm_cloud
from tests.functional import zvm_steps
from tests import nova_zvm
from tests import zvmsim


class ZVMServersTest(zvm_cloud.ZVMCloud):

    # -- tests ------------------------------------------------------------

    def test_lifecycle(self):
        server = self._boot()
        guest = self._assert_on(server, 'zvm-1')
        self.assertEqual(nova_zvm.OS_DISTRO, guest.os_version)
        self.assertEqual(self.image, guest.disks['0100'].image)
        # The config drive and the network configuration in the reader,
        # the port's NIC coupled.
        self.assertEqual({f'{server["id"]}.iso', 'network.doscript'},
                         {f['file'] for f in guest.reader} - {'iucvauth.sh'})
        [nic] = guest.nics.values()
        [port] = self.neutron.ports(device_id=server['id'])
        self.assertEqual((port['id'], 'VSWITCH1'), (nic.nic_id, nic.vswitch))
        # Bound by our mechanism driver, reported up by zvm-1's agent.
        self.assertEqual(('ACTIVE', 'zvm-1', 'zvm', 'VSWITCH1'), (
            port['status'], port['binding:host_id'],
            port['binding:vif_type'], port['binding:vif_details']['vswitch']))

        zvm_steps.reboot_and_pause(self, server)

        self._stop_server(server)
        self.assertEqual('off', self._guest(server).state)
        self._start_server(server)
        self._assert_on(server, 'zvm-1')

        # The guest's console spool, as the connector answers it.
        log = self._console(server)
        self.assertIn(f'LOGON {guest.userid} AT ZVMSIM1', log)
        self.assertIn('login:', log)
        self.assertIn(f'{guest.userid} STOPPED', log)

        self._delete_server(server)
        self._assert_nothing_left()

    def test_snapshot_then_boot_from_it(self):
        server = self._boot()
        image_id = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap-1'}})['image_id']
        self._idle(server)
        # In Glance, as a client reads it: the guest's distribution, and
        # the root minidisk as the connector captured it (its header,
        # then the data the image deployed on it).
        snapshot = self.glance.show(image_id)
        self.assertEqual(('active', 'snap-1', nova_zvm.OS_DISTRO, 'snapshot',
                          server['id']),
                         (snapshot['status'], snapshot['name'],
                          snapshot['os_distro'], snapshot['image_type'],
                          snapshot['instance_uuid']))
        data = self.glance.data(image_id)
        self.assertEqual(len(nova_zvm.image_data()), snapshot['size'])
        self.assertEqual(snapshot['size'], len(data))
        self.assertEqual(nova_zvm.image_data()[sim_images.HEADER_BYTES:],
                         data[sim_images.HEADER_BYTES:])
        # The connector stopped the guest for the capture and started it
        # again; its copy of the image is gone once Glance has it.
        self._assert_on(server, 'zvm-1')
        with self.sim.model.lock:
            self.assertNotIn(image_id, self.sim.model.images)

        # The snapshot boots on the other member, imported from Glance.
        copy_ = self._boot(host='zvm-2', image=image_id)
        guest = self._assert_on(copy_, 'zvm-2')
        self.assertEqual(image_id, guest.disks['0100'].image)
        self.assertIn('login:', self._console(copy_))

        self._delete_server(server)
        self._delete_server(copy_)
        self._assert_nothing_left()

    def test_resize_to_the_other_member(self):
        """Without allow_resize_to_same_host the guest goes to the other
        member: logged off, taken over by its connector, given the new
        CPUs and memory and logged on there; the revert brings it back."""
        server = self._boot()
        big = self._big_flavor()

        server = self._resize_server(server, big)
        self._assert_on(server, 'zvm-2', vcpus=4, memory_mb=4096,
                        resized_from='zvm-1')
        server = self._confirm_resize(server)
        self._assert_on(server, 'zvm-2', vcpus=4, memory_mb=4096)

        server = self._resize_server(server, self.flavor)
        self._assert_on(server, 'zvm-1', resized_from='zvm-2')
        server = self._revert_resize(server)
        self._assert_on(server, 'zvm-2', vcpus=4, memory_mb=4096)

        self._delete_server(server)
        self._assert_nothing_left()

    def test_resize_on_the_same_member(self):
        self.flags(allow_resize_to_same_host=True)
        server = self._boot()
        # The scheduler would pick either host: only zvm-1 takes it.
        [service] = self.admin_api.get_services(host='zvm-2',
                                                binary='nova-compute')
        self.admin_api.put_service(service['id'], {'status': 'disabled'})
        big = self._big_flavor()

        logon = self._guest(server).logon_time
        server = self._resize_server(server, big)
        # It only grows, on the same member: resized live, never logged
        # off.
        guest = self._assert_on(server, 'zvm-1', vcpus=4, memory_mb=4096)
        self.assertEqual(logon, guest.logon_time)
        server = self._revert_resize(server)
        self._assert_on(server, 'zvm-1')

        server = self._resize_server(server, big)
        server = self._confirm_resize(server)
        self._assert_on(server, 'zvm-1', vcpus=4, memory_mb=4096)

        self._delete_server(server)
        self._assert_nothing_left()

    def test_rebuild(self):
        """Nova's rebuild (destroy, then spawn): a new guest of the same
        userid, from the image again, with the same port."""
        server = self._boot()
        before = self._guest(server)
        server = self._rebuild_server(server, self.image)
        guest = self._assert_on(server, 'zvm-1')
        self.assertEqual(before.userid, guest.userid)
        self.assertNotEqual(before.logon_time, guest.logon_time)
        self.assertEqual([n.mac for n in before.nics.values()],
                         [n.mac for n in guest.nics.values()])
        self._delete_server(server)
        self._assert_nothing_left()

    def test_root_disk_grows_on_the_same_member(self):
        """5 GB to 10 GB: the root minidisk is captured and put on a larger
        one; revert brings the old disk back from that capture, confirm
        drops it."""
        self.flags(allow_resize_to_same_host=True)
        [service] = self.admin_api.get_services(host='zvm-2',
                                                binary='nova-compute')
        self.admin_api.put_service(service['id'], {'status': 'disabled'})
        server = self._boot()
        small = self._guest(server).disks['0100'].units
        bigger = self._create_flavor(vcpu=2, memory_mb=2048, disk=10)

        def root_and_backup():
            """The root disk, and whether a copy of a resize is kept (it
            is named after the migration)."""
            guest = self._guest(server)
            with self.sim.model.lock:
                backups = [name for name in self.sim.model.images
                           if name.startswith('resize-')]
            self.assertLessEqual(len(backups), 1)
            return guest.state, guest.disks['0100'].units, bool(backups)

        server = self._resize_server(server, bigger)
        self.assertEqual(('on', 2 * small, True), root_and_backup())
        server = self._revert_resize(server)
        self.assertEqual(('on', small, False), root_and_backup())
        server = self._resize_server(server, bigger)
        server = self._confirm_resize(server)
        self.assertEqual(('on', 2 * small, False), root_and_backup())

        self._delete_server(server)
        self._assert_nothing_left()

    def test_evacuate_after_a_member_fails(self):
        """ZVMSIM1 fails (its guests are logged off; the directory, shared
        by the SSI cluster, keeps them): the server is evacuated to zvm-2,
        which takes over the guest marked as the instance's and makes it
        anew.  When zvm-1 comes back, it only forgets the guest."""
        server = self._boot()
        userid = self._guest(server).userid
        self.computes['zvm-1'].stop()
        self._events_lost_by('zvm-1')
        [service] = self.admin_api.get_services(host='zvm-1',
                                                binary='nova-compute')
        self.admin_api.put_service_force_down(service['id'], True)
        with self.sim.model.lock:
            sim_guests.set_state(self.sim.model,
                                 self.sim.model.guest(userid),
                                 self.sim.member, 'off')

        # Since API 2.95 an evacuated server ends stopped.
        server = self._evacuate_server(server, expected_host='zvm-2',
                                       expected_state='SHUTOFF')
        self.assertEqual('off', self._guest(server).state)
        server = self._start_server(server)
        guest = self._guest(server)
        self.assertEqual(('on', 'ZVMSIM2'), (guest.state, guest.member))
        # The failed member's connector still lists it, until zvm-1 is
        # back and forgets it.
        self.assertEqual(['ZVMSIM1', 'ZVMSIM2'], self._managed_by(server))
        # Back, on its own connector (the driver reads [zvm] at start).
        self.flags(group='zvm', cloud_connector_url=connector.server().url,
                   image_tmp_path=str(connector.COMPUTE_TMP / 'zvm-1'))
        self.restart_compute_service(self.computes['zvm-1'])
        self.admin_api.put_service_force_down(service['id'], False)
        self.assertEqual(['ZVMSIM2'], self._managed_by(server))
        self.assertEqual(('on', 'ZVMSIM2'),
                         (self._guest(server).state,
                          self._guest(server).member))

        self._delete_server(server)
        self._assert_nothing_left()

    def test_live_migration(self):
        server = self._boot()
        root = self._guest(server).disks['0100']
        # First a move that CP refuses after the test passed (the second
        # guest action of the migration): the server stays where it was.
        userid = self._guest(server).userid
        with self.sim.model.lock:
            self.sim.model.faults.add(faults.parse_rule({
                'method': 'POST', 'path': f'^/guests/{userid}/action$',
                'after': 1, 'times': 1, 'status': 500, 'overallRC': 8,
                'rc': 8, 'rs': 3000, 'modID': 1,
                'errmsg': 'HCPRLH1940E relocation refused by the test'}))
        server = self._live_migrate(server, host='zvm-2',
                                    migration_expected_state='failed')
        self._assert_on(server, 'zvm-1')

        server = self._live_migrate(server, host='zvm-2')
        # VMRELOCATE: the same guest with the same minidisk, logged on to
        # the second member and listed by its connector only.
        guest = self._assert_on(server, 'zvm-2')
        self.assertEqual(root, guest.disks['0100'])
        self.assertIn('HCPRLH1822I', self._console(server))
        # zvm-2 now runs it.
        self._reboot_server(server, hard=True)
        self._stop_server(server)
        self.assertEqual('off', self._guest(server).state)

        self._delete_server(server)
        self._assert_nothing_left()

    def test_volume_attach_and_detach(self):
        # On the compute started last: nova's block_device detaches through
        # the driver only where CONF.host is the instance's host, and the
        # computes of one process share CONF.
        server = self._boot(host='zvm-2')
        self._attach_volume(server, uuids.data_volume)
        guest = self._guest(server)
        self.assertEqual(1, len(guest.volumes))
        with self.sim.model.lock:
            fcps = self.sim.model.members['ZVMSIM2'].fcps
            dedicated = sorted(f.devno for f in fcps.values()
                               if f.userid == guest.userid)
        # One FCP device per path, dedicated to the guest.
        self.assertEqual(2, len(dedicated))
        self.assertIn('atvol.sh', [f['file'] for f in guest.reader])

        self.api.delete_server_volume(server['id'], uuids.data_volume)
        self._wait_for_volume_detach(server['id'], uuids.data_volume)
        guest = self._guest(server)
        self.assertEqual([], guest.volumes)
        self.assertIn('devol.sh', [f['file'] for f in guest.reader])
        with self.sim.model.lock:
            self.assertEqual([], [f.devno for f in fcps.values()
                                  if f.userid == guest.userid])

        self._delete_server(server)
        self._assert_nothing_left()

    def test_boot_from_volume(self):
        """The guest IPLs from the FC volume: no root minidisk (the
        flavor's ephemeral disk only), the volume on its FCP devices, the
        config drive in the reader; deleting the server frees the
        devices."""
        body = self._build_server(
            networks=self._networks(),
            flavor_id=self.flavor)
        body.pop('imageRef')
        body['host'] = 'zvm-2'
        body['block_device_mapping_v2'] = [{
            'boot_index': 0,
            'uuid': zvm_cloud.FCCinderFixture.IMAGE_BACKED_VOL,
            'source_type': 'volume', 'destination_type': 'volume'}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        guest = self._guest(server)
        # The ephemeral disk is the first of the disk_list: 0100.
        self.assertEqual(('on', ['0100']), (guest.state, list(guest.disks)))
        with self.sim.model.lock:
            fcps = self.sim.model.members['ZVMSIM2'].fcps.values()
            # One device per path, dedicated, the root volume counted.
            self.assertEqual([1, 1], [f.connections for f in fcps
                                      if f.userid == guest.userid])
        self.assertIn(f'{server["id"]}.iso',
                      [f['file'] for f in guest.reader])
        self._delete_server(server)
        self._assert_nothing_left()

    def test_interface_attach_and_detach(self):
        server = self._boot()
        port_id = self.neutron.port(neutron.NET_1)['id']
        self._attach_interface(server, port_id)
        nics = self._guest(server).nics
        self.assertEqual(2, len(nics))
        self.assertIn((port_id, 'VSWITCH1'),
                      [(n.nic_id, n.vswitch) for n in nics.values()])

        self._detach_interface(server, port_id)
        nics = self._guest(server).nics
        self.assertEqual(1, len(nics))
        self.assertNotIn(port_id, [n.nic_id for n in nics.values()])

        self._delete_server(server)
        self._assert_nothing_left()

    def test_image_is_imported_once(self):
        """A second server from the same image reuses the connector's
        copy: one POST /images for both."""
        mark = max([r['seq'] for r in self.sim.log.since()], default=0)
        servers = [self._boot(), self._boot()]
        self.assertEqual(1, len([r for r in self.sim.log.since(mark)
                                 if (r['method'], r['path']) ==
                                 ('POST', '/images')]))
        for server in servers:
            self._delete_server(server)
        self._assert_nothing_left()

    def test_image_of_another_disk_type_is_refused(self):
        """An image dumped from an FBA disk on a host that deploys to ECKD
        (and a flavor smaller than the image): the server fails with a
        message that says why, and no guest is left."""
        fba = self.glance.create('fba-image',
                                 sim_images.header(2097152, kind='FBA'),
                                 os_distro=nova_zvm.OS_DISTRO)
        tiny = self._create_flavor(vcpu=1, memory_mb=1024, disk=1)
        big = self.glance.create('big-image', sim_images.header(3000),
                                 os_distro=nova_zvm.OS_DISTRO)
        for image, flavor, reason in [
                (fba, self.flavor, 'FBA disk, and this host deploys to '
                 'ECKD:POOL1 ([zvm] disk_pool)'),
                (big, tiny, 'the image needs a root disk of 3 GiB, the '
                 'flavor gives 1 GiB')]:
            server = self._build_server(
                image_uuid=image, flavor_id=flavor,
                networks=self._networks())
            server = self._wait_for_state_change(
                self.api.post_server({'server': server}), 'ERROR')
            self.assertIn(reason, server['fault']['message'])
            self._delete_server(server)
        self._assert_nothing_left()

    def test_spawn_failing_half_way_leaves_nothing(self):
        """A deploy the connector refuses, then a NIC that cannot couple:
        each build ends at once (not rescheduled) with the connector's
        answer in the fault, and takes away its guest with its minidisk,
        NICs and grants."""
        cases = [
            # What unpackdiskimage answers for a damaged image.
            ('POST', r'^/guests/[^/]+/action$',
             dict(status=500, overallRC=300, rc=300, rs=3, modID=10,
                  errmsg='ERROR: deploy refused by the test'),
             'POST /guests/OS[0-9A-F]+/action: HTTP 500, overallRC 300 rc '
             '300 rs 3 modID 10: ERROR: deploy refused by the test'),
            # CP refusing the couple, after the NIC was made and granted.
            ('PUT', r'^/guests/[^/]+/nic/',
             dict(status=409, rs=10, modID=20,
                  errmsg='couple refused by the test'),
             'PUT /guests/OS[0-9A-F]+/nic/1000: HTTP 409, overallRC 409 rc '
             '409 rs 10 modID 20: couple refused by the test'),
        ]
        for method, path, answer, fault in cases:
            with self.sim.model.lock:
                self.sim.model.faults.clear()
                self.sim.model.faults.add(faults.parse_rule(
                    dict(answer, method=method, path=path)))
            sims = self._connectors()
            marks = [max([r['seq'] for r in sim.log.since()], default=0)
                     for sim in sims]
            server = self._build_server(
                image_uuid=self.image, flavor_id=self.flavor,
                networks=self._networks())
            server = self._wait_for_state_change(
                self.api.post_server({'server': server}), 'ERROR')
            self.assertRegex(server['fault']['message'], fault)
            # One member refused it, once: Nova did not try the other.
            self.assertEqual([answer['status']], [
                r['status'] for sim, mark in zip(sims, marks)
                for r in sim.log.since(mark)
                if r['method'] == method and re.search(path, r['path'])])
            self._assert_nothing_left()
            self._delete_server(server)
        with self.sim.model.lock:
            self.sim.model.faults.clear()

    def test_a_guest_left_by_a_failed_create_goes(self):
        """The pool has room for the root minidisk but not for the
        ephemeral one: the connector's create fails after defining the
        guest with its root disk (as the real one does).  The build ends
        with the connector's answer, and the guest goes."""
        self._fill_pool(keep_gb=10)
        try:
            server = self._create_server(
                image_uuid=self.image, flavor_id=self.flavor, host='zvm-1',
                networks=self._networks(),
                expected_state='ERROR')
            self.assertRegex(
                server['fault']['message'],
                r'POST /guests: HTTP 500, overallRC 8 rc 408 rs 24 modID 1: '
                r"Failed to add mdisk to userid 'OS[0-9A-F]+'")
            self.assertEqual(['FILLER'], [
                g for g in sorted(self.sim.model.guests)
                if g not in {u for u, _, _ in zvm_cloud.FOREIGN}])
        finally:
            with self.sim.model.lock:
                del self.sim.model.guests['FILLER']
        self._assert_nothing_left()

    def _fill_pool(self, keep_gb):
        """A guest of another workload that leaves keep_gb of the pool."""
        with self.sim.model.lock:
            pool = self.sim.model.pool('ECKD:POOL1')
            free = pool.total_units - self.sim.model.pool_used(pool.name)
        keep = keep_gb * 1024 ** 3 // sim_model.UNIT_BYTES['ECKD']
        # A size without a unit is in cylinders.
        zvmsim.add_guest(self.sim.model, 'FILLER', managed=False,
                         root=str(free - keep))
