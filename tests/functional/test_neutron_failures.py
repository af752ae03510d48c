# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What goes wrong between Nova, Neutron and a host's network agent, for
each driver, through Nova's API with the real neutron-server and agents
(tests/functional/neutron.py):

- the agent of the host is down: the build ends after
  [DEFAULT] vif_plugging_timeout with a fault naming the ports, and
  nothing is left on the HMC or the Cloud Connector;
- a port on a physical network the host's agent does not map: ML2 cannot
  bind it (binding_failed), the build ends with a fault naming the port,
  nothing is made;
- the agent restarts while servers run: their ports stay ACTIVE, Nova
  hears of no unplugged port, nothing on the hypervisor changes;
- a NIC removed behind OpenStack's back: its port goes DOWN and Nova hears
  network-vif-unplugged.
"""

from nova_ibmz.hmc import naming
from tests.functional import dpm_cloud
from tests.functional import neutron
from tests.functional import zvm_cloud
from tests import connector
from tests import hmc
from tests import hmcsim

# Long enough for a boot on the simulators, short for a test that waits
# for it to pass.
VIF_PLUGGING_TIMEOUT = 5


class NeutronFailures:
    """The tests, mixed into a cloud that gives: HOST, the compute host
    they boot on; _boot_on(network), a server on it (posted);
    _hypervisor_state(), what the hypervisor holds of this host's
    instances; _remove_nic(server), its NIC deleted as an operator would,
    on the HMC or through the Cloud Connector."""

    def _until(self, check):
        """check() once it passes (nova's _wait_for_assert: its
        AssertionError again while it fails), for up to 30 s."""
        return self._wait_for_assert(check, max_retries=300, sleep=0.1)

    def _ports_while_building(self, server):
        """The ids of the server's ports, read while Nova builds it (a
        failed build deletes them)."""
        def ports():
            ports = self.neutron.ports(device_id=server['id'])
            self.assertNotEqual([], ports, 'the server got no port')
            return sorted(p['id'] for p in ports)
        return self._until(ports)

    def test_the_agent_of_the_host_down_fails_the_build(self):
        self.flags(vif_plugging_timeout=VIF_PLUGGING_TIMEOUT)
        # Gone a moment ago: Neutron still takes it for alive and binds
        # ports with its mappings.
        self.neutron.restart(
            hosts=[h for h in neutron.HOSTS if h != self.HOST],
            options={'DEFAULT': {'agent_down_time': '3600'}})
        server = self._boot_on(neutron.NET_1)
        ports = self._ports_while_building(server)
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertEqual(
            f'Build of instance {server["id"]} aborted: Instance '
            f'{server["id"]}: the network agent of host {self.HOST} '
            f'reported no port up within {VIF_PLUGGING_TIMEOUT} s '
            f'([DEFAULT] vif_plugging_timeout): {", ".join(ports)}',
            server['fault']['message'])
        self.assertEqual(self.empty, self._hypervisor_state())
        self.assertEqual([], self.neutron.ports(device_id=server['id']))

    def test_a_port_on_a_physical_network_not_mapped_fails_the_build(self):
        server = self._boot_on(neutron.UNMAPPED)
        ports = self._ports_while_building(server)
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertEqual(
            f'Build of instance {server["id"]} aborted: Instance '
            f'{server["id"]}: Neutron could not bind port {ports[0]} to host '
            f"{self.HOST} (binding_failed): is its physnet in the agent's "
            f"mappings?", server['fault']['message'])
        self.assertEqual(self.empty, self._hypervisor_state())
        log = neutron.server().log()
        self.assertIn(f'Failed to bind port {ports[0]} on host {self.HOST}',
                      log)

    def test_the_agent_restarted_keeps_the_ports_active(self):
        server = self._wait_for_state_change(self._boot_on(neutron.NET_1),
                                             'ACTIVE')
        [port] = self.neutron.ports(device_id=server['id'])
        self.assertEqual('ACTIVE', port['status'])
        before = self._hypervisor_state()
        started = self.neutron.agent(self.HOST)['started_at']
        self.neutron.events.clear()
        self.neutron.restart(options={'DEFAULT': {'agent_down_time': '75'}})

        # Up again once the new agent reported the port's device up.
        def reported():
            agent = self.neutron.agent(self.HOST)
            self.assertIsNotNone(agent)
            self.assertNotEqual(started, agent['started_at'])
            self.assertEqual(1, agent['configurations']['devices'])
        self._until(reported)
        self.assertEqual('ACTIVE',
                         self.neutron.ports(id=port['id'])[0]['status'])
        self.assertNotIn(('network-vif-unplugged', port['id'], 'completed'),
                         self.neutron.events)
        self.assertEqual(before, self._hypervisor_state())
        self.assertEqual('ACTIVE', self._show_server(server)['status'])

    def test_a_nic_removed_behind_openstacks_back_turns_its_port_down(self):
        server = self._wait_for_state_change(self._boot_on(neutron.NET_1),
                                             'ACTIVE')
        [port] = self.neutron.ports(device_id=server['id'])
        self._remove_nic(server)
        self._until(lambda: self.assertEqual(
            'DOWN', self.neutron.ports(id=port['id'])[0]['status']))
        self._until(lambda: self.assertIn(
            ('network-vif-unplugged', port['id'], 'completed'),
            self.neutron.events))
        self._delete_server(server)
        self.assertEqual(self.empty, self._hypervisor_state())


class DPMNeutronFailuresTest(NeutronFailures, dpm_cloud.DPMCloud):

    HOST = dpm_cloud.HOST

    def setUp(self):
        super().setUp()
        self.empty = ([], [])

    def _boot_on(self, network):
        return self._boot(networks=(network,))

    def _hypervisor_state(self):
        """This host's partitions and every NIC and HBA of the HMC."""
        return self._ours()

    def _remove_nic(self, server):
        session = hmcsim.session(hmc.server())
        self.addCleanup(session.logoff)
        partition = hmcsim.cpc(session).partitions.find(
            name=naming.partition_name(self.HOST, server['id']))
        [nic] = partition.nics.list()
        nic.delete()


class ZVMNeutronFailuresTest(NeutronFailures, zvm_cloud.ZVMCloud):

    HOST = 'zvm-1'

    def setUp(self):
        super().setUp()
        self.empty = {}

    def _boot_on(self, network):
        body = self._build_server(image_uuid=self.image,
                                  flavor_id=self.flavor,
                                  networks=self._networks(network))
        body['host'] = self.HOST
        return self.api.post_server({'server': body})

    def _hypervisor_state(self):
        """The guests of OpenStack's instances: their NICs and grants."""
        with self.sim.model.lock:
            model = self.sim.model
            foreign = {u for u, _, _ in zvm_cloud.FOREIGN}
            return {userid: (sorted(guest.nics),
                             {n: v.grants[userid]
                              for n, v in model.vswitches.items()
                              if userid in v.grants})
                    for userid, guest in model.guests.items()
                    if userid not in foreign}

    def _remove_nic(self, server):
        guest = self._guest(server)
        [vdev] = guest.nics
        connector.client(connector.server().url).delete(
            f'/guests/{guest.userid}/nic/{vdev}', {'active': True})
