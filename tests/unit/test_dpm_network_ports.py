# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A port bound to a network adapter port instead of a virtual switch (a
z17 CPC's network-express adapters have no virtual switches): the NIC is
made on that port, and the guest tools get its index."""

from nova.network import model as network_model
import pytest

from nova_ibmz.common.exception import InstanceSetupError
from tests import hmc
from tests.unit.test_dpm_driver import faked
from tests.unit.test_dpm_driver import make_instance


def osd_port():
    """(URI, index) of the second port of an OSD adapter of the CPC."""
    with hmc.server().sim.lock:
        adapter = next(a for a in hmc.faked_cpc().adapters.list()
                       if a.properties['type'] == 'osd')
        ports = adapter.ports.list()
        return ports[-1].uri, ports[-1].properties.get('index', 0)


def port_bound_to(details):
    return network_model.NetworkInfo([network_model.VIF(
        id='port-z17', address='fa:16:3e:00:01:02', active=True,
        type='dpm_vswitch', details=details,
        network=network_model.Network(id='net-1', bridge=None,
                                      label='flat'))])


@pytest.fixture
def driver():
    return hmc.driver(None, known_instances=hmc.no_instances)


def test_a_nic_on_a_network_adapter_port(driver):
    uri, index = osd_port()
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    driver.spawn(None, instance, None, [], None, {},
                 network_info=port_bound_to({
                     'network_adapter_port_uri': uri, 'adapter_port': index,
                     'vlan': '200'}),
                 block_device_info=hmc.boot_from_volume(instance))
    part = faked(instance)
    [nic] = part.nics.list()
    assert nic.properties['network-adapter-port-uri'] == uri
    assert 'virtual-switch-uri' not in nic.properties
    assert (nic.properties['vlan-id'], nic.properties['vlan-type']) == (
        200, 'enforced')
    assert part.properties['boot-os-specific-parameters'] == (
        f'1000,{index},fa163e000102;')
    driver.destroy(None, instance, None)


@pytest.mark.parametrize('details', [
    {}, {'network_adapter_port_uri': '/api/adapters/a/network-ports/0'},
    {'adapter_port': 0}])
def test_a_port_bound_to_nothing_usable_is_refused(driver, details):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=port_bound_to(details),
                     block_device_info=hmc.boot_from_volume(instance))
    assert 'port port-z17: its binding details name no virtual switch' \
        in str(e.value)
    assert faked(instance) is None
