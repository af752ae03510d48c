# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova in process (API, conductor, scheduler, placement, two computes with
compute_driver = ibmz.ZVMDriver) against the Cloud Connector simulator.

The two computes manage the two members of one simulated SSI cluster
(zvm-1 on ZVMSIM1, zvm-2 on ZVMSIM2), each through its own connector with
token auth, so resize and live migration can move a guest between them.
Neutron's ports couple to VSWITCH1 (the [zvm] vswitch) and Cinder answers
with fibre-channel connections to the WWPNs the driver's volume connector
reports.  Guests of other workloads share the directory: after every test
they are exactly as before.
"""

import copy
import dataclasses
import io
import os
import re
import sys

import fixtures
from nova.tests.functional import integrated_helpers
from oslo_utils.fixture import uuidsentinel as uuids

from nova_ibmz.sandbox import services
from nova_ibmz.sim.zvm import faults
from nova_ibmz.sim.zvm import guests as sim_guests
from nova_ibmz.sim.zvm import images as sim_images
from tests import connector
from tests.functional import zvm_steps
from tests import nova_zvm
from tests import zvmsim

# Compute host -> the z/VM system (node) it manages.
HOSTS = {'zvm-1': 'ZVMSIM1', 'zvm-2': 'ZVMSIM2'}
# Guests of other workloads: (userid, CP state, member it is logged on to).
# OS0000FF looks like an instance's guest (os%06x) but no connector manages
# it: the driver must not take it for one.
FOREIGN = [('PRODDB1', 'on', 'ZVMSIM1'), ('LINUX02', 'off', None),
           ('WEBSRV3', 'on', 'ZVMSIM2'), ('OS0000FF', 'off', None)]


class FCCinderFixture(services.FCCinder):
    """Cinder with an FC backend whose LUNs sit behind the storage ports
    tests.connector.TARGETS."""

    def __init__(self, test):
        super().__init__(test, connector.TARGETS)

    def fake_get(self, context, volume_id, microversion=None):
        """The image-backed volume names its distribution, as a volume
        Cinder made from a z/VM image does."""
        volume = super().fake_get(context, volume_id, microversion)
        if volume_id == self.IMAGE_BACKED_VOL:
            volume['volume_image_metadata']['os_distro'] = \
                nova_zvm.OS_DISTRO
        return volume


class ZVMServersTest(integrated_helpers._IntegratedTestBase):

    ADMIN_API = True
    microversion = 'latest'

    def setUp(self):
        self.sim = connector.fresh(connector.server())
        for userid, state, member in FOREIGN:
            zvmsim.add_guest(self.sim.model, userid, state=state,
                             member=member, managed=False)
        self.foreign = self._foreign_state()
        self.flags(compute_driver='ibmz.ZVMDriver')
        # z/VM userids hold at most 8 characters.
        self.flags(instance_name_template='os%06x')
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        # The Neutron fixture sends no network-vif-plugged events.
        self.flags(vif_plugging_timeout=0)
        token = os.path.join(self.useFixture(fixtures.TempDir()).path,
                             'admin-token')
        with open(token, 'w') as f:
            f.write(connector.ADMIN_TOKEN)
        self.flags(group='zvm', disk_pool='ECKD:POOL1', vswitch='VSWITCH1',
                   admin_token_file=token)
        services.glance_keeps_uploads(self)
        # Our Cinder replaces the base's before it starts the services.
        self.useFixture(FCCinderFixture(self))
        super().setUp()
        self.cinder = self.useFixture(FCCinderFixture(self))
        self.image = self._zvm_image()
        self.flavor = self._create_flavor(vcpu=2, memory_mb=2048, disk=5)
        # Checked before the services stop (cleanups run last in, first
        # out), and after a failed test too.
        self.addCleanup(self._assert_foreign_untouched)

    def _setup_compute_service(self):
        """One compute per member: the driver reads [zvm] when the
        compute starts, so each start sees its own connector."""
        computes = []
        for host, sim in zip(HOSTS, self._connectors()):
            self.flags(group='zvm', cloud_connector_url=sim.url,
                       image_tmp_path=str(connector.COMPUTE_TMP / host))
            computes.append(self._start_compute(host))
        return computes[0]

    @staticmethod
    def _connectors():
        """The connectors of ZVMSIM1 and ZVMSIM2, in HOSTS' order."""
        return connector.server(), connector.second()

    # -- waits ----------------------------------------------------------

    def _wait_for_state_change(self, server, expected_status,
                               max_retries=60, **kwargs):
        """Nova's helpers (resize, reboot, ...) wait through this; its 10
        tries of half a second are short for two computes and a
        simulator answering over HTTP."""
        return super()._wait_for_state_change(
            server, expected_status, max_retries=max_retries, **kwargs)

    def _idle(self, server):
        return self._wait_for_server_parameter(
            server, {'OS-EXT-STS:task_state': None}, max_retries=60)

    # -- the simulator's view -------------------------------------------

    def _foreign_state(self):
        """Everything the directory and the connectors hold of the foreign
        guests (their directory entries, CP states, disks, NICs, spools)."""
        with self.sim.model.lock:
            model = self.sim.model
            return {userid: (
                dataclasses.asdict(model.guests[userid])
                if userid in model.guests else None,
                [m for m, member in model.members.items()
                 if userid in member.registry],
                {name: vs.grants[userid]
                 for name, vs in model.vswitches.items()
                 if userid in vs.grants})
                for userid, _, _ in FOREIGN}

    def _assert_foreign_untouched(self):
        self.assertEqual(self.foreign, self._foreign_state())

    def _guest(self, server):
        """The simulator's record of the server's guest (a copy), or
        None."""
        userid = server['OS-EXT-SRV-ATTR:instance_name'].upper()
        with self.sim.model.lock:
            guest = self.sim.model.guests.get(userid)
            return copy.deepcopy(guest)

    def _managed_by(self, server):
        """The members whose connector database lists the server's
        guest."""
        userid = server['OS-EXT-SRV-ATTR:instance_name'].upper()
        with self.sim.model.lock:
            return [name for name, member in self.sim.model.members.items()
                    if userid in member.registry]

    def _assert_on(self, server, host, vcpus=2, memory_mb=2048,
                   resized_from=None):
        """The guest is logged on to host's member, managed by its
        connector alone (and the source's of a resize to confirm, which may
        still be reverted), with these CPUs and memory in its directory."""
        server = self._show_server(server)
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(HOSTS[host],
                         server['OS-EXT-SRV-ATTR:hypervisor_hostname'])
        guest = self._guest(server)
        self.assertEqual(('on', HOSTS[host], vcpus, memory_mb),
                         (guest.state, guest.member, guest.vcpus,
                          guest.memory_mb))
        managed = {HOSTS[host]} | {HOSTS[resized_from]} if resized_from \
            else {HOSTS[host]}
        self.assertEqual(sorted(managed), self._managed_by(server))
        return guest

    def _assert_nothing_left(self):
        """No guest but the foreign ones, no minidisk of another guest in
        the pools, no grant on a vswitch, no guest in a connector's
        database, no FCP device in use."""
        with self.sim.model.lock:
            model = self.sim.model
            self.assertEqual(sorted(u for u, _, _ in FOREIGN),
                             sorted(model.guests))
            foreign_units = sum(d.units for g in model.guests.values()
                                for d in g.disks.values())
            self.assertEqual(foreign_units, model.pool_used('ECKD:POOL1'))
            self.assertEqual({}, {n: v.grants for n, v in
                                  model.vswitches.items() if v.grants})
            self.assertEqual([], [m.registry for m in model.members.values()
                                  if m.registry])
            # FCP devices neither dedicated nor reserved (the connector's
            # database keeps the last assigner of a released one).
            self.assertEqual([], [(f.devno, f.userid, f.reserved)
                                  for m in model.members.values()
                                  for f in m.fcps.values()
                                  if f.userid or f.reserved or
                                  f.connections])

    # -- Nova's side ------------------------------------------------------

    def _zvm_image(self):
        return self.glance.create(None, {
            'name': 'rhel-s390x', 'status': 'active', 'disk_format': 'raw',
            'container_format': 'bare', 'size': len(nova_zvm.image_data()),
            'properties': {'os_distro': nova_zvm.OS_DISTRO,
                           'architecture': 's390x'}},
            data=io.BytesIO(nova_zvm.image_data()))['id']

    def _boot(self, host='zvm-1', image=None, flavor=None):
        """A server on host, with a port on Neutron's network_1."""
        return self._create_server(
            image_uuid=image or self.image, flavor_id=flavor or self.flavor,
            host=host, networks=[{'uuid': self.neutron.network_1['id']}])

    def _big_flavor(self):
        """More CPUs and memory, the same root disk: the connector cannot
        resize a minidisk."""
        return self._create_flavor(vcpu=4, memory_mb=4096, disk=5)

    def _console(self, server):
        return self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']

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
        [port] = self.neutron.list_ports(
            True, device_id=server['id'])['ports']
        self.assertEqual((port['id'], 'VSWITCH1'), (nic.nic_id, nic.vswitch))

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
        snapshot = self.glance.show(None, image_id)
        self.assertEqual('active', snapshot['status'])
        self.assertEqual(nova_zvm.OS_DISTRO,
                         snapshot['properties']['os_distro'])
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
            guest = self._guest(server)
            with self.sim.model.lock:
                backup = f'resize-{server["id"]}' in self.sim.model.images
            return guest.state, guest.disks['0100'].units, backup

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
            networks=[{'uuid': self.neutron.network_1['id']}],
            flavor_id=self.flavor)
        body.pop('imageRef')
        body['host'] = 'zvm-2'
        body['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': FCCinderFixture.IMAGE_BACKED_VOL,
            'source_type': 'volume', 'destination_type': 'volume'}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        guest = self._guest(server)
        self.assertEqual(('on', ['0101']), (guest.state, list(guest.disks)))
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
        port_id = self.neutron.port_1['id']
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
        fba = self.glance.create(None, {
            'name': 'fba-image', 'status': 'active', 'disk_format': 'raw',
            'container_format': 'bare',
            'properties': {'os_distro': nova_zvm.OS_DISTRO}},
            data=io.BytesIO(sim_images.header(2097152, kind='FBA')))['id']
        tiny = self._create_flavor(vcpu=1, memory_mb=1024, disk=1)
        big = self.glance.create(None, {
            'name': 'big-image', 'status': 'active', 'disk_format': 'raw',
            'container_format': 'bare',
            'properties': {'os_distro': nova_zvm.OS_DISTRO}},
            data=io.BytesIO(sim_images.header(3000)))['id']
        for image, flavor, reason in [
                (fba, self.flavor, 'FBA disk, and this host deploys to '
                 'ECKD:POOL1 ([zvm] disk_pool)'),
                (big, tiny, 'the image needs a root disk of 3 GiB, the '
                 'flavor gives 1 GiB')]:
            server = self._build_server(
                image_uuid=image, flavor_id=flavor,
                networks=[{'uuid': self.neutron.network_1['id']}])
            server = self._wait_for_state_change(
                self.api.post_server({'server': server}), 'ERROR')
            self.assertIn(reason, server['fault']['message'])
            self._delete_server(server)
        self._assert_nothing_left()

    def test_spawn_failing_half_way_leaves_nothing(self):
        """A deploy refused on both members (Nova reschedules the build
        to the other one), then a NIC that cannot couple: each attempt
        takes away its guest with its minidisk, NICs and grants."""
        cases = [
            # What unpackdiskimage answers for a damaged image.
            ('POST', r'^/guests/[^/]+/action$',
             dict(status=500, overallRC=300, rc=300, rs=3, modID=10,
                  errmsg='ERROR: deploy refused by the test')),
            # CP refusing the couple, after the NIC was made and granted.
            ('PUT', r'^/guests/[^/]+/nic/',
             dict(status=409, rs=10, modID=20,
                  errmsg='couple refused by the test')),
        ]
        for method, path, answer in cases:
            with self.sim.model.lock:
                self.sim.model.faults.clear()
                self.sim.model.faults.add(faults.parse_rule(
                    dict(answer, method=method, path=path)))
            sims = self._connectors()
            marks = [max([r['seq'] for r in sim.log.since()], default=0)
                     for sim in sims]
            server = self._build_server(
                image_uuid=self.image, flavor_id=self.flavor,
                networks=[{'uuid': self.neutron.network_1['id']}])
            server = self._wait_for_state_change(
                self.api.post_server({'server': server}), 'ERROR')
            # Each member refused it once: Nova tried both.
            for sim, mark in zip(sims, marks):
                self.assertEqual([answer['status']], [
                    r['status'] for r in sim.log.since(mark)
                    if r['method'] == method and re.search(path, r['path'])])
            self._assert_nothing_left()
            self._delete_server(server)
        with self.sim.model.lock:
            self.sim.model.faults.clear()
