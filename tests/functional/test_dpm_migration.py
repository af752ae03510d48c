# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Resize and cold migration of DPM servers between compute hosts through
Nova (dpm.migration): to a subset of another CPC of the HMC, and to
another subset of the same CPC; confirm, revert, a destination too small,
and an arrival the HMC fails.  The foreign partitions of both CPCs are
checked unchanged after every test (dpm_cloud)."""

from nova import context as nova_context
from nova.tests.functional.api import client

from tests.functional import dpm_cloud
from tests.functional.dpm_cloud import HOST
from tests.functional.dpm_cloud import hmc_controls
from tests.functional import neutron
from tests import hmc

CPC3_HOST = neutron.CPC3_HOST
SUBSET_2 = neutron.DPM_SUBSET_2


class DPMMigrationTest(dpm_cloud.DPMCloud):

    def _hbas(self, part):
        with hmc.server().sim.lock:
            return {h.uri: h.properties for h in part.hbas.list()}

    def _nic_switches(self, part):
        with hmc.server().sim.lock:
            return sorted(n.properties['virtual-switch-uri'].rsplit('/')[-1]
                          for n in part.nics.list())

    def _bindings(self, server):
        return [(p['binding:host_id'], p['binding:vif_details'].get(
            'object_id')) for p in self._ports(server)]

    def _boot_on(self, host, flavor_id=None):
        return self._wait_for_state_change(
            self._boot(host=host, flavor_id=flavor_id), 'ACTIVE')

    def test_migrate_to_a_subset_of_another_cpc_and_confirm(self):
        self._start_dpm_compute(CPC3_HOST, hmc.CPC3_ID)
        server = self._boot_on(HOST)
        source = self._partition(server)
        source_wwpns = [h['wwpn'] for h in self._hbas(source).values()]

        server = self._migrate_server(server, host=CPC3_HOST)
        self.assertEqual(CPC3_HOST, server['OS-EXT-SRV-ATTR:host'])
        dest = self._partition(server, host=CPC3_HOST)
        self.assertEqual('active', dest.properties['status'])
        self.assertEqual('stopped', self._status(server))
        # The destination's own HBA on CPC3's FCP adapter, booting the
        # volume that Cinder now maps to its WWPN.
        [(hba_uri, hba)] = self._hbas(dest).items()
        self.assertIn(hmc.CPC3_FCP, hba['adapter-port-uri'])
        self.assertNotIn(hba['wwpn'], source_wwpns)
        self.assertEqual(hba_uri, dest.properties['boot-storage-device'])
        self.assertEqual(
            [[hba['wwpn']]],
            [a['connector']['wwpns']
             for a in self.cinder.connected(dpm_cloud.BOOT_VOLUME)])
        # NICs on CPC3's virtual switches, the ports bound there.
        vswitches = [hmc.CPC3_VSWITCH_OSD_1, hmc.CPC3_VSWITCH_OSD_2]
        self.assertEqual(sorted(vswitches), self._nic_switches(dest))
        self.assertEqual([(CPC3_HOST, v) for v in vswitches],
                         self._bindings(server))

        self._confirm_resize(server)
        self.assertIsNone(self._partition(server))
        self.assertEqual('active', self._partition(
            server, host=CPC3_HOST).properties['status'])
        self._delete_server(server)
        self.assertEqual(([], []), self._ours(CPC3_HOST))
        self.assertEqual(([], []), self._ours())

    def test_resize_to_another_subset_of_the_cpc_and_revert(self):
        self._start_dpm_compute(SUBSET_2)
        # The resize must leave the host (Nova's default).
        self.flags(allow_resize_to_same_host=False)
        server = self._boot_on(HOST, self._dpm_flavor(vcpu=2, memory_mb=2048))
        source = self._partition(server)

        server = self._resize_server(
            server, self._dpm_flavor(vcpu=4, memory_mb=8192))
        self.assertEqual(SUBSET_2, server['OS-EXT-SRV-ATTR:host'])
        dest = self._partition(server, host=SUBSET_2)
        self.assertEqual(('active', 4, 8192), (
            dest.properties['status'], dest.properties['ifl-processors'],
            dest.properties['initial-memory']))
        self.assertEqual(('stopped', 2), (
            self._status(server),
            self._partition(server).properties['ifl-processors']))

        server = self._revert_resize(server)
        self.assertEqual(HOST, server['OS-EXT-SRV-ATTR:host'])
        self.assertIsNone(self._partition(server, host=SUBSET_2))
        part = self._partition(server)
        self.assertEqual((source.uri, 'active', 2, 2048), (
            part.uri, part.properties['status'],
            part.properties['ifl-processors'],
            part.properties['initial-memory']))
        wwpns = [h['wwpn'] for h in self._hbas(part).values()]
        self.assertEqual(
            [wwpns], [a['connector']['wwpns']
                      for a in self.cinder.connected(dpm_cloud.BOOT_VOLUME)])
        self.assertEqual([HOST, HOST],
                         [h for h, _ in self._bindings(server)])

    def test_a_subset_too_small_for_the_flavor_gets_nothing(self):
        """Placement holds each subset's limits: the scheduler finds no
        host, the server runs on where it was, nothing is made on CPC3.
        (The source's own check, naming the limit, is for a scheduler
        bypassed or a stale report: tests/unit/test_dpm_resize.py.)"""
        self._start_dpm_compute(CPC3_HOST, hmc.CPC3_ID, max_processors=2)
        server = self._boot_on(HOST, self._dpm_flavor(vcpu=4))
        # In nova's harness casts are calls: the API answers with the
        # conductor's error.
        error = self.assertRaises(
            client.OpenStackApiException, self.api.post_server_action,
            server['id'], {'migrate': {'host': CPC3_HOST}})
        self.assertIn('NoValidHost', str(error))
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(HOST, server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual('active', self._status(server))
        self.assertEqual([], self._ours(CPC3_HOST)[0])

    def test_an_arrival_the_hmc_fails_leaves_the_destination_nothing(self):
        """The HMC refuses the destination's first NIC: the destination
        removes its half-made partition; the source's stays, stopped (the
        server is in ERROR on the destination, the move failed), until
        Nova reaps the deleted server's partition on the source
        ([DEFAULT] running_deleted_instance_action = reap, its default)."""
        self._start_dpm_compute(CPC3_HOST, hmc.CPC3_ID)
        server = self._boot_on(HOST)
        hmc_controls().fault(method='POST', path=r'/nics$', times=1,
                             status=400, reason=7,
                             message='refused by the test')
        error = self.assertRaises(
            client.OpenStackApiException, self.api.post_server_action,
            server['id'], {'migrate': {'host': CPC3_HOST}})
        self.assertIn('BuildFailed', str(error))
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn('refused by the test', server['fault']['message'])
        self.assertEqual([], self._ours(CPC3_HOST)[0])
        self.assertEqual('stopped', self._status(server))

        self._delete_server(server)
        self.assertEqual('stopped', self._status(server))
        # Nova's periodic task on the source, which lists the partitions
        # through the driver and finds the server deleted.
        self.computes[HOST].manager._cleanup_running_deleted_instances(
            nova_context.get_admin_context())
        self.assertIsNone(self._partition(server))
        self.assertEqual(([], []), self._ours())
