# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-dpm-agent end to end: a real neutron-server process
(nova_ibmz.neutron.server) runs the agent as a thread (its agent hook),
the agent reads the HMC simulator this test process serves over HTTPS,
a stub of Nova's API records the port events Neutron sends, and the test
drives Neutron through openstacksdk and the HMC as the DPM driver would,
with zhmcclient."""

import pathlib
import time
import uuid

import openstack
import pytest

from nova_ibmz.hmc import naming
from nova_ibmz.sandbox import neutron as launcher
from tests.neutron import dpm_hmc
from tests.neutron.dpm_hmc import HIPERSOCKET
from tests.neutron.dpm_hmc import HOST
from tests.neutron.dpm_hmc import OSD_1
from tests.neutron.dpm_hmc import VSWITCH
from tests import stub_nova

REPO = pathlib.Path(__file__).resolve().parents[2]
PROJECT = 'project-1'
AGENT = 'nova_ibmz.neutron.dpm.agent:server_agent'


class Cloud:
    def __init__(self, sdk, nova, hypervisor):
        self.sdk = sdk
        self.nova = nova
        self.hypervisor = hypervisor
        self.networks = {}


@pytest.fixture(scope='module')
def cloud(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp('dpm-agent-server')
    dpm_hmc.reset()
    agent_config = dpm_hmc.write_config(
        state_dir / 'dpm-agent.ini',
        mappings=[f'physnet1:{OSD_1}', f'physnet2:{HIPERSOCKET}'])
    hypervisor = dpm_hmc.Hypervisor()
    with stub_nova.serve() as nova:
        config = launcher.write_config(
            state_dir / 'neutron.conf', state_dir,
            physical_networks=('physnet1', 'physnet2', 'physnet3'),
            nova_url=nova.endpoint, nova_token='stub-admin-token',
            agents=[(AGENT, str(agent_config))])
        with launcher.NeutronServer(
                config, env={'PYTHONPATH': str(REPO)}) as server:
            sdk = openstack.connection.Connection(
                auth_type='none', network_endpoint_override=server.url)
            made = Cloud(sdk, nova, hypervisor)
            for physnet in ('physnet1', 'physnet2'):
                made.networks[physnet] = sdk.network.create_network(
                    name=f'vlan-{physnet}', project_id=PROJECT,
                    provider_network_type='vlan',
                    provider_physical_network=physnet,
                    provider_segmentation_id=200)
            yield made
    hypervisor.close()


def server_port(cloud, physnet='physnet1'):
    """A port bound to HOST for a new server, as Nova makes it."""
    return cloud.sdk.network.create_port(
        network_id=cloud.networks[physnet].id, project_id=PROJECT,
        binding_host_id=HOST, device_owner='compute:nova',
        device_id=str(uuid.uuid4()))


def nic_for(cloud, partition, port, host=HOST):
    """The NIC the DPM driver makes for a port (nova_ibmz.dpm.network)."""
    return partition.nics.create({
        'name': naming.nic_name(port.id),
        'description': naming.nic_description(host, port.mac_address),
        'virtual-switch-uri':
            f'/api/virtual-switches/{port.binding_vif_details["object_id"]}',
    })


def polls_after(seq):
    return sum(1 for e in dpm_hmc.server().log.since(seq)
               if e['path'].endswith('/get-connected-vnics'))


def wait_for_status(cloud, port, status):
    """Wait (up to a minute) for the port's status."""
    deadline = time.monotonic() + 60
    while cloud.sdk.network.get_port(port.id).status != status:
        assert time.monotonic() < deadline, \
            f'port {port.id} never {status}'
        time.sleep(0.1)


def test_the_agent_is_alive_with_its_translated_mapping(cloud):
    [agent] = cloud.sdk.network.agents(host=HOST)
    assert (agent.agent_type, agent.binary, agent.is_alive) == (
        'DPM agent', 'neutron-ibmz-dpm-agent', True)
    assert agent.configuration['adapter_mappings'] == {
        'physnet1': [VSWITCH[OSD_1]], 'physnet2': [VSWITCH[HIPERSOCKET]]}
    assert isinstance(agent.configuration['devices'], int)


@pytest.mark.parametrize('physnet, adapter', [('physnet1', OSD_1),
                                              ('physnet2', HIPERSOCKET)])
def test_a_port_binds_to_the_virtual_switch_of_its_physnet(cloud, physnet,
                                                           adapter):
    port = server_port(cloud, physnet)
    assert port.binding_vif_type == 'dpm_vswitch'
    assert (port.binding_vif_details['object_id'],
            port.binding_vif_details['vlan']) == (VSWITCH[adapter], 200)
    assert cloud.sdk.network.get_port(port.id).status == 'DOWN'


def test_the_nic_turns_the_port_active_and_its_removal_down(cloud):
    port = server_port(cloud)
    hypervisor = cloud.hypervisor
    # Not ours, though carrying the port's MAC or sitting on its virtual
    # switch: another subset's NIC and another workload's.
    nic_for(cloud, hypervisor.partition('dpm-subset-2'), port,
            host='dpm-subset-2')
    hypervisor.nic(hypervisor.foreign(), OSD_1, None,
                   description=f'Production mac={port.mac_address}')
    seq = dpm_hmc.server().log.since()[-1]['seq']
    deadline = time.monotonic() + 60
    while polls_after(seq) < 2 * 2:     # two polls of both switches
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert cloud.sdk.network.get_port(port.id).status == 'DOWN'

    partition = hypervisor.partition()
    nic = nic_for(cloud, partition, port)
    wait_for_status(cloud, port, 'ACTIVE')
    plugged = cloud.nova.wait_for('network-vif-plugged', port.id)
    assert (plugged['server_uuid'], plugged['status']) == (
        port.device_id, 'completed')

    nic.delete()    # behind OpenStack's back
    wait_for_status(cloud, port, 'DOWN')
    assert cloud.nova.wait_for('network-vif-unplugged', port.id)
    [agent] = cloud.sdk.network.agents(host=HOST)
    assert agent.is_alive
    # Only the test wrote to the HMC.
    assert dpm_hmc.writes(seq) == [
        ('POST', f'/api/cpcs/{dpm_hmc.CPC_ID}/partitions'),
        ('POST', f'{partition.uri}/nics'), ('DELETE', nic.uri)]
