# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM driver through Nova's API on the HMC simulator
(tests.functional.dpm_cloud): lifecycle, resize, shelve, rebuild, failed
spawns, orphans at start (evacuation: test_dpm_evacuate)."""

import uuid

from oslo_utils.fixture import uuidsentinel as uuids

from nova_ibmz.hmc import naming
from tests.functional import dpm_cloud
from tests.functional.dpm_cloud import HOST
from tests.functional.dpm_cloud import hmc_controls
from tests import hmc


class DPMServersTest(dpm_cloud.DPMCloud):

    def test_lifecycle(self):
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        part = self._partition(server)
        self.assertEqual('active', part.properties['status'])
        # Each port bound by our mechanism driver to its network's virtual
        # switch and reported up by the agent; a NIC on each switch.
        ports = self._ports(server)
        vswitches = [hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2]
        self.assertEqual(
            [('ACTIVE', HOST, 'dpm_vswitch', v) for v in vswitches],
            [(p['status'], p['binding:host_id'], p['binding:vif_type'],
              p['binding:vif_details']['object_id']) for p in ports])
        nics = sorted((n.properties['device-number'],
                       n.properties['virtual-switch-uri'])
                      for n in part.nics.list())
        self.assertEqual([('1000', f'/api/virtual-switches/{vswitches[0]}'),
                          ('1004', f'/api/virtual-switches/{vswitches[1]}')],
                         nics)
        self.assertEqual(1, len(part.hbas.list()))
        self.assertEqual('storage-adapter', part.properties['boot-device'])
        self.assertEqual(hmc.TARGETS[0],
                         part.properties['boot-world-wide-port-name'])
        # What the guest image tools read: each NIC's device number, OSA
        # port and its Neutron port's MAC.
        self.assertEqual(
            ''.join(f'{devno},0,{p["mac_address"].replace(":", "")};'
                    for devno, p in zip(('1000', '1004'), ports)),
            part.properties['boot-os-specific-parameters'])

        self._stop_server(server)
        self.assertEqual('stopped', self._status(server))
        self._start_server(server)
        self.assertEqual('active', self._status(server))
        self._reboot_server(server, hard=True)
        self._reboot_server(server, hard=False)
        self.assertEqual('active', self._status(server))

        big = self._dpm_flavor(vcpu=4, memory_mb=8192)
        server = self._resize_server(server, big)
        self.assertEqual((4, 8192), (
            self._partition(server).properties['ifl-processors'],
            self._partition(server).properties['initial-memory']))
        self._confirm_resize(server)
        self.assertEqual('active', self._status(server))

        self._attach_volume(server, uuids.data_volume)
        attached = [v['volumeId']
                    for v in self.api.get_server_volumes(server['id'])]
        self.assertIn(uuids.data_volume, attached)
        self.api.delete_server_volume(server['id'], uuids.data_volume)
        attached = [v['volumeId']
                    for v in self.api.get_server_volumes(server['id'])]
        self.assertNotIn(uuids.data_volume, attached)

        log = self.api.post_server_action(
            server['id'], {'os-getConsoleOutput': {}})['output']
        self.assertIn('login:', log)
        self.assertIn('Kernel command line: 1000,0,', log)

        self._delete_server(server)
        self.assertIsNone(self._partition(server))

    def test_resize_revert_keeps_the_partition(self):
        server = self._wait_for_state_change(
            self._boot(flavor_id=self._dpm_flavor(vcpu=2, memory_mb=2048)),
            'ACTIVE')
        uri = self._partition(server).uri
        server = self._resize_server(
            server, self._dpm_flavor(vcpu=4, memory_mb=8192))
        self._revert_resize(server)
        part = self._partition(server)
        self.assertEqual(uri, part.uri)
        self.assertEqual(('active', 2, 2048), (
            part.properties['status'], part.properties['ifl-processors'],
            part.properties['initial-memory']))

    def test_shelve_offload_and_unshelve(self):
        """Offloading deletes the partition; unshelving makes a new one
        before Cinder maps the volumes, so they reach its new WWPNs."""
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        old = self._partition(server)
        old_wwpns = [h.properties['wwpn'] for h in old.hbas.list()]
        self.api.post_server_action(server['id'], {'shelve': {}})
        self._wait_for_state_change(server, 'SHELVED_OFFLOADED')
        self.assertIsNone(self._partition(server))
        self.api.post_server_action(server['id'], {'unshelve': None})
        server = self._wait_for_state_change(server, 'ACTIVE')
        new = self._partition(server)
        self.assertEqual('active', new.properties['status'])
        self.assertNotEqual(old_wwpns, [h.properties['wwpn']
                                        for h in new.hbas.list()])
        self.assertEqual(2, len(new.nics.list()))

    def test_spawn_failing_half_way_leaves_nothing(self):
        hmc_controls().fault(method='POST', path=r'/nics$', after=1,
                             times=1, status=400, reason=7,
                             message='refused by the test')
        server = self._wait_for_state_change(self._boot(), 'ERROR')
        refused = [r for r in hmc_controls().requests()
                   if r['status'] == 400 and r['path'].endswith('/nics')]
        self.assertEqual(1, len(refused))
        self.assertIsNone(self._partition(server))
        with hmc.server().sim.lock:
            leftovers = [uri for uri in hmc.server().sim.hmc.all_resources
                         if '/nics/' in uri or '/hbas/' in uri]
        self.assertEqual([], leftovers)

    def test_boot_from_an_image_says_dpm_boots_from_volumes(self):
        server = self._build_server(networks=self._networks(),
                                    flavor_id=self._dpm_flavor(),
                                    image_uuid=self._s390x_image())
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ERROR')
        self.assertIn('boot from a Cinder FC volume',
                      server['fault']['message'])
        self.assertIsNone(self._partition(server))

    def test_rebuild_keeps_the_partition(self):
        """A volume-backed rebuild re-images the boot volume and boots the
        same partition again: same HBA WWPNs, fresh NICs."""
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        before = self._partition(server)
        wwpns = [h.properties['wwpn'] for h in before.hbas.list()]
        server = self._rebuild_server(server, self._s390x_image())
        after = self._partition(server)
        self.assertEqual(before.uri, after.uri)
        self.assertEqual('active', after.properties['status'])
        self.assertEqual(wwpns, [h.properties['wwpn']
                                 for h in after.hbas.list()])
        self.assertEqual(2, len(after.nics.list()))

    def test_restart_removes_orphans_when_asked(self):
        """A partition of this host that no instance owns (a crash in the
        middle of a spawn) goes at the next start with orphan_action =
        remove; the instances' partitions stay."""
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        orphan = str(uuid.uuid4())
        hmc.add_partition(HOST, orphan, 'instance-orphan')
        self.flags(orphan_action='remove', group='dpm')
        # A new driver (the state is on the HMC), reading [dpm] anew.
        self.restart_compute_service(self.compute,
                                     keep_hypervisor_state=False)
        names = [p.name for p in hmc.faked_cpc().partitions.list()]
        self.assertNotIn(naming.partition_name(HOST, orphan), names)
        self.assertEqual('active', self._status(server))
