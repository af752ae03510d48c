# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's in-tree z/VM driver (compute_driver = zvm.ZVMDriver) boots in a
cloud with our Neutron agent, as it did with networking-zvm's.

Nova runs in this process on the Cloud Connector simulator (tests/
nova_zvm.py); a real neutron-server runs in a process of its own with the
ibmz_zvm mechanism driver and neutron-ibmz-zvm-agent as its thread, on the
same simulator over HTTP (nova_ibmz/sandbox/networking.py).  The in-tree
driver makes the guest's NIC, then waits for network-vif-plugged before it
logs the guest on; it never grants the guest on a vswitch nor couples the
NIC.  The agent does both, reports the port up, and Neutron posts the
event to Nova's API over HTTP.  Glance is real too (tests/functional/
glance.py).  Guests of other workloads share the z/VM system and end as
they began.
"""

import os
import pathlib
import sys
import uuid

import fixtures
from nova.tests.functional import integrated_helpers
import webob.dec  # noqa: F401  (nova.api.wsgi uses it without importing)
from nova.api import wsgi as nova_wsgi  # noqa: I100

from nova_ibmz.sandbox import networking
from nova_ibmz.sim.zvm import model as zmodel
from tests.functional import glance
from tests import nova_zvm
from tests import zvm_agent_config
from tests import zvmsim

HOST = 'zvm-compute-1'
# Defined by another workload (in the directory only), and one the
# connector manages that is no instance of Nova's.
FOREIGN = ('PRODDB1', 'LINUXA1')


class InTreeZVMWithAgentTest(glance.OnGlance,
                             integrated_helpers._IntegratedTestBase):

    ADMIN_API = True
    microversion = 'latest'

    def setUp(self):
        self.sim = nova_zvm.reset()
        for userid, managed in (('PRODDB1', False), ('LINUXA1', True)):
            zvmsim.add_guest(self.sim.model, userid, state='on',
                             managed=managed)
            # An uncoupled NIC that names a port, as the in-tree driver's.
            with self.sim.model.lock:
                self.sim.model.guests[userid].nics['1000'] = zmodel.Nic(
                    '1000', '02:00:0b:00:00:99', str(uuid.uuid4()))
        self.foreign = self._foreign_state()
        self.flags(compute_driver='zvm.ZVMDriver')
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self.stub_out('nova.virt.configdrive.ConfigDriveBuilder.make_drive',
                      nova_zvm.write_config_drive)
        # As in test_nova_zvm.py: nova 34's compute refuses to start on a
        # driver without list_instance_uuids(), which nova.virt.zvm lacks.
        self.stub_out('nova.virt.zvm.driver.ZVMDriver.list_instance_uuids',
                      lambda driver: [])
        super().setUp()
        nova_zvm.configure()
        state_dir = pathlib.Path(self.useFixture(fixtures.TempDir()).path)
        events = self.useFixture(networking.NovaEvents(
            lambda: networking.admin_caller(nova_wsgi.Loader().load_app(
                'osapi_compute'), 'admin')))
        # The agent of this compute host, on the simulator (auth none).
        agent = zvm_agent_config.write(
            state_dir / 'zvm-agent.ini', self.sim.url, HOST,
            mappings='physnet1:VSWITCH1', template=nova_zvm.NAME_TEMPLATE)
        self.neutron = self.useFixture(networking.RealNeutron(
            self, state_dir, events.url, {HOST: agent},
            physical_networks=('physnet1',)))

    def _setup_compute_service(self):
        nova_zvm.configure()
        return self._start_compute(HOST)

    def _foreign_state(self):
        with self.sim.model.lock:
            return {u: repr(self.sim.model.guests[u]) for u in FOREIGN}, {
                v.name: {u: vlan for u, vlan in v.grants.items()
                         if u in FOREIGN}
                for v in self.sim.model.vswitches.values()}

    def _guest(self, server):
        userid = server['OS-EXT-SRV-ATTR:instance_name'].upper()
        with self.sim.model.lock:
            return self.sim.model.guests.get(userid)

    def _network(self):
        network = self.neutron.request('POST', '/networks', {'network': {
            'name': 'vlan-100', 'project_id': self.api.project_id,
            'provider:network_type': 'vlan',
            'provider:physical_network': 'physnet1',
            'provider:segmentation_id': 100}})['network']
        self.neutron.request('POST', '/subnets', {'subnet': {
            'network_id': network['id'], 'cidr': '192.0.2.0/24',
            'ip_version': 4, 'project_id': self.api.project_id}})
        return network

    def test_boots_once_the_agent_coupled_its_nic(self):
        network = self._network()
        flavor = self._create_flavor(vcpu=1, memory_mb=1024, disk=5)
        server = self._create_server(
            image_uuid=self.glance.zvm_image(), flavor_id=flavor,
            networks=[{'uuid': network['id']}], expected_state='BUILD')
        # The agent looks every second and Neutron sends its events every
        # two: longer than the harness's usual wait of five seconds.
        server = self._wait_for_state_change(server, 'ACTIVE',
                                             max_retries=240)

        [port] = self.neutron.ports(device_id=server['id'])
        self.assertEqual(
            ('ACTIVE', HOST, 'zvm', 'VSWITCH1', 100),
            (port['status'], port['binding:host_id'],
             port['binding:vif_type'], port['binding:vif_details']['vswitch'],
             port['binding:vif_details']['vlan']))
        guest = self._guest(server)
        [nic] = guest.nics.values()
        self.assertEqual((port['id'], 'VSWITCH1', 100, 'on'),
                         (nic.nic_id, nic.vswitch, nic.vlan_id, guest.state))
        with self.sim.model.lock:
            self.assertEqual(
                100, self.sim.model.vswitches['VSWITCH1'].grants[
                    guest.userid])
        # The grant and the couple were the agent's: the in-tree driver
        # sends neither.
        calls = [(r['method'], r['path']) for r in self.sim.log.since()]
        self.assertIn(('PUT', '/vswitches/VSWITCH1'), calls)
        self.assertIn(('PUT', f'/guests/{guest.userid}/nic/{nic.vdev}'),
                      calls)

        self._delete_server(server)
        self.assertIsNone(self._guest(server))
        self.assertEqual(self.foreign, self._foreign_state())
