# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""NICs, HBAs and storage groups on the HMC simulator (real zhmcclient)."""

import re

import pytest
import zhmcclient

from tests import hmcsim

props = hmcsim.partition_props
MAC = re.compile(r'([0-9a-f]{2}:){5}[0-9a-f]{2}')


def http_error(excinfo):
    return excinfo.value.http_status, excinfo.value.reason


def fcp_port(cpc, name='FCP-1'):
    return cpc.adapters.find(name=name).ports.list()[0]


def test_nic_lifecycle_on_a_virtual_switch(cpc):
    """Type and MAC from the HMC, device numbers unique and honoured, the
    switch's NIC list kept true through NIC and partition deletes."""
    osd = cpc.virtual_switches.find(name='OSD-1 Port 0')
    a, b = (cpc.partitions.create(props(n)) for n in 'AB')
    auto = a.nics.create({'name': 'auto', 'virtual-switch-uri': osd.uri})
    chosen = a.nics.create({'name': 'chosen', 'virtual-switch-uri': osd.uri,
                            'device-number': '1000'})
    other = b.nics.create({'name': 'auto', 'virtual-switch-uri': osd.uri})
    for nic in (auto, chosen, other):
        nic.pull_full_properties()
        assert nic.properties['type'] == 'osd'
        assert MAC.fullmatch(nic.properties['mac-address'])
    assert auto.properties['device-number'] == '8000'
    assert chosen.properties['device-number'] == '1000'
    assert len({n.properties['mac-address']
                for n in (auto, chosen, other)}) == 3
    assert sorted(n.uri for n in osd.get_connected_nics()) == sorted(
        [auto.uri, chosen.uri, other.uri])

    with pytest.raises(zhmcclient.HTTPError) as e:
        a.nics.create({'name': 'x', 'virtual-switch-uri': osd.uri,
                       'device-number': '1000'})
    assert http_error(e) == (400, 8)
    with pytest.raises(zhmcclient.HTTPError) as e:
        a.nics.create({'name': 'x', 'virtual-switch-uri': osd.uri,
                       'device-number': 'zz'})
    assert http_error(e) == (400, 7)
    with pytest.raises(zhmcclient.HTTPError) as e:
        a.nics.create({'name': 'auto', 'virtual-switch-uri': osd.uri})
    assert http_error(e) == (400, 8)

    chosen.delete()
    assert sorted(n.uri for n in osd.get_connected_nics()) == sorted(
        [auto.uri, other.uri])
    a.delete()
    assert [n.uri for n in osd.get_connected_nics()] == [other.uri]


def test_nic_mac_settable_only_on_hipersockets(cpc):
    part = cpc.partitions.create(props('A'))
    iqd = cpc.virtual_switches.find(name='HIPERSOCKET-1')
    osd = cpc.virtual_switches.find(name='OSD-1 Port 0')
    nic = part.nics.create({'name': 'hs', 'virtual-switch-uri': iqd.uri,
                            'mac-address': '02:AA:00:00:00:01'})
    assert nic.get_property('type') == 'iqd'
    assert nic.get_property('mac-address') == '02:aa:00:00:00:01'
    nic.update_properties({'mac-address': '02:aa:00:00:00:02'})
    assert nic.get_property('mac-address') == '02:aa:00:00:00:02'
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.nics.create({'name': 'osa', 'virtual-switch-uri': osd.uri,
                          'mac-address': '02:aa:00:00:00:03'})
    assert http_error(e) == (400, 6)
    assert 'osd' in e.value.message
    with pytest.raises(zhmcclient.HTTPError) as e:
        nic.update_properties({'mac-address': 'not-a-mac'})
    assert http_error(e) == (400, 7)
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.nics.create({'name': 'hs2', 'virtual-switch-uri': iqd.uri,
                          'mac-address': '02:aa:00:00:00:02'})
    assert http_error(e) == (400, 8)


def test_virtual_functions_share_the_device_numbers(cpc):
    part = cpc.partitions.create(props('A'))
    part.nics.create({'name': 'eth0', 'virtual-switch-uri':
                      cpc.virtual_switches.list()[0].uri})
    function = part.virtual_functions.create({'name': 'vf'})
    assert function.get_property('device-number') == '8001'


def test_hba_lifecycle(cpc):
    """WWPNs unique on the HMC, boot device must be the partition's own."""
    a, b = (cpc.partitions.create(props(n)) for n in 'AB')
    hbas = [p.hbas.create({'name': 'fcp1', 'adapter-port-uri':
                           fcp_port(cpc).uri}) for p in (a, b)]
    hbas.append(a.hbas.create({'name': 'fcp2', 'device-number': '1900',
                               'adapter-port-uri': fcp_port(cpc, 'FCP-2')
                               .uri}))
    wwpns = {h.get_property('wwpn') for h in hbas}
    assert len(wwpns) == 3
    assert all(re.fullmatch('c05076[0-9a-f]{10}', w) for w in wwpns)
    assert hbas[2].get_property('device-number') == '1900'

    a.update_properties({'boot-device': 'storage-adapter',
                         'boot-storage-device': hbas[0].uri})
    with pytest.raises(zhmcclient.HTTPError) as e:
        a.update_properties({'boot-storage-device': hbas[1].uri})
    assert http_error(e) == (400, 7)

    with pytest.raises(zhmcclient.HTTPError) as e:
        a.hbas.create({'name': 'osa', 'adapter-port-uri': cpc.adapters.find(
            name='OSD-1').ports.list()[0].uri})
    assert http_error(e) == (400, 7)
    hbas[2].delete()
    assert [h.name for h in a.hbas.list()] == ['fcp1']
    a.delete()
    assert [h.name for h in b.hbas.list()] == ['fcp1']


def test_devices_of_two_cpcs(cpc, session):
    """One HMC, two CPCs: each partition gets devices of its own CPC's
    adapters only; WWPNs and MACs are unique across the HMC, device
    numbers per partition."""
    cpc3 = hmcsim.cpc(session, hmcsim.CPC3_NAME)
    a, b = cpc.partitions.create(props('A')), cpc3.partitions.create(
        props('B'))
    hbas = [a.hbas.create({'name': 'fcp', 'adapter-port-uri':
                           fcp_port(cpc).uri}),
            b.hbas.create({'name': 'fcp', 'adapter-port-uri':
                           fcp_port(cpc3, 'FCP-3').uri})]
    nics = [p.nics.create({'name': 'eth0', 'virtual-switch-uri':
                           c.virtual_switches.find(name=switch).uri})
            for p, c, switch in ((a, cpc, 'OSD-1 Port 0'),
                                 (b, cpc3, 'OSD-3 Port 0'))]
    for hba, nic in zip(hbas, nics):    # numbered in their partition
        assert hba.get_property('device-number') == '8000'
        assert nic.get_property('device-number') == '8001'
    assert len({h.get_property('wwpn') for h in hbas}) == 2
    assert len({n.get_property('mac-address') for n in nics}) == 2

    for partition, other in ((b, cpc), (a, cpc3)):
        foreign_fcp = next(x for x in other.adapters.list()
                           if x.get_property('type') == 'fcp')
        with pytest.raises(zhmcclient.HTTPError) as e:
            partition.hbas.create({'name': 'x', 'adapter-port-uri':
                                   foreign_fcp.ports.list()[0].uri})
        assert http_error(e) == (400, 7)
        with pytest.raises(zhmcclient.HTTPError) as e:
            partition.nics.create({'name': 'x', 'virtual-switch-uri':
                                   other.virtual_switches.list()[0].uri})
        assert http_error(e) == (400, 7)
        with pytest.raises(zhmcclient.HTTPError) as e:
            partition.nics.create({
                'name': 'x', 'network-adapter-port-uri': other.adapters.list(
                    filter_args={'type': 'osd'})[0].ports.list()[0].uri})
        assert http_error(e) == (400, 7)
        assert [h.name for h in partition.hbas.list()] == ['fcp']
        assert [n.name for n in partition.nics.list()] == ['eth0']
    assert [v.uri for v in cpc.virtual_switches.find(
        name='OSD-1 Port 0').get_connected_nics()] == [nics[0].uri]


def test_storage_groups_need_the_feature(cpc, session):
    part = cpc.partitions.create(props('A'))
    with pytest.raises(zhmcclient.HTTPError) as e:
        session.post(part.uri + '/operations/attach-storage-group',
                     body={'storage-group-uri': '/api/storage-groups/x'})
    assert http_error(e) == (409, 2)


def boot_group(console, cpc, name):
    group = console.storage_groups.create({
        'name': name, 'cpc-uri': cpc.uri, 'type': 'fcp',
        'storage-volumes': [{'operation': 'create', 'name': 'root',
                             'size': 10.0, 'usage': 'boot'}]})
    group.add_candidate_adapter_ports([fcp_port(cpc, 'FCP-1'),
                                       fcp_port(cpc, 'FCP-2')])
    return group


def test_storage_group_attach_and_detach(sg_server):
    """The z14+ model: virtual storage resources per path with unique
    WWPNs; the foreign PROD-DB2 group is never touched."""
    client = zhmcclient.Client(hmcsim.session(sg_server))
    console = client.consoles.console
    cpc = client.cpcs.find(name=hmcsim.SG_CPC_NAME)
    foreign = console.storage_groups.find(name='PROD-DB2-BOOT')
    foreign_vsrs = [v.uri for v in foreign.virtual_storage_resources.list()]

    with pytest.raises(zhmcclient.HTTPError) as e:
        cpc.partitions.create(props('X')).hbas.create(
            {'name': 'h', 'adapter-port-uri': fcp_port(cpc).uri})
    assert http_error(e) == (409, 2)

    part = cpc.partitions.create(props('A'))
    group = boot_group(console, cpc, 'A-BOOT')
    volume = group.storage_volumes.list()[0]
    assert volume.get_property('fulfillment-state') == 'pending'
    part.attach_storage_group(group)
    assert [g.uri for g in part.list_attached_storage_groups()] == [
        group.uri]
    assert [p.name for p in group.list_attached_partitions()] == ['A']
    vsrs = group.virtual_storage_resources.list(full_properties=True)
    assert len(vsrs) == 2
    assert {v.properties['partition-uri'] for v in vsrs} == {part.uri}
    assert len({v.properties['device-number'] for v in vsrs}) == 2
    wwpns = {v.properties['world-wide-port-name'] for v in vsrs}
    assert len(wwpns) == 2 and all(w.startswith('c05076') for w in wwpns)
    volume.pull_full_properties()
    assert volume.properties['fulfillment-state'] == 'complete'

    part.update_properties({'boot-device': 'storage-volume',
                            'boot-storage-volume': volume.uri})
    db2_root = foreign.storage_volumes.list()[0]
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.update_properties({'boot-storage-volume': db2_root.uri})
    assert http_error(e) == (400, 7)
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.attach_storage_group(group)
    assert http_error(e) == (409, 2)
    with pytest.raises(zhmcclient.HTTPError) as e:   # not shared
        part.attach_storage_group(foreign)
    assert http_error(e) == (409, 2)
    assert 'PROD-DB2' in e.value.message
    with pytest.raises(zhmcclient.HTTPError) as e:
        console.storage_groups.create({'name': 'X', 'cpc-uri': cpc.uri,
                                       'type': 'fcp', 'object-id': 'x'})
    assert http_error(e) == (400, 6)
    with pytest.raises(zhmcclient.HTTPError) as e:
        group.delete()
    assert http_error(e) == (409, 1)

    part.detach_storage_group(group)
    assert group.virtual_storage_resources.list() == []
    part.attach_storage_group(group)
    part.delete()     # detaches
    assert group.list_attached_partitions() == []
    group.delete()
    assert [v.uri for v in foreign.virtual_storage_resources.list()] == \
        foreign_vsrs
    assert [p.name for p in foreign.list_attached_partitions()] == [
        'PROD-DB2']
