# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HMC or the Cloud Connector goes away in the middle of an operation,
through Nova: right after the partition or guest exists during a spawn,
and during a destroy.

The build ends in ERROR with the hypervisor's failure in its fault (the
delete completes); what the driver could not remove stays while the
hypervisor is away, and is gone after one run of Nova's resource audit
once it answers again, or at the next start of nova-compute.  The next
boot works.  Foreign partitions and guests, and another host's
partition, are untouched throughout (the clouds' own checks and ours).
"""

import re
import uuid

from nova_ibmz.hmc import naming
from nova_ibmz.sim.zvm import faults
from tests import connector
from tests.functional import dpm_cloud
from tests.functional import zvm_cloud
from tests import hmc

# The outage lasts until the test ends it.
FOREVER = 3600


class DPMOutageTest(dpm_cloud.DPMCloud):

    OTHER_HOST = 'dpm-subset-2'

    def setUp(self):
        # One repeat of a lost request, after 1 s, keeps these tests short.
        self.flags(hmc_retries=1, group='dpm')
        super().setUp()
        self.controls = dpm_cloud.hmc_controls()
        self.addCleanup(self.controls.call, 'DELETE', '/faults')
        # A partition of another compute host on the same CPC.
        self.other = str(uuid.uuid4())
        hmc.add_partition(self.OTHER_HOST, self.other, 'other-vm')
        self.addCleanup(self._assert_other_host_untouched)

    def _assert_other_host_untouched(self):
        part = hmc.find_partition(self.other, host=self.OTHER_HOST)
        self.assertEqual('active', part.properties['status'])

    def _outage_from(self, method, path):
        self.controls.fault(method=method, path=path, times=1,
                            outage_s=FOREVER)

    def _end_outage(self):
        self.controls.call('DELETE', '/faults')

    def _boot_fails_with_the_partition_left(self):
        self._outage_from('POST', r'/nics$')
        server = self._wait_for_state_change(self._boot(), 'ERROR')
        self.assertRegex(server['fault']['message'],
                         f'^Build of instance {server["id"]} aborted: '
                         r'HMC 127\.0\.0\.1:\d+: creating NIC '
                         r'OpenStack_Port_\S+ of OpenStack-dpm-subset-1-'
                         f'{server["id"]} failed: ')
        self.assertEqual(
            [naming.partition_name(dpm_cloud.HOST, server['id'])],
            self._ours()[0])
        return server

    def _next_boot_works(self):
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        self.assertEqual('active', self._status(server))
        self._delete_server(server)
        self.assertEqual(([], []), self._ours())

    def test_outage_in_spawn(self):
        server = self._boot_fails_with_the_partition_left()
        self._run_periodics()          # the HMC is still away: kept
        self.assertEqual(1, len(self._ours()[0]))
        self._end_outage()
        self._run_periodics()
        self.assertEqual(([], []), self._ours())
        self._delete_server(server)
        self._next_boot_works()

    def test_outage_in_spawn_then_restart(self):
        self._boot_fails_with_the_partition_left()
        self.compute.stop()
        self._end_outage()
        self.compute = self.restart_compute_service(
            self.compute, keep_hypervisor_state=False)
        self.assertEqual(([], []), self._ours())
        self._next_boot_works()

    def test_outage_in_destroy(self):
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        self._outage_from('POST', r'/operations/stop$')
        self._delete_server(server)        # Nova's delete completes
        self.assertEqual(1, len(self._ours()[0]))
        self._end_outage()
        self._run_periodics()
        self.assertEqual(([], []), self._ours())
        self._next_boot_works()

    def test_a_busy_hmc_ends_the_build_with_its_answer(self):
        """Create Partition runs in prepare_for_spawn, where any other
        error would reach the user as "Failure prepping block device": the
        HMC's busy answer, repeated [dpm] hmc_retries times, is the fault;
        the build is not rescheduled."""
        self.controls.fault(method='POST', path=r'/cpcs/[^/]+/partitions$',
                            status=409, reason=2, message='object busy')
        seq = self.controls.last_seq()
        server = self._wait_for_state_change(self._boot(), 'ERROR')
        self.assertEqual(
            f'Build of instance {server["id"]} aborted: HMC 127.0.0.1:'
            f'{hmc.server().port}: creating partition '
            f'{naming.partition_name(dpm_cloud.HOST, server["id"])} '
            f'refused: HTTP 409,2: object busy', server['fault']['message'])
        self.assertEqual(2, len([
            r for r in self.controls.requests(seq) if r['method'] == 'POST'
            and re.search(r'/partitions$', r['path'])]))
        self.assertEqual(([], []), self._ours())

    def test_a_boot_volume_for_another_hypervisor_is_refused(self):
        """The filters keep a z/VM volume off DPM hosts; an admin who forces
        the host gets the property named, and nothing is made."""
        volume = self.cinder.add_volume('zvm-root', 10, {
            'os_distro': 'rhel8.6', 'hypervisor_type': 'zvm'})
        server = self._build_server(
            networks=self._networks(*dpm_cloud.NETWORKS),
            flavor_id=self._dpm_flavor(), az=f'nova:{dpm_cloud.HOST}',
            image_uuid='')      # none: nova's helper would ask for one
        server.pop('imageRef')
        server['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': volume, 'source_type': 'volume',
            'destination_type': 'volume'}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': server}), 'ERROR')
        self.assertIn("image property hypervisor_type is 'zvm'",
                      server['fault']['message'])
        self.assertEqual(([], []), self._ours())


class ZVMOutageTest(zvm_cloud.ZVMCloud):

    def setUp(self):
        # One repeat of a lost request, after 1 s, keeps these tests short.
        self.flags(connector_retries=1, group='zvm')
        super().setUp()
        self.addCleanup(self._end_outage)

    def _outage_from(self, method, path):
        with self.sim.model.lock:
            self.sim.model.faults.add(faults.parse_rule({
                'method': method, 'path': path, 'times': 1,
                'outage_s': FOREVER}))

    def _end_outage(self):
        with self.sim.model.lock:
            self.sim.model.faults.clear()

    def _ours(self):
        """The guests of the directory that are not the foreign ones."""
        foreign = {userid for userid, _, _ in zvm_cloud.FOREIGN}
        with self.sim.model.lock:
            return sorted(set(self.sim.model.guests) - foreign)

    def _boot_fails_with_the_guest_left(self):
        self._outage_from('POST', r'^/guests/[^/]+/action$')    # deploy
        server = self._create_server(
            image_uuid=self.image, flavor_id=self.flavor, host='zvm-1',
            networks=self._networks(),
            expected_state='ERROR')
        userid = server['OS-EXT-SRV-ATTR:instance_name'].upper()
        self.assertRegex(server['fault']['message'],
                         f'^Build of instance {server["id"]} aborted: '
                         r'http://127\.0\.0\.1:\d+: POST '
                         f'/guests/{userid}/action failed: ')
        self.assertEqual([userid], self._ours())
        return server

    def _next_boot_works(self):
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        self._delete_server(server)
        self._assert_nothing_left()

    def test_outage_in_spawn(self):
        server = self._boot_fails_with_the_guest_left()
        self._run_periodics()          # the connector is still away: kept
        self.assertEqual(1, len(self._ours()))
        self._end_outage()
        self._run_periodics()
        self._assert_nothing_left()
        self._delete_server(server)
        self._next_boot_works()

    def test_outage_in_spawn_then_restart(self):
        self._boot_fails_with_the_guest_left()
        compute = self.computes['zvm-1']
        compute.stop()
        self._end_outage()
        # A new driver, with zvm-1's configuration.
        self.flags(group='zvm', cloud_connector_url=self.sim.url,
                   image_tmp_path=str(connector.COMPUTE_TMP / 'zvm-1'))
        self.restart_compute_service(compute, keep_hypervisor_state=False)
        self._assert_nothing_left()
        self._next_boot_works()

    def test_outage_in_destroy(self):
        server = self._wait_for_state_change(self._boot(), 'ACTIVE')
        self._outage_from('DELETE', r'^/guests/OS[0-9A-F]+$')
        self._delete_server(server)        # Nova's delete completes
        self.assertEqual(1, len(self._ours()))
        self._end_outage()
        self._run_periodics()
        self._assert_nothing_left()
        self._next_boot_works()

    def test_a_busy_connector_ends_the_build_with_its_answer(self):
        """HTTP 503 at every POST /guests, repeated [zvm] connector_retries
        times: the connector's answer is the fault, and the build is not
        rescheduled to the other member."""
        with self.sim.model.lock:
            self.sim.model.faults.add(faults.parse_rule({
                'method': 'POST', 'path': r'^/guests$', 'status': 503,
                'errmsg': 'too many deploys'}))
        seqs = [max([r['seq'] for r in sim.log.since()], default=0)
                for sim in self._connectors()]
        server = self._create_server(
            image_uuid=self.image, flavor_id=self.flavor, host='zvm-1',
            networks=self._networks(),
            expected_state='ERROR')
        self.assertEqual(
            f'Build of instance {server["id"]} aborted: POST /guests: HTTP '
            f'503, overallRC 503 rc 503 rs 1 modID 120: too many deploys',
            server['fault']['message'])
        self.assertEqual([2, 0], [
            len([r for r in sim.log.since(seq) if r['method'] == 'POST' and
                 r['path'] == '/guests'])
            for sim, seq in zip(self._connectors(), seqs)])
        self.assertEqual([], self._ours())

    def test_an_image_for_another_hypervisor_is_refused(self):
        """The filters keep a DPM image off z/VM hosts; an admin who forces
        the host gets the property named, and nothing is made."""
        seq = max([r['seq'] for r in self.sim.log.since()], default=0)
        image = self.glance.create('dpm-image', bytes(1024),
                                   hypervisor_type='prsm',
                                   architecture='s390x')
        server = self._create_server(
            image_uuid=image, flavor_id=self.flavor, az='nova:zvm-1',
            networks=self._networks(),
            expected_state='ERROR')
        self.assertIn("image property hypervisor_type is 'prsm'",
                      server['fault']['message'])
        self.assertEqual([], self._ours())
        self.assertFalse([r for r in self.sim.log.since(seq)
                          if re.match(r'^/guests$|^/images', r['path']) and
                          r['method'] == 'POST'])
