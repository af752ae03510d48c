# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The mechanism drivers' binding decisions, one call of ML2's
bind_port each, on a port context that holds what ML2 gives them: the
port, the segments to bind, the host's agents from its database.  The
same drivers bind through the real server in test_server.py."""

from importlib import metadata

import pytest

from nova_ibmz.neutron import ml2

VLAN = {'id': 'seg-vlan', 'network_id': 'net-1', 'network_type': 'vlan',
        'physical_network': 'physnet1', 'segmentation_id': 300}
FLAT = {'id': 'seg-flat', 'network_id': 'net-1', 'network_type': 'flat',
        'physical_network': 'physnet1', 'segmentation_id': None}
VXLAN = {'id': 'seg-vxlan', 'network_id': 'net-1', 'network_type': 'vxlan',
         'physical_network': None, 'segmentation_id': 7}
BASE_DETAILS = {'port_filter': False, 'connectivity': 'l2'}


class PortContext:
    """The part of ML2's PortContext that agent-based drivers read."""

    def __init__(self, agents, segments, host='host-1', vnic_type='normal'):
        self.current = {'id': 'port-1', 'binding:vnic_type': vnic_type,
                        'fixed_ips': []}
        self.network = type('Network', (), {'current': {'id': 'net-1'}})
        self.host = host
        self.segments_to_bind = segments
        self._agents = agents
        self.bound = None

    def host_agents(self, agent_type):
        return [a for a in self._agents
                if a['agent_type'] == agent_type and a['host'] == self.host]

    def set_binding(self, segment_id, vif_type, vif_details, status=None):
        assert self.bound is None, 'bound twice'
        self.bound = (segment_id, vif_type, vif_details)


def agent(agent_type, configurations, alive=True, host='host-1'):
    return {'agent_type': agent_type, 'host': host, 'alive': alive,
            'configurations': configurations}


def dpm(**configurations):
    return agent('DPM agent', configurations)


def zvm(**configurations):
    return agent('z/VM agent', configurations)


def bind(driver, agents, segments=(VLAN,), **context):
    port = PortContext(agents, list(segments), **context)
    driver.bind_port(port)
    return port.bound


@pytest.fixture
def dpm_driver():
    return ml2.DPMMechanismDriver()


@pytest.fixture
def zvm_driver():
    return ml2.ZVMMechanismDriver()


def test_registered_under_ml2s_entry_points():
    found = {ep.name: ep.load() for ep in metadata.entry_points(
        group='neutron.ml2.mechanism_drivers') if ep.name.startswith('ibmz')}
    assert found == {'ibmz_dpm': ml2.DPMMechanismDriver,
                     'ibmz_zvm': ml2.ZVMMechanismDriver}


def test_dpm_vlan_segment_binds_the_virtual_switch_and_vlan(dpm_driver):
    agents = [dpm(adapter_mappings={'physnet1': ['vs-1', 'vs-9']})]
    assert bind(dpm_driver, agents) == ('seg-vlan', 'dpm_vswitch', dict(
        BASE_DETAILS, object_id='vs-1', vlan=300))


def test_dpm_flat_segment_has_no_vlan(dpm_driver):
    agents = [dpm(adapter_mappings={'physnet1': ['vs-1']})]
    assert bind(dpm_driver, agents, [FLAT]) == (
        'seg-flat', 'dpm_vswitch', dict(BASE_DETAILS, object_id='vs-1'))


def test_dpm_network_port_when_the_cpc_has_no_virtual_switches(dpm_driver):
    uri = '/api/adapters/a-1/network-ports/0'
    agents = [dpm(network_port_mappings={
        'physnet1': [{'uri': uri, 'index': 0}]})]
    assert bind(dpm_driver, agents) == ('seg-vlan', 'dpm_vswitch', dict(
        BASE_DETAILS, network_adapter_port_uri=uri, adapter_port=0,
        vlan=300))


def test_dpm_virtual_switch_wins_over_network_port(dpm_driver):
    agents = [dpm(adapter_mappings={'physnet1': ['vs-1']},
                  network_port_mappings={'physnet1': [
                      {'uri': '/api/adapters/a-1/network-ports/0',
                       'index': 0}]})]
    assert bind(dpm_driver, agents)[2] == dict(
        BASE_DETAILS, object_id='vs-1', vlan=300)


@pytest.mark.parametrize('configurations', [
    {},
    {'adapter_mappings': {'physnet2': ['vs-2']}},
    {'adapter_mappings': {'physnet1': []}},
    # a network port without its index is no mapping
    {'network_port_mappings': {'physnet1': [
        {'uri': '/api/adapters/a-1/network-ports/0'}]}},
    {'network_port_mappings': {'physnet1': ['/api/adapters/a-1']}},
], ids=['nothing', 'other-physnet', 'empty-list', 'port-without-index',
        'port-not-an-object'])
def test_dpm_unmapped_physical_network_is_not_bound(dpm_driver,
                                                    configurations):
    assert bind(dpm_driver, [dpm(**configurations)]) is None


def test_dpm_dead_agent_or_other_host_or_other_type_is_not_bound(
        dpm_driver):
    mapping = {'adapter_mappings': {'physnet1': ['vs-1']}}
    assert bind(dpm_driver, [agent('DPM agent', mapping, alive=False)]) \
        is None
    assert bind(dpm_driver, [agent('DPM agent', mapping, host='other')]) \
        is None
    assert bind(dpm_driver, [agent('z/VM agent', mapping)]) is None
    assert bind(dpm_driver, []) is None


def test_only_flat_and_vlan_and_normal_vnics(dpm_driver, zvm_driver):
    assert bind(dpm_driver, [dpm(adapter_mappings={'physnet1': ['vs-1']})],
                [VXLAN]) is None
    assert bind(zvm_driver, [zvm(vswitch_mappings={'physnet1': 'VSW1'})],
                [VXLAN]) is None
    assert bind(dpm_driver, [dpm(adapter_mappings={'physnet1': ['vs-1']})],
                vnic_type='direct') is None


def test_the_first_segment_the_agent_maps_is_bound(dpm_driver):
    other = dict(VLAN, id='seg-other', physical_network='physnet9')
    agents = [dpm(adapter_mappings={'physnet1': ['vs-1']})]
    assert bind(dpm_driver, agents, [VXLAN, other, FLAT, VLAN])[0] == \
        'seg-flat'


def test_bindings_do_not_share_their_details(dpm_driver):
    agents = [dpm(adapter_mappings={'physnet1': ['vs-1']})]
    first = bind(dpm_driver, agents)[2]
    first['object_id'] = 'changed'
    assert bind(dpm_driver, agents, [FLAT])[2] == dict(
        BASE_DETAILS, object_id='vs-1')


def test_zvm_binds_the_vswitch_and_vlan(zvm_driver):
    agents = [zvm(vswitch_mappings={'physnet1': 'VSW1', 'physnet2': 'X'})]
    assert bind(zvm_driver, agents) == ('seg-vlan', 'zvm', dict(
        BASE_DETAILS, vswitch='VSW1', vlan=300))
    assert bind(zvm_driver, agents, [FLAT]) == (
        'seg-flat', 'zvm', dict(BASE_DETAILS, vswitch='VSW1'))


@pytest.mark.parametrize('configurations', [
    {}, {'vswitch_mappings': {'physnet2': 'VSW2'}},
    {'vswitch_mappings': {'physnet1': ''}},
], ids=['nothing', 'other-physnet', 'empty-name'])
def test_zvm_unmapped_physical_network_is_not_bound(zvm_driver,
                                                    configurations):
    assert bind(zvm_driver, [zvm(**configurations)]) is None


def test_zvm_ignores_dpm_agents_and_dpm_ignores_zvm_agents(dpm_driver,
                                                           zvm_driver):
    both = [dpm(adapter_mappings={'physnet1': ['vs-1']}),
            zvm(vswitch_mappings={'physnet1': 'VSW1'})]
    assert bind(zvm_driver, both)[1] == 'zvm'
    assert bind(dpm_driver, both)[1] == 'dpm_vswitch'
