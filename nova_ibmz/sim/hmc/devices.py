# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A partition's devices: NICs, HBAs (z13 model), storage groups (z14+).

Where the mock falls short this adds: MAC addresses (generated, or taken
from the request for HiperSockets NICs), the NIC type of its virtual
switch, device numbers unique in the partition (the client's choice
honoured), the virtual switch's list of connected NICs kept true, WWPNs
unique on the HMC (of all its CPCs), NICs and HBAs on the adapters of the
partition's own CPC only, and storage group attachment with virtual
storage resources.  The CPC's ``dpm-storage-management`` feature decides the
storage model: HBAs without it, storage groups with it, as on a real CPC.
"""

import re
import uuid

from zhmcclient.mock import _urihandler as mock

from nova_ibmz.sim.hmc import common
from nova_ibmz.sim.hmc.common import TRANSITIONAL

# What Update NIC Properties takes; Create NIC also takes the backing.
NIC_WRITABLE = frozenset([
    'name', 'description', 'device-number', 'network-adapter-port-uri',
    'vlan-id', 'vlan-type', 'mac-address',
    'ssc-management-nic', 'ssc-ip-address-type', 'ssc-ip-address',
    'ssc-mask-prefix', 'function-number', 'function-range'])
HBA_WRITABLE = frozenset(['name', 'description', 'device-number',
                          'adapter-port-uri'])
# NIC type by the type of the virtual switch (its backing adapter).
NIC_TYPE = {'osd': 'osd', 'hipersockets': 'iqd'}
# NIC types whose MAC address the client may choose.
MAC_SETTABLE = frozenset(['iqd'])
MAC_RE = re.compile(r'([0-9a-f]{2}:){5}[0-9a-f]{2}')
DEVNO_RE = re.compile(r'[0-9a-fA-F]{4}')
STORAGE_FEATURE = 'dpm-storage-management'
GROUP_READ_ONLY = frozenset(['object-id', 'object-uri', 'fulfillment-state',
                             'storage-volume-uris',
                             'virtual-storage-resource-uris'])


def storage_groups_enabled(cpc):
    return any(f.get('name') == STORAGE_FEATURE and f.get('state')
               for f in cpc.properties.get('available-features-list', []))


def _device(sim, req):
    partition = common.partition(sim, req)
    common.check_status(req, partition, invalid=TRANSITIONAL)
    return partition


def _devno(sim, req, partition, body, resource=None):
    """The client's device number checked, or a free one."""
    devno = body.get('device-number')
    if devno is None:
        return resource.properties['device-number'] if resource else \
            sim.new_devno(partition)
    if not isinstance(devno, str) or not DEVNO_RE.fullmatch(devno):
        raise common.bad_request(req, 7, f"'device-number' {devno!r} is not "
                                 'four hexadecimal digits')
    used = sim.used_devnos(partition)
    if resource is not None:
        used.discard(resource.properties['device-number'].lower())
    if devno.lower() in used:
        raise common.bad_request(req, 8, f'Device number {devno} is already '
                                 f'used in partition {partition.name}')
    return devno.lower()


# -- NICs ---------------------------------------------------------------

def _own_cpc(req, partition, resource, field):
    """A virtual switch or adapter is usable by the partitions of its own
    CPC only: one HMC manages several CPCs, and a device of another CPC's
    adapter is refused as a real HMC refuses it."""
    cpc = partition.manager.parent
    if resource.manager.parent is not cpc:
        raise common.bad_request(
            req, 7, f'{field!r} {resource.uri} is not on CPC {cpc.name} of '
            f'partition {partition.name}')


def _nic_backing(sim, req, partition, body):
    """The NIC type from the virtual switch or adapter port it uses."""
    if 'virtual-switch-uri' in body:
        vswitch = common.lookup(sim, req, body['virtual-switch-uri'])
        _own_cpc(req, partition, vswitch, 'virtual-switch-uri')
        return NIC_TYPE[vswitch.properties['type']]
    if 'network-adapter-port-uri' in body:
        port = common.lookup(sim, req, body['network-adapter-port-uri'])
        _own_cpc(req, partition, port.manager.parent,
                 'network-adapter-port-uri')
        return port.manager.parent.properties['type']
    raise common.bad_request(req, 5, "A NIC needs 'virtual-switch-uri' or "
                             "'network-adapter-port-uri'")


def _mac(sim, req, nic_type, body, resource=None):
    mac = body.get('mac-address')
    if mac is None:
        return resource.properties['mac-address'] if resource else \
            sim.new_mac()
    if nic_type not in MAC_SETTABLE:
        raise common.bad_request(
            req, 6, f"'mac-address' cannot be set for a NIC of type "
            f'{nic_type}; the HMC assigns it')
    if not isinstance(mac, str) or not MAC_RE.fullmatch(mac.lower()):
        raise common.bad_request(req, 7, f"'mac-address' {mac!r} is not a "
                                 'MAC address')
    used = sim.used_macs()
    if resource is not None:
        used.discard(resource.properties['mac-address'])
    if mac.lower() in used:
        raise common.bad_request(req, 8, f'MAC address {mac} is already '
                                 'used by another NIC')
    return mac.lower()


def create_nic(sim, req):
    partition = _device(sim, req)
    body = common.required(req, req.json(), ['name'])
    common.check_read_only(req, body, frozenset(body) - NIC_WRITABLE -
                           {'virtual-switch-uri'})
    common.check_name_unique(req, partition.nics, body['name'], 'NIC')
    nic_type = _nic_backing(sim, req, partition, body)
    nic = partition.nics.add(dict(body, **{
        'element-id': str(uuid.uuid4()), 'type': nic_type,
        'device-number': _devno(sim, req, partition, body),
        'mac-address': _mac(sim, req, nic_type, body)}))
    return {'element-uri': nic.uri}


def update_nic(sim, req):
    partition = _device(sim, req)
    nic = common.lookup(sim, req, req.path)
    body = common.required(req, req.json(), [])
    common.check_read_only(req, body, frozenset(body) - NIC_WRITABLE)
    if 'name' in body:
        common.check_name_unique(req, partition.nics, body['name'], 'NIC',
                                 nic)
    nic_type = nic.properties['type']
    nic.update(dict(body, **{
        'device-number': _devno(sim, req, partition, body, nic),
        'mac-address': _mac(sim, req, nic_type, body, nic)}))


def remove_nic(sim, nic):
    """Delete a NIC and its entry in its virtual switch's NIC list."""
    vswitch = sim.hmc.all_resources.get(
        nic.properties.get('virtual-switch-uri'))
    if vswitch is not None:
        connected = vswitch.properties['connected-vnic-uris']
        if nic.uri in connected:
            connected.remove(nic.uri)
    nic.manager.remove(nic.oid)


def delete_nic(sim, req):
    _device(sim, req)
    remove_nic(sim, common.lookup(sim, req, req.path))


def create_virtual_function(sim, req):
    """Create Virtual Function, numbered by the partition's allocator."""
    partition = _device(sim, req)
    body = common.required(req, req.json(), ['name'])
    body['device-number'] = _devno(sim, req, partition, body)
    return mock.VirtualFunctionsHandler.post(
        req.method, sim.hmc, req.path, req.parms, body, True, True)


def connected_vnics(sim, req):
    vswitch = common.lookup(sim, req, f'/api/virtual-switches/{req.parms[0]}')
    return {'connected-vnic-uris':
            list(vswitch.properties.get('connected-vnic-uris', []))}


# -- HBAs (CPCs without dpm-storage-management) -------------------------

def create_hba(sim, req):
    partition = _device(sim, req)
    cpc = partition.manager.parent
    if storage_groups_enabled(cpc):
        raise common.conflict(
            req, 2, f'CPC {cpc.name} has the {STORAGE_FEATURE} feature: '
            'attach a storage group instead of creating HBAs')
    body = common.required(req, req.json(), ['name', 'adapter-port-uri'])
    common.check_read_only(req, body, frozenset(body) - HBA_WRITABLE)
    common.check_name_unique(req, partition.hbas, body['name'], 'HBA')
    port = common.lookup(sim, req, body['adapter-port-uri'])
    adapter = port.manager.parent
    if (adapter.properties.get('type') != 'fcp' or
            adapter.manager.parent is not cpc):
        raise common.bad_request(
            req, 7, f"'adapter-port-uri' {port.uri} is not a port of an FCP "
            f'adapter of CPC {cpc.name}')
    hba = partition.hbas.add(dict(body, **{
        'element-id': str(uuid.uuid4()),
        'device-number': _devno(sim, req, partition, body),
        'wwpn': sim.new_wwpn()}))
    return {'element-uri': hba.uri}


# -- storage groups (CPCs with dpm-storage-management) -------------------

def _group_request(sim, req):
    partition = _device(sim, req)
    cpc = partition.manager.parent
    if not storage_groups_enabled(cpc):
        raise common.conflict(
            req, 2, f'CPC {cpc.name} lacks the {STORAGE_FEATURE} feature: '
            'create HBAs instead of attaching storage groups')
    body = common.required(req, req.json(), ['storage-group-uri'])
    group = common.lookup(sim, req, body['storage-group-uri'])
    return partition, group


def attach(sim, req):
    """Attach a storage group: one virtual storage resource per path."""
    partition, group = _group_request(sim, req)
    cpc = partition.manager.parent
    if group.properties.get('cpc-uri') != cpc.uri:
        raise common.conflict(req, 2, f'Storage group {group.name} belongs '
                              f'to another CPC than partition '
                              f'{partition.name}')
    if group.uri in partition.properties['storage-group-uris']:
        raise common.conflict(req, 2, f'Storage group {group.name} is '
                              f'already attached to partition '
                              f'{partition.name}')
    users = _group_users(sim, group)
    if users and not group.properties.get('shared', True):
        raise common.conflict(req, 2, f'Storage group {group.name} is not '
                              f'shared and attached to {users[0].name}')
    ports = group.properties.get('candidate-adapter-port-uris', [])
    if group.properties.get('type', 'fcp') == 'fcp' and not ports:
        raise common.conflict(req, 2, f'Storage group {group.name} has no '
                              'candidate adapter ports')
    paths = [common.lookup(sim, req, uri) for uri in
             ports[:group.properties.get('connectivity') or len(ports)]]
    # Attached first, so new_devno sees the paths made so far.
    partition.properties['storage-group-uris'].append(group.uri)
    _zone(group)
    for port in paths:
        adapter = port.manager.parent
        group.virtual_storage_resources.add({
            'element-id': str(uuid.uuid4()),
            'name': f'{partition.name}-{adapter.name}',
            'description': '', 'partition-uri': partition.uri,
            'adapter-port-uri': port.uri,
            'device-number': sim.new_devno(partition),
            'world-wide-port-name': sim.new_wwpn()})


def _zone(group):
    """The SAN is zoned at once in the simulator: an attached group's
    volumes are usable (complete, with the LUN's WWID as uuid)."""
    group.properties['fulfillment-state'] = 'complete'
    for volume in group.storage_volumes.list():
        volume.properties['fulfillment-state'] = 'complete'
        volume.properties.setdefault('uuid', uuid.uuid4().hex.upper())


def modify_group(sim, req):
    """Modify Storage Group: the mock's, with volumes of an attached group
    usable at once and deleted volumes gone from the group's list."""
    group = common.lookup(sim, req, f'/api/storage-groups/{req.parms[0]}')
    result = mock.StorageGroupModifyHandler.post(
        req.method, sim.hmc, req.path, req.parms, req.json(), True, True)
    group.properties['storage-volume-uris'] = [
        v.uri for v in group.storage_volumes.list()]
    if _group_users(sim, group):
        _zone(group)
    return result


def detach(partition, group):
    """Remove the attachment and the partition's paths into the group."""
    vsr_uris = group.properties['virtual-storage-resource-uris']
    for vsr in group.virtual_storage_resources.list():
        if vsr.properties['partition-uri'] == partition.uri:
            vsr_uris.remove(vsr.uri)
            group.virtual_storage_resources.remove(vsr.oid)
    partition.properties['storage-group-uris'].remove(group.uri)


def detach_request(sim, req):
    partition, group = _group_request(sim, req)
    if group.uri not in partition.properties['storage-group-uris']:
        raise common.conflict(req, 2, f'Storage group {group.name} is not '
                              f'attached to partition {partition.name}')
    detach(partition, group)


def create_group(sim, req):
    """Create Storage Group, with its volumes (the mock answers volume
    objects instead of their URIs and keeps no candidate port list)."""
    body = common.required(req, req.json(), ['name', 'cpc-uri', 'type'])
    cpc = common.lookup(sim, req, body['cpc-uri'])
    if not storage_groups_enabled(cpc):
        raise common.conflict(req, 2, f'CPC {cpc.name} lacks the '
                              f'{STORAGE_FEATURE} feature')
    groups = sim.hmc.consoles.console.storage_groups
    common.check_name_unique(req, groups, body['name'], 'Storage group')
    common.check_read_only(req, body, GROUP_READ_ONLY)
    props = {'description': '', 'shared': True,
             'candidate-adapter-port-uris': []}
    props.update((k, v) for k, v in body.items() if k != 'storage-volumes')
    props.update({'object-id': str(uuid.uuid4()),
                  'fulfillment-state': 'pending'})
    group = groups.add(props)
    volume_uris = []
    for request in body.get('storage-volumes', []):
        if request.get('operation') != 'create':
            raise common.bad_request(req, 5, 'storage-volumes: only the '
                                     "'create' operation is simulated")
        volume = {k: v for k, v in request.items() if k != 'operation'}
        volume_uris.append(group.storage_volumes.add(dict(volume, **{
            'element-id': str(uuid.uuid4()),
            'fulfillment-state': 'pending'})).uri)
    return {'object-uri': group.uri, 'element-uris': volume_uris}


def _group_users(sim, group):
    return [p for p in sim.all_partitions()
            if group.uri in p.properties.get('storage-group-uris', [])]


def group_partitions(sim, req):
    """GET .../operations/get-partitions: who has the group attached."""
    group = common.lookup(sim, req, f'/api/storage-groups/{req.parms[0]}')
    wanted = req.query
    return {'partitions': [
        {'object-uri': p.uri, 'name': p.name,
         'status': p.properties['status']}
        for p in _group_users(sim, group)
        if wanted.get('name', p.name) == p.name and
        wanted.get('status', p.properties['status']) ==
        p.properties['status']]}


def delete_group(sim, req):
    """A storage group attached to a partition cannot be deleted."""
    group = common.lookup(sim, req, f'/api/storage-groups/{req.parms[0]}')
    users = _group_users(sim, group)
    if users:
        raise common.conflict(req, 1, f'Storage group {group.name} is '
                              f'attached to {users[0].name}')
    return mock.StorageGroupDeleteHandler.post(
        req.method, sim.hmc, req.uri, req.parms, req.json(), True, True)
