# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Evacuation of DPM servers through Nova (dpm.evacuation): from
dpm-subset-1 on CPC1, whose nova-compute is stopped and forced down, to a
subset of CPC3 on the same HMC.  The destination fences the source's
partition through the HMC before it makes its own: a running one is
stopped, a stopped one left alone, and a CPC the HMC does not reach makes
it refuse.  The returning source removes only its own partition.  The
foreign partitions of both CPCs are checked unchanged after every test
(dpm_cloud)."""

from nova.tests.functional.api import client

from tests.functional import dpm_cloud
from tests.functional.dpm_cloud import HOST
from tests.functional.dpm_cloud import hmc_controls
from tests.functional import neutron
from tests import hmc

CPC3_HOST = neutron.CPC3_HOST
CPC1_URI = f'/api/cpcs/{hmc.CPC_ID}'


class DPMEvacuateTest(dpm_cloud.DPMCloud):

    # Before 2.95 an evacuated server keeps its state (ACTIVE here); from
    # 2.95 on Nova stops it at the destination.
    microversion = '2.94'

    def setUp(self):
        super().setUp()
        self._start_dpm_compute(CPC3_HOST, hmc.CPC3_ID)
        self.server = self._wait_for_state_change(self._boot(host=HOST),
                                                  'ACTIVE')
        self.source = self._partition(self.server)

    def _source_down(self):
        """dpm-subset-1's nova-compute stops, and the admin tells Nova it
        is down (what evacuate requires); its partition runs on."""
        self.compute.stop()
        [service] = self.admin_api.get_services(host=HOST,
                                                binary='nova-compute')
        self.admin_api.put_service_force_down(service['id'], True)
        self._events_lost_by(HOST)
        return service

    def _evacuate(self):
        return self._evacuate_server(
            self.server, {'host': CPC3_HOST}, expected_host=CPC3_HOST,
            expected_state='ACTIVE')

    def _requests_to(self, part, since):
        """The paths of the requests about part since the log position."""
        return [r['path'] for r in hmc_controls().requests(since)
                if r['path'].split('?')[0].startswith(part.uri)]

    def _status_changes(self, part):
        """{status change message: when the simulator made it (ms)}, the
        last of each."""
        with hmc.server().sim.lock:
            return {m['message-text']: m['timestamp']
                    for m in hmc.server().sim.os_messages[part.uri]
                    if m['message-text'].startswith('Partition status')}

    def _assert_evacuated(self, server):
        """Active on CPC3_HOST: its partition booting the volume that
        Cinder maps to its WWPN, its ports bound to CPC3's switches."""
        self.assertEqual(CPC3_HOST, server['OS-EXT-SRV-ATTR:host'])
        dest = self._partition(server, host=CPC3_HOST)
        self.assertEqual('active', dest.properties['status'])
        with hmc.server().sim.lock:
            wwpns = [h.properties['wwpn'] for h in dest.hbas.list()]
        self.assertEqual(
            [wwpns], [a['connector']['wwpns']
                      for a in self.cinder.connected(dpm_cloud.BOOT_VOLUME)])
        self.assertEqual(
            [(CPC3_HOST, v) for v in (hmc.CPC3_VSWITCH_OSD_1,
                                      hmc.CPC3_VSWITCH_OSD_2)],
            [(p['binding:host_id'], p['binding:vif_details']['object_id'])
             for p in self._ports(server)])
        return dest

    def test_a_running_source_is_fenced_then_evacuated(self):
        service = self._source_down()
        since = hmc_controls().last_seq()
        server = self._evacuate()

        dest = self._assert_evacuated(server)
        self.assertEqual('stopped', self._status(server))
        self.assertEqual([f'{self.source.uri}/operations/stop'],
                         [p for p in self._requests_to(self.source, since)
                          if '/operations/' in p])
        # Never two partitions of the server active: the source's stop had
        # ended when the destination's start began.
        stopped = self._status_changes(self.source)[
            'Partition status changed from stopping to stopped.']
        starting = self._status_changes(dest)[
            'Partition status changed from stopped to starting.']
        self.assertLessEqual(stopped, starting)

        # The source runs again: it removes its own partition, only that;
        # then Nova lets the admin force it up.
        dest_props = dict(dest.properties)
        self.restart_compute_service(self.compute,
                                     keep_hypervisor_state=False)
        self.admin_api.put_service_force_down(service['id'], False)
        self.assertIsNone(self._partition(server))
        self.assertEqual(dest_props, dict(
            self._partition(server, host=CPC3_HOST).properties))
        self.assertEqual(
            'ACTIVE', self.api.get_server(server['id'])['status'])

    def test_a_stopped_source_gets_no_stop_request(self):
        """The partition stopped with its host (Nova, with the host down,
        does not know): the evacuation asks the HMC, stops nothing."""
        hmc_controls().set_properties(self.source.uri, status='stopped')
        self._source_down()
        since = hmc_controls().last_seq()
        self._assert_evacuated(self._evacuate())
        self.assertFalse([p for p in self._requests_to(self.source, since)
                          if '/operations/' in p])
        self.assertEqual('stopped', self._status(self.server))

    def test_a_source_cpc_not_answering_refuses_the_evacuation(self):
        self._source_down()
        hmc_controls().set_properties(CPC1_URI, status='not-communicating')
        # In nova's harness casts are calls: the API answers with the
        # destination's error.
        self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_server_action,
            self.server['id'], {'evacuate': {'host': CPC3_HOST}})
        server = self._wait_for_state_change(self.server, 'ERROR')
        message = server['fault']['message']
        self.assertIn(f'partition {self.source.name} may still run', message)
        self.assertIn("has status 'not-communicating'", message)
        self.assertEqual([], self._ours(CPC3_HOST)[0])
        self.assertEqual([], self._ours(CPC3_HOST, cpc_id=hmc.CPC_ID)[0])
        self.assertEqual('active', self._status(self.server))
