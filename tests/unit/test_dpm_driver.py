# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""DPMDriver's instance lifecycle on the HMC simulator (default topology).

Every test ends by checking the safety rule: the three partitions of other
workloads are exactly as the topology made them.
"""

import uuid

from nova.compute import power_state
from nova import context as nova_context
from nova import objects
import pytest

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.conf import types
from nova_ibmz.dpm import partition
from tests import hmc
from tests import hmcsim

objects.register_all()
FOREIGN = ('PROD-DB2', 'PROD-WAS', 'TEST-SAP')


def make_instance(vcpus=2, memory_mb=4096, index=[0]):
    index[0] += 1
    flavor = objects.Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=0,
                            ephemeral_gb=0, swap=0, name='dpm.small',
                            flavorid='1', extra_specs={})
    return objects.Instance(
        context=nova_context.get_admin_context(), uuid=str(uuid.uuid4()),
        id=index[0], flavor=flavor, vcpus=vcpus, memory_mb=memory_mb,
        system_metadata={})


def snapshot_foreign():
    with hmc.server().sim.lock:
        return {p.name: dict(p.properties)
                for p in hmc.faked_cpc().partitions.list()
                if p.name in FOREIGN}


@pytest.fixture
def driver():
    dpm = hmc.driver(None, config=hmc.make_config(
        physical_storage_adapter_mappings=(types.AdapterPort(hmc.FCP_1, 0),
                                           types.AdapterPort(hmc.FCP_2, 0))))
    before = snapshot_foreign()
    yield dpm
    assert snapshot_foreign() == before


@pytest.fixture
def controls(driver):
    return hmcsim.Controls(hmc.server())


def faked(instance):
    """The instance's partition in the simulator's model, or None."""
    name = partition.partition_name(hmc.HOST, instance.uuid)
    with hmc.server().sim.lock:
        found = [p for p in hmc.faked_cpc().partitions.list()
                 if p.name == name]
    return found[0] if found else None


def spawn(driver, instance, nics=(hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2),
          **connection):
    driver.prepare_for_spawn(instance)
    network_info = hmc.network_info(*nics)
    driver.spawn(None, instance, None, [], None, {},
                 network_info=network_info,
                 block_device_info=hmc.boot_from_volume(instance,
                                                        **connection))
    return network_info


def api_calls(controls, since):
    """(method, path) of the API requests since a log position, without
    job polls (whose number depends on timing)."""
    return [(r['method'], r['path'].split('?')[0])
            for r in controls.requests(since)
            if not (r['method'] == 'GET' and '/api/jobs/' in r['path'])]


def test_spawn_from_volume_with_two_nics(driver, controls):
    instance = make_instance(vcpus=2, memory_mb=4096)
    driver.init_host(hmc.HOST)
    spawn(driver, instance)
    part = faked(instance)
    props = part.properties
    assert props['status'] == 'active'
    assert (props['ifl-processors'], props['initial-memory'],
            props['maximum-memory']) == (2, 4096, 4096)
    assert props['description'] == (f'OpenStack CPCSubset={hmc.HOST} '
                                    f'Instance={instance.name}')
    hbas = {h.properties['device-number']: h for h in part.hbas.list()}
    assert sorted(hbas) == ['1900', '1901']
    wwpns = [hbas[d].properties['wwpn'] for d in ('1900', '1901')]
    assert driver.get_volume_connector(instance)['wwpns'] == wwpns
    assert props['boot-device'] == 'storage-adapter'
    assert props['boot-storage-device'] == hbas['1900'].uri
    assert props['boot-world-wide-port-name'] == hmc.TARGETS[0]
    assert props['boot-logical-unit-number'] == '0001000000000000'
    nics = sorted(part.nics.list(), key=lambda n: n.properties[
        'device-number'])
    assert [n.properties['device-number'] for n in nics] == ['1000', '1004']
    assert nics[0].name.startswith('OpenStack_Port_')
    assert nics[0].properties['description'] == (
        f'OpenStack mac=fa:16:3e:00:00:00, CPCSubset={hmc.HOST}')
    assert props['boot-os-specific-parameters'] == (
        '1000,0,fa163e000000;1004,0,fa163e000001;')
    assert driver.get_info(instance).state == power_state.RUNNING
    assert driver.list_instances() == [instance.name]
    assert driver.list_instance_uuids() == [instance.uuid]


def test_spawn_costs_at_most_8_requests_plus_job_polls(driver, controls):
    """Seed driver: 19 plus job polls (2 NICs, 1 adapter).  Create
    partition, create HBA, read its WWPN, 2 NICs, 1 update, start, delete
    the job; the first spawn of a host also lists the virtual switches."""
    dpm = hmc.driver(None)     # one adapter mapping
    dpm.init_host(hmc.HOST)
    spawn(dpm, make_instance())
    instance = make_instance()
    seq = controls.last_seq()
    spawn(dpm, instance)
    calls = api_calls(controls, seq)
    assert len(calls) == 8, calls
    assert faked(instance).properties['status'] == 'active'


def test_spawn_without_a_volume_says_so(driver):
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    with pytest.raises(InstanceSetupError) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1),
                     block_device_info=None)
    assert 'boot from a Cinder FC volume' in str(e.value)
    assert faked(instance) is None


def test_spawn_failing_half_way_leaves_nothing(driver, controls):
    """The second NIC is refused: the first NIC, the HBAs and the
    partition go again, and the virtual switch lists no NIC."""
    instance = make_instance()
    driver.prepare_for_spawn(instance)
    assert len(faked(instance).hbas.list()) == 2
    controls.fault(method='POST', path=r'/nics$', after=1, times=1,
                   status=400, reason=7, message='refused by the test')
    with pytest.raises(RequestRefused) as e:
        driver.spawn(None, instance, None, [], None, {},
                     network_info=hmc.network_info(hmc.VSWITCH_OSD_1,
                                                   hmc.VSWITCH_OSD_2),
                     block_device_info=hmc.boot_from_volume(instance))
    assert 'refused by the test' in str(e.value)
    assert faked(instance) is None
    with hmc.server().sim.lock:
        for vswitch in hmc.faked_cpc().virtual_switches.list():
            assert vswitch.properties['connected-vnic-uris'] == []
        assert not [uri for uri in hmc.server().sim.hmc.all_resources
                    if '/hbas/' in uri or '/nics/' in uri]
