# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Building an instance's partition.

prepare() creates the stopped partition and its HBAs (or its storage
group), so the volume connector knows their WWPNs before Cinder maps the
boot volume; spawn() adds the NICs, sets every boot property in one update
and starts the partition.  A failure removes it all, or, when the HMC has
gone away meanwhile, records it for removal once the HMC answers
(removal.Removal).  A rebuild reuses the partition it kept, stopped.
"""

from nova.compute import task_states
from nova import exception
from nova.objects import fields
from nova.virt import driver
from oslo_log import log as logging

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common import hvtype
from nova_ibmz.common import vifs
from nova_ibmz.dpm import network
from nova_ibmz.hmc import naming
from nova_ibmz.dpm import partition
from nova_ibmz.dpm import storage

LOG = logging.getLogger(__name__)


class Builds:
    """The instances of one CPC subset being built."""

    def __init__(self, virtapi, subset, removal):
        self._virtapi = virtapi
        self._subset = subset
        self._removal = removal
        # Instances between prepare() and the end of spawn(): their
        # partition and FC initiators, so spawn need not ask for them.
        self._building = {}

    def __contains__(self, instance_uuid):
        return instance_uuid in self._building

    def forget(self, instance):
        self._building.pop(instance.uuid, None)

    def prepare(self, instance):
        """The stopped partition with its FC paths.  Cost: a partition list
        if a leftover of the instance is recorded; 1 create, then 2
        requests per HBA (or the storage group's 4 + 1 per path)."""
        hvtype.check(instance, hvtype.of_instance(instance),
                     fields.HVType.PRSM, 'DPM partitions')
        self._removal.settle(instance)
        part = self._subset.create(instance)
        group = None
        try:
            if self._subset.storage_groups:
                group, initiators = storage.create_group(
                    self._subset, part, naming.description(
                        self._subset.host, instance.name))
            else:
                initiators = self._create_hbas(part)
        except Exception:
            LOG.error('Preparing partition %s failed; removing it',
                      part.name, instance=instance)
            self._removal.instance_or_later(instance, part, 'stopped')
            raise
        storage.remember(instance, self._subset.host, initiators,
                         self._subset.config.cpc_object_id)
        self._building[instance.uuid] = (part, initiators, group)

    def _create_hbas(self, part):
        initiators = []
        for props in storage.hba_properties(
                self._subset.config.physical_storage_adapter_mappings):
            what = f'creating HBA {props["name"]} of {part.name}'
            hba = self._subset.hmc_call(what, part.hbas.create, props)
            wwpn = self._subset.hmc_call(what, hba.get_property, 'wwpn')
            initiators.append(storage.Initiator(hba.uri, wwpn))
        return initiators

    def spawn(self, instance, network_info, block_device_info, power_on):
        """NICs, boot properties, start, and the wait for Neutron to report
        the ports plugged (common.vifs).  Cost: 1 virtual switch list when
        a switch is new, 1 create per NIC, 1 update, a start job."""
        rebuilding = (instance.uuid not in self._building and
                      instance.task_state == task_states.REBUILD_SPAWNING)
        if rebuilding:
            part, initiators, group = self._kept_for_rebuild(instance)
        else:
            try:
                part, initiators, group = self._building.pop(instance.uuid)
            except KeyError:
                raise InstanceSetupError(instance.uuid, 'spawn without '
                                         'prepare_for_spawn on this host')
        try:
            vifs.bound(instance, network_info)
            volume, boot = self._boot_properties(instance, initiators,
                                                 block_device_info)
            specs = network.nic_specs(instance, network_info)
            parameters = network.boot_parameters(
                instance, specs, self._subset.vswitch_ports(
                    [s.vswitch_id for s in specs if s.vswitch_id]))
            if rebuilding:
                # Only once the ports, the boot volume and the switches
                # checked out: a rebuild refused above keeps its NICs.
                self._delete_nics(part)
            # The DPM agent reports a port up once it sees its NIC.
            with vifs.plugged(self._virtapi, instance, network_info):
                for spec in specs:
                    self._subset.hmc_call(
                        f'creating NIC {spec.name} of {part.name}',
                        part.nics.create, spec.properties(self._subset.host))
                if group is not None:   # boot from the group's volume
                    boot = storage.boot_volume(self._subset, group,
                                               volume.get('volume_size'),
                                               existing=rebuilding)
                boot['boot-os-specific-parameters'] = parameters
                self._subset.hmc_call(
                    f'setting boot properties of {part.name}',
                    part.update_properties, boot)
                if power_on:
                    partition.start(self._subset, part, 'stopped')
        except Exception:
            if not rebuilding:     # a rebuilt instance keeps its own
                LOG.error('Spawn failed; removing partition %s', part.name,
                          instance=instance)
                self._removal.instance_or_later(instance, part)
            raise

    def _kept_for_rebuild(self, instance):
        """The partition a rebuild keeps (stopped by destroy), its storage
        paths and group; spawn makes its NICs again from the ports."""
        try:
            part = self._subset.owned(instance)
        except exception.InstanceNotFound:
            # Nova would read InstanceNotFound as "deleted" and leave the
            # rebuild hanging: say what is wrong instead.
            raise InstanceSetupError(
                instance.uuid, 'its partition is gone, so it cannot be '
                'rebuilt; delete the server and create it again')
        group = self._removal.own_group(part)
        initiators = (storage.group_paths(self._subset, part, group)
                      if group is not None
                      else storage.partition_hbas(self._subset, part))
        return part, initiators, group

    def _delete_nics(self, part):
        """The NICs of a partition this host owns (spawn checked).  Cost:
        1 list, 1 delete per NIC."""
        for nic in self._subset.hmc_call(f'listing NICs of {part.name}',
                                         part.nics.list):
            self._subset.hmc_call(f'deleting NIC {nic.name}', nic.delete)

    def _boot_properties(self, instance, initiators, block_device_info):
        mappings = driver.block_device_info_get_mapping(block_device_info)
        root = block_device_info and block_device_info.get(
            'root_device_name')
        boot = next((m for m in mappings if m.get('boot_index') == 0 or
                     (root and m.get('mount_device') == root)), None)
        if boot is None:
            raise InstanceSetupError(
                instance.uuid, 'DPM partitions boot from a Cinder FC volume; '
                'create the server from a volume (openstack server create '
                '--volume ... or --boot-from-volume SIZE)')
        return boot, storage.boot_properties(
            instance, initiators, boot['connection_info'],
            self._subset.config.target_wwpn_ignore_list)
