# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM cloud's compute hosts for moves between hosts
(tests.functional.dpm_cloud): besides HOST, a second subset of CPC1 and a
subset of CPC3, another CPC of the same HMC, each with its Neutron agent.
A server on each gets its partition on its host's CPC, its HBA on that
CPC's FCP adapter and its ports bound to that CPC's virtual switches;
deleted, it leaves nothing on either CPC (and the foreign partitions of
both CPCs are checked after the test, as after every one)."""

from nova_ibmz.sandbox import seed
from tests.functional import dpm_cloud
from tests.functional import neutron
from tests import hmc

CPC1 = (hmc.CPC_ID, hmc.FCP_1, (hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2))
CPC3 = (hmc.CPC3_ID, hmc.CPC3_FCP,
        (hmc.CPC3_VSWITCH_OSD_1, hmc.CPC3_VSWITCH_OSD_2))
# host -> (its CPC, that CPC's FCP adapter, the virtual switches of NET_1
# and NET_2 there).
HOSTS = {dpm_cloud.HOST: CPC1, neutron.DPM_SUBSET_2: CPC1,
         neutron.CPC3_HOST: CPC3}


class DPMHostsTest(dpm_cloud.DPMCloud):

    def setUp(self):
        super().setUp()
        self._start_dpm_compute(neutron.DPM_SUBSET_2)
        self._start_dpm_compute(neutron.CPC3_HOST, hmc.CPC3_ID)

    def _devices(self, part):
        """(CPC, [FCP adapter of each HBA], [virtual switch of each NIC])
        of a faked partition, by object-id."""
        sim = hmc.server().sim
        with sim.lock:
            adapters = [sim.hmc.lookup_by_uri(
                h.properties['adapter-port-uri']).manager.parent.oid
                for h in part.hbas.list()]
            vswitches = sorted(n.properties['virtual-switch-uri'].rsplit(
                '/', 1)[1] for n in part.nics.list())
            return part.manager.parent.oid, adapters, vswitches

    def test_a_server_on_each_host(self):
        # A boot volume each (Cinder's volume of _boot is attached once).
        servers = {host: self._boot(host=host, volume=self.cinder.add_volume(
            f'root-{host}', seed.BOOT_VOLUME_GB, seed.BOOT_VOLUME_METADATA))
            for host in HOSTS}
        for host, (cpc_id, fcp, vswitches) in HOSTS.items():
            server = self._wait_for_state_change(servers[host], 'ACTIVE')
            self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
            part = self._partition(server, host=host)
            self.assertIsNotNone(part, host)
            self.assertEqual('active', part.properties['status'])
            self.assertEqual((cpc_id, [fcp], sorted(vswitches)),
                             self._devices(part))
            self.assertEqual(
                [('ACTIVE', host, 'dpm_vswitch', v) for v in vswitches],
                [(p['status'], p['binding:host_id'], p['binding:vif_type'],
                  p['binding:vif_details']['object_id'])
                 for p in self._ports(server)])

        for server in servers.values():
            self._delete_server(server)
        for host in HOSTS:
            for cpc_id in (hmc.CPC_ID, hmc.CPC3_ID):
                self.assertEqual(([], []), self._ours(host, cpc_id))
