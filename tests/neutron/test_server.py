# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The real neutron-server (nova_ibmz.neutron.server) through real
clients: openstacksdk for networks, subnets and ports, the API's binding
attributes as Nova reads them, fake agents of several hosts running in
the server's process (its agent hook), and a stub Nova receiving port
events.  See conftest.py for the agents' hosts and mappings."""

import time
import uuid

import openstack
import pytest

from tests.neutron.conftest import AGENTS

PROJECT = 'project-1'


@pytest.fixture(scope='module')
def sdk(neutron):
    return openstack.connection.Connection(
        auth_type='none', network_endpoint_override=neutron.url)


@pytest.fixture(scope='module')
def networks(sdk):
    """{name: network}: flat and VLAN provider networks on each physnet,
    each with a subnet."""
    made = {}
    for number, physnet in enumerate(('physnet1', 'physnet2', 'physnet3')):
        made[f'flat-{physnet}'] = sdk.network.create_network(
            name=f'flat-{physnet}', project_id=PROJECT,
            provider_network_type='flat',
            provider_physical_network=physnet)
        made[f'vlan-{physnet}'] = sdk.network.create_network(
            name=f'vlan-{physnet}', project_id=PROJECT,
            provider_network_type='vlan', provider_physical_network=physnet,
            provider_segmentation_id=100 + number)
    for number, network in enumerate(made.values()):
        sdk.network.create_subnet(network_id=network.id, project_id=PROJECT,
                                  cidr=f'10.0.{number}.0/24', ip_version=4)
    return made


def bind(sdk, network, host, **attrs):
    """A port on network bound to host, as Nova creates or updates one
    when it builds a server there."""
    return sdk.network.create_port(network_id=network.id, project_id=PROJECT,
                                   binding_host_id=host, **attrs)


def test_provider_networks_subnets_and_ports_through_openstacksdk(
        sdk, networks):
    vlan = sdk.network.get_network(networks['vlan-physnet2'].id)
    assert (vlan.provider_network_type, vlan.provider_physical_network,
            vlan.provider_segmentation_id) == ('vlan', 'physnet2', 101)
    flat = sdk.network.get_network(networks['flat-physnet1'].id)
    assert (flat.provider_network_type,
            flat.provider_physical_network) == ('flat', 'physnet1')
    [subnet] = sdk.network.subnets(network_id=vlan.id)
    assert subnet.cidr == '10.0.3.0/24'
    port = sdk.network.create_port(network_id=vlan.id, project_id=PROJECT)
    port = sdk.network.get_port(port.id)
    assert port.status == 'DOWN'
    assert port.binding_vif_type == 'unbound'
    assert [ip['subnet_id'] for ip in port.fixed_ips] == [subnet.id]
    assert port.id in {p.id for p in sdk.network.ports(network_id=vlan.id)}


def test_the_agents_hook_runs_agents_of_several_hosts(sdk, neutron):
    agents = {a.host: a for a in sdk.network.agents()}
    assert set(agents) == set(AGENTS)
    for host, (kind, binary, configurations, _) in AGENTS.items():
        assert (agents[host].agent_type, agents[host].binary,
                agents[host].configuration) == (kind, binary, configurations)
    assert agents['dpm-subset-1'].is_alive


def test_dpm_binds_to_the_virtual_switch_with_the_vlan(sdk, networks):
    port = bind(sdk, networks['vlan-physnet1'], 'dpm-subset-1')
    assert port.binding_vif_type == 'dpm_vswitch'
    assert port.binding_vif_details == {
        'object_id': 'vswitch-oid-1', 'vlan': 100, 'port_filter': False,
        'connectivity': 'l2', 'bound_drivers': {'0': 'ibmz_dpm'}}
    port = bind(sdk, networks['flat-physnet2'], 'dpm-subset-1')
    assert port.binding_vif_type == 'dpm_vswitch'
    assert port.binding_vif_details['object_id'] == 'vswitch-oid-2'
    assert 'vlan' not in port.binding_vif_details


def test_dpm_without_virtual_switches_binds_to_the_network_port(
        sdk, networks):
    port = bind(sdk, networks['vlan-physnet1'], 'dpm-z17')
    assert port.binding_vif_type == 'dpm_vswitch'
    details = port.binding_vif_details
    assert (details['network_adapter_port_uri'], details['adapter_port'],
            details['vlan']) == ('/api/adapters/nx-1/network-ports/1', 1, 100)
    assert 'object_id' not in details


def test_zvm_binds_to_the_vswitch_with_the_vlan(sdk, networks):
    port = bind(sdk, networks['vlan-physnet2'], 'zvm-1')
    assert port.binding_vif_type == 'zvm'
    assert (port.binding_vif_details['vswitch'],
            port.binding_vif_details['vlan']) == ('VSW2', 101)
    port = bind(sdk, networks['flat-physnet1'], 'zvm-1')
    assert port.binding_vif_details['vswitch'] == 'VSW1'
    assert 'vlan' not in port.binding_vif_details


@pytest.mark.parametrize('host', ['dpm-subset-1', 'dpm-z17', 'zvm-1'])
def test_a_physical_network_the_agent_does_not_map_fails(sdk, networks,
                                                         host):
    for name in ('flat-physnet3', 'vlan-physnet3'):
        port = bind(sdk, networks[name], host)
        assert port.binding_vif_type == 'binding_failed', name
    if host == 'dpm-z17':   # it maps only physnet1
        port = bind(sdk, networks['vlan-physnet2'], host)
        assert port.binding_vif_type == 'binding_failed'


def test_a_host_without_an_agent_fails(sdk, networks):
    port = bind(sdk, networks['vlan-physnet1'], 'no-agent-here')
    assert port.binding_vif_type == 'binding_failed'


def test_a_host_whose_agent_is_dead_fails(sdk, networks, neutron):
    [agent] = sdk.network.agents(host='dpm-gone')
    deadline = time.monotonic() + 120
    while sdk.network.get_agent(agent.id).is_alive:
        assert time.monotonic() < deadline, 'the agent never went down'
        time.sleep(1)
    port = bind(sdk, networks['vlan-physnet1'], 'dpm-gone')
    assert port.binding_vif_type == 'binding_failed'
    # The same mapping on a live agent binds.
    port = bind(sdk, networks['vlan-physnet1'], 'dpm-subset-1')
    assert port.binding_vif_type == 'dpm_vswitch'


@pytest.mark.parametrize('host', ['dpm-subset-1', 'zvm-1'])
def test_a_port_going_active_is_notified_to_nova(sdk, networks, neutron,
                                                 host):
    server = str(uuid.uuid4())
    port = bind(sdk, networks['vlan-physnet1'], host,
                device_owner='compute:nova', device_id=server)
    assert sdk.network.get_port(port.id).status == 'DOWN'
    neutron.device_up(host, port.id)
    event = neutron.nova.wait_for('network-vif-plugged', port.id)
    assert event == {'name': 'network-vif-plugged', 'server_uuid': server,
                     'tag': port.id, 'status': 'completed'}
    assert sdk.network.get_port(port.id).status == 'ACTIVE'
    [post] = [p for p in neutron.nova.posts
              if event in p['body']['events']]
    assert post['path'] == '/v2.1/os-server-external-events'
    assert post['headers']['X-Auth-Token'] == 'stub-admin-token'
