# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova in process (API, conductor, scheduler, placement, two computes with
compute_driver = ibmz.ZVMDriver) against the Cloud Connector simulator: the
cloud of the z/VM functional tests (test_zvm, test_outages).

The two computes manage the two members of one simulated SSI cluster
(zvm-1 on ZVMSIM1, zvm-2 on ZVMSIM2), each through its own connector with
token auth, so resize and live migration can move a guest between them.
Neutron is the real one, with each host's z/VM agent on its member's
connector (tests/functional/neutron.py): our mechanism driver binds the
ports of NET_1 to VSWITCH1, and the agent of the guest's member reports
them up once their NICs are coupled.  Cinder answers with fibre-channel
connections to the WWPNs the driver's volume connector reports.  Glance
is the real one (tests/functional/glance.py): the image is uploaded to
it, snapshots go to it.  Guests of other workloads share the directory:
after every test they are exactly as before.
"""

import copy
import dataclasses
import os
import sys

import fixtures
from nova.tests.functional import integrated_helpers

from nova_ibmz.sandbox import services
from tests import connector
from tests.functional import glance
from tests.functional import neutron
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


class ZVMCloud(neutron.OnNeutron, glance.OnGlance,
               integrated_helpers._IntegratedTestBase):

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
        # A guest's NICs move with it (VMRELOCATE): no agent sees them on
        # the destination before the move, so Neutron sends no
        # network-vif-plugged to wait for there.
        self.flags(live_migration_wait_for_vif_plug=False, group='compute')
        token = os.path.join(self.useFixture(fixtures.TempDir()).path,
                             'admin-token')
        with open(token, 'w') as f:
            f.write(connector.ADMIN_TOKEN)
        self.flags(group='zvm', disk_pool='ECKD:POOL1', vswitch='VSWITCH1',
                   admin_token_file=token)
        # Our Cinder replaces the base's before it starts the services.
        self.useFixture(FCCinderFixture(self))
        super().setUp()
        self.cinder = self.useFixture(FCCinderFixture(self))
        self.image = self.glance.zvm_image()
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

    def _boot(self, host='zvm-1', image=None, flavor=None):
        """A server on host, with a port on NET_1."""
        return self._create_server(
            image_uuid=image or self.image, flavor_id=flavor or self.flavor,
            host=host, networks=self._networks())

    def _big_flavor(self):
        """More CPUs and memory, the same root disk: the connector cannot
        resize a minidisk."""
        return self._create_flavor(vcpu=4, memory_mb=4096, disk=5)

    def _console(self, server):
        return self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']
