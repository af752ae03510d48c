# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""FC storage of a partition: its initiators, the volume connector, and the
boot properties taken from a Cinder fibre-channel connection.

On a CPC without the dpm-storage-management feature (the z13 model of the
seed) each instance gets one HBA per ``[dpm]
physical_storage_adapter_mappings`` entry.  On a CPC with it (z14 and
later) HBAs cannot be created: each instance gets its own storage group,
named like its partition, whose candidate ports are those same adapter
ports; attaching it gives the partition one path per port.  Either way
the HMC gives each HBA or path an NPIV WWPN.

Cinder maps volumes to those WWPNs, so the connector must know them
before the first volume is attached, and still after the partition is gone
(Nova detaches volumes after destroy): they are kept in the instance's
system metadata, one key per compute host, because while a resize moves an
instance between hosts both its partitions exist, and each host's connector
must give its own.  Beside them, one key per host keeps the object-id of
the CPC of that host's partition: the destination of an evacuation asks the
HMC about that CPC when the source's partition is not listed
(dpm.evacuation).  A storage group needs the boot volume as one of its own
volumes to boot from it; data volumes reach the guest over the same WWPNs
without the HMC knowing them, as with HBAs.
"""

import dataclasses
import re

from oslo_utils import excutils

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common import fc

WWPNS_KEY = 'ibmz_dpm_wwpns'
CPC_KEY = 'ibmz_dpm_cpc'
FIRST_HBA_DEVNO = 0x1900
BOOT_VOLUME = 'boot'


@dataclasses.dataclass(frozen=True)
class Initiator:
    """One FC path of a partition: its HBA (or storage path) and WWPN."""

    uri: str
    wwpn: str


def hba_properties(mappings):
    """Create HBA bodies, one per adapter port mapping, in mapping order."""
    return [{
        'name': f'OpenStack_HBA_{index}',
        'adapter-port-uri': port_uri(m),
        'device-number': f'{FIRST_HBA_DEVNO + index:04x}',
    } for index, m in enumerate(mappings)]


def port_uri(mapping):
    return f'/api/adapters/{mapping.adapter_id}/storage-ports/{mapping.port}'


def create_group(subset, part, instance_description):
    """The instance's own storage group, attached to its partition, and
    the paths it gave the partition (4 requests + 1 per path)."""
    mappings = subset.config.physical_storage_adapter_mappings
    console = subset.cpc.manager.client.consoles.console
    what = f'creating storage group {part.name}'
    group = subset.hmc_call(what, console.storage_groups.create, {
        'name': part.name, 'description': instance_description,
        'cpc-uri': subset.cpc.uri, 'type': 'fcp', 'shared': False,
        'connectivity': len(mappings)})
    try:
        # The adapter family given, zhmcclient needs no GET to know that
        # these are storage ports.
        ports = [subset.cpc.adapters.resource_object(
            m.adapter_id, {'adapter-family': 'ficon'}).ports.resource_object(
                port_uri(m)) for m in mappings]
        subset.hmc_call(what, group.add_candidate_adapter_ports, ports)
        subset.hmc_call(f'attaching storage group {part.name}',
                        part.attach_storage_group, group)
        return group, group_paths(subset, part, group)
    except Exception:
        with excutils.save_and_reraise_exception():
            remove_group(subset, part, group)


def group_paths(subset, part, group):
    """The partition's paths into its group (1 request + 1 per path)."""
    what = f'listing paths of storage group {group.name}'
    paths = subset.hmc_call(what, group.virtual_storage_resources.list,
                            filter_args={'partition-uri': part.uri})
    return [Initiator(p.uri, subset.hmc_call(
        what, p.get_property, 'world-wide-port-name')) for p in paths]


def partition_hbas(subset, part):
    """The partition's HBAs in device number order (1 + 1 per HBA)."""
    hbas = subset.hmc_call(f'listing HBAs of {part.name}', part.hbas.list,
                           full_properties=True)
    return [Initiator(h.uri, h.properties['wwpn']) for h in
            sorted(hbas, key=lambda h: h.properties['device-number'])]


def find_group(subset, name):
    """The storage group of this name on our CPC, or None (1 request)."""
    console = subset.cpc.manager.client.consoles.console
    found = subset.hmc_call('listing storage groups',
                            console.storage_groups.list,
                            filter_args={'name': re.escape(name)})
    return next((g for g in found if g.name == name and
                 g.properties.get('cpc-uri') == subset.cpc.uri), None)


def remove_group(subset, part, group):
    """Detach the instance's storage group and delete it."""
    if group.uri in subset.hmc_call(f'reading partition {part.name}',
                                    part.get_property,
                                    'storage-group-uris'):
        subset.hmc_call(f'detaching storage group {group.name}',
                        part.detach_storage_group, group)
    subset.hmc_call(f'deleting storage group {group.name}', group.delete)


def boot_volume(subset, group, size_gb, existing=False):
    """Properties that boot from the group's volume for the Cinder boot
    LUN: a new one (1 request), or the one a rebuild keeps (1 list)."""
    what = f'the boot volume of storage group {group.name}'
    volume = None
    if existing:
        volume = next((v for v in subset.hmc_call(
            what, group.storage_volumes.list) if v.name == BOOT_VOLUME),
            None)
    if volume is None:
        volume = subset.hmc_call(
            what, group.storage_volumes.create,
            {'name': BOOT_VOLUME, 'usage': 'boot',
             'size': float(size_gb or 1)})
    return {'boot-device': 'storage-volume',
            'boot-storage-volume': volume.uri}


def _key(kind, host):
    return f'{kind}:{host}'


def remember(instance, host, initiators, cpc_id):
    """What host's partition of the instance is: its WWPNs, for its
    connector, and the object-id of its CPC, for a destination that
    fences it."""
    metadata = instance.system_metadata
    metadata[_key(WWPNS_KEY, host)] = ','.join(i.wwpn for i in initiators)
    metadata[_key(CPC_KEY, host)] = cpc_id


def remembered_wwpns(instance, host):
    metadata = getattr(instance, 'system_metadata', None) or {}
    return [w for w in metadata.get(_key(WWPNS_KEY, host), '').split(',')
            if w]


def remembered_cpc(instance, host):
    """The object-id of the CPC of host's partition, or None (an instance
    built before it was recorded)."""
    return instance.system_metadata.get(_key(CPC_KEY, host))


def keep_partition_of(instance, host):
    """Forget the WWPNs and CPC of every host's partition but host's: a
    move between hosts or an evacuation ended, and host keeps the
    instance."""
    metadata = instance.system_metadata
    kept = {_key(WWPNS_KEY, host), _key(CPC_KEY, host)}
    for key in [k for k in metadata if k.split(':', 1)[0] in
                (WWPNS_KEY, CPC_KEY) and k not in kept]:
        del metadata[key]


def check_fc(instance, connection_info):
    """The connection's data, if it is a fibre-channel one."""
    return fc.connection_data(instance.uuid, connection_info,
                              'DPM partitions')


def volume_path(instance, initiators, data, ignored):
    """The first usable (initiator, target WWPN) pair of a connection.

    The initiator -> target map decides which initiator sees which targets
    when Cinder gives one; otherwise every initiator sees every target.
    Targets in [dpm] target_wwpn_ignore_list are never used.
    """
    targets = fc.targets(data)
    for initiator in initiators:
        usable = [t for t in targets.seen_by(initiator.wwpn)
                  if t not in ignored]
        if usable:
            return initiator, usable[0]
    raise InstanceSetupError(
        instance.uuid, 'the volume has no path: initiators '
        f'{[i.wwpn for i in initiators]}, targets '
        f'{targets}, ignored {sorted(ignored)}')


def boot_properties(instance, initiators, connection_info, ignored):
    """Partition properties that boot from the volume of connection_info
    through an HBA.  (Through a storage group, boot_volume gives them; the
    path is checked the same way.)"""
    data = check_fc(instance, connection_info)
    initiator, target = volume_path(instance, initiators, data, ignored)
    lun = data.get('target_lun')
    if lun is None:
        luns = fc.as_list(data.get('target_luns'))
        lun = luns[0] if luns else 0
    return {
        'boot-device': 'storage-adapter',
        'boot-storage-device': initiator.uri,
        'boot-world-wide-port-name': target,
        'boot-logical-unit-number': fc.fcp_lun(lun),
    }
