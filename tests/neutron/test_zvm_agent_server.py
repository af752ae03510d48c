# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-zvm-agent end to end: a thread of the real neutron-server
process (its agent hook), on the Cloud Connector simulator served by this
test process, with a stub of Nova's API receiving the port events.  Ports
are made through openstacksdk as Nova makes them for an instance; guests
and NICs through the connector's REST API as each Nova driver makes them
(test_zvm_agent.py).  Foreign guests share the z/VM system throughout."""

import uuid

import openstack
import pytest

from nova_ibmz.connector import client
from nova_ibmz.sandbox import neutron as launcher
from tests.neutron import test_zvm_agent as guests
from tests.neutron.test_zvm_agent_start import wait_until
from tests import stub_nova
from tests import zvm_agent_config
from tests import zvmsim

HOST = 'zvm-compute-1'
PROJECT = 'project-1'


def wait_for_status(sdk, port, status):
    wait_until(lambda: sdk.network.get_port(port.id).status == status,
               f'port {port.id} {status}')


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    with zvmsim.serve(tmp_path_factory.mktemp('zvm-sim')) as servers:
        yield servers[0]


@pytest.fixture(scope='module')
def connector(sim):
    return client.CloudConnector(sim.url, admin_token=zvmsim.ADMIN_TOKEN,
                                 timeout=10, backoff=0.01)


@pytest.fixture(scope='module')
def controls(sim):
    return zvmsim.Controls(sim)


@pytest.fixture(scope='module')
def nova():
    with stub_nova.serve() as stub:
        yield stub


@pytest.fixture(scope='module')
def server(tmp_path_factory, sim, nova):
    """neutron-server with the z/VM agent of HOST as a thread."""
    state_dir = tmp_path_factory.mktemp('neutron-zvm')
    config = launcher.write_config(
        state_dir / 'neutron.conf', state_dir,
        physical_networks=('physnet1', 'physnet2'), nova_url=nova.endpoint,
        nova_token='stub-admin-token',
        agents=[zvm_agent_config.write(state_dir / 'zvm-agent.ini', sim.url,
                                       HOST, token=zvmsim.ADMIN_TOKEN)])
    with launcher.NeutronServer(config) as running:
        yield running


@pytest.fixture(scope='module')
def sdk(server):
    return openstack.connection.Connection(
        auth_type='none', network_endpoint_override=server.url)


@pytest.fixture(scope='module')
def vlan_network(sdk):
    network = sdk.network.create_network(
        name='vlan-100', project_id=PROJECT, provider_network_type='vlan',
        provider_physical_network='physnet1', provider_segmentation_id=100)
    sdk.network.create_subnet(network_id=network.id, project_id=PROJECT,
                              cidr='192.0.2.0/24', ip_version=4)
    return network


@pytest.fixture(scope='module', autouse=True)
def foreign(sim, connector, controls):
    guests.add_foreign(sim, connector)
    return guests.state(controls, guests.FOREIGN)


@pytest.fixture(autouse=True)
def foreign_unchanged(foreign, controls):
    yield
    assert guests.state(controls, guests.FOREIGN) == foreign


def instance_port(sdk, network, host=HOST):
    """A port as Nova makes one for an instance on host."""
    return sdk.network.create_port(
        network_id=network.id, project_id=PROJECT, binding_host_id=host,
        device_owner='compute:nova', device_id=str(uuid.uuid4()))


def test_the_agent_is_alive_with_its_mappings(sdk):
    # Its first report comes from its loop's thread, after the server
    # serves.
    wait_until(lambda: list(sdk.network.agents(host=HOST)), 'its report')
    [agent] = sdk.network.agents(host=HOST)
    assert (agent.agent_type, agent.binary, agent.is_alive) == (
        'z/VM agent', 'neutron-ibmz-zvm-agent', True)
    assert agent.configuration['vswitch_mappings'] == {
        'physnet1': 'VSWITCH1', 'physnet2': 'XCATVSW2'}


def test_an_in_tree_guest_port_is_active_once_coupled_and_down_when_its_nic_goes(  # noqa: E501
        sdk, vlan_network, connector, controls, nova):
    port = instance_port(sdk, vlan_network)
    assert (port.status, port.binding_vif_type,
            port.binding_vif_details['vswitch'],
            port.binding_vif_details['vlan']) == ('DOWN', 'zvm', 'VSWITCH1',
                                                  100)
    [vdev] = guests.in_tree_guest(connector, 'OS000011', [port.id])
    plugged = nova.wait_for('network-vif-plugged', port.id)
    assert plugged['server_uuid'] == port.device_id
    assert sdk.network.get_port(port.id).status == 'ACTIVE'
    [guest], grants = guests.state(controls, ['OS000011'])
    assert (guest['nics'][vdev]['vswitch'],
            guest['nics'][vdev]['vlan_id']) == ('VSWITCH1', 100)
    assert grants['VSWITCH1'] == {'OS000011': 100}

    connector.delete(f'/guests/OS000011/nic/{vdev}', {'active': False})
    wait_for_status(sdk, port, 'DOWN')
    assert nova.wait_for('network-vif-unplugged', port.id)


def test_a_port_of_our_driver_is_active_and_nothing_changes(
        sdk, vlan_network, connector, controls, nova):
    port = instance_port(sdk, vlan_network)
    guests.our_guest(connector, 'OS000012', port.id, vlan=100)
    before = guests.state(controls, ['OS000012'])
    seq = controls.last_seq()
    assert nova.wait_for('network-vif-plugged', port.id)
    assert sdk.network.get_port(port.id).status == 'ACTIVE'
    assert guests.state(controls, ['OS000012']) == before
    assert {c for c in guests.calls(controls, seq)} <= {
        ('GET', '/guests/nics'), ('GET', '/guests/OS000012/user_direct')}


def test_a_nic_whose_port_is_bound_elsewhere_is_left_alone(
        sdk, vlan_network, connector, controls):
    """A port of another host's instance (no agent there: binding
    failed) that an in-tree guest's NIC names: never coupled, never up."""
    port = instance_port(sdk, vlan_network, host='zvm-compute-2')
    guests.in_tree_guest(connector, 'OS000013', [port.id])
    before = guests.state(controls, ['OS000013'])
    # An in-tree guest of this host made later comes up: the agent has
    # been round more than once meanwhile.
    later = instance_port(sdk, vlan_network)
    guests.in_tree_guest(connector, 'OS000014', [later.id])
    wait_for_status(sdk, later, 'ACTIVE')
    # Two more looks: the port bound elsewhere had its chances.
    seq = controls.last_seq()
    wait_until(lambda: guests.calls(controls, seq).count(
        ('GET', '/guests/nics')) >= 2, 'two more looks at the NICs')
    assert sdk.network.get_port(port.id).status == 'DOWN'
    assert guests.state(controls, ['OS000013']) == before
