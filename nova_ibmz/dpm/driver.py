# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova compute driver for IBM Z / LinuxONE partitions in DPM mode.

compute_driver = ibmz.DPMDriver.  The class maps Nova's calls onto the
parts: host.CPCSubset (the HMC, the CPC share and its partitions),
partition (names, ownership, power), build (making an instance's
partition), migration (resize and cold migration), evacuation (fencing the
failed host's partition first), removal (deleting partitions, also what
an HMC outage left), network (ports as NICs), storage (FC initiators and
boot volumes) and console (OS messages).

An instance's life on the HMC: prepare_for_spawn creates the stopped
partition and its HBAs, so the volume connector knows their WWPNs before
Cinder maps the boot volume; spawn adds the NICs, sets every boot property
in one update and starts the partition.  A failure undoes it all, and a
build the HMC fails ends with the HMC's own message (build_step).
"""

import uuid

import os_resource_classes as orc
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova.objects import diagnostics
from nova.objects import fields
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging

from nova_ibmz import conf
from nova_ibmz.common.exception import build_step
from nova_ibmz.common import leftovers
from nova_ibmz.dpm import build
from nova_ibmz.dpm import console
from nova_ibmz.dpm import evacuation
from nova_ibmz.dpm import host
from nova_ibmz.dpm import metrics
from nova_ibmz.dpm import migration
from nova_ibmz.hmc import naming
from nova_ibmz.dpm import partition
from nova_ibmz.dpm import removal
from nova_ibmz.dpm import storage

LOG = logging.getLogger(__name__)


class DPMDriver(driver.ComputeDriver):
    """The base class's capabilities, and evacuate: the destination stops
    the failed host's partition through the HMC before it makes its own,
    or refuses when the HMC cannot tell (evacuation.Evacuations).  (A
    resize or cold migration stops the source's partition first:
    migration.Moves.)"""

    capabilities = dict(driver.ComputeDriver.capabilities,
                        supports_evacuate=True)

    def __init__(self, virtapi, config=None, host_name=None,
                 session_factory=host.open_session,
                 known_instances=None):
        """Read [dpm] now, so several drivers can run in one process.

        known_instances(host) gives the uuids of Nova's instances on host
        (default: from Nova's database): their partitions are never
        orphans or leftovers.  What an HMC outage left is recorded under
        [DEFAULT] state_path.
        """
        super().__init__(virtapi)
        self._subset = host.CPCSubset(
            config or conf.dpm.load(conf.CONF), host_name or conf.CONF.host,
            session_factory=session_factory)
        self._host_given = host_name is not None
        self._usage = metrics.PartitionUsage(self._subset)
        self._removal = removal.Removal(
            self._subset, known_instances or leftovers.instances_on,
            conf.CONF.state_path)
        self._builds = build.Builds(virtapi, self._subset, self._removal)
        self._moves = migration.Moves(self._subset, self._builds,
                                      self._removal)
        self._evacuations = evacuation.Evacuations(self._subset,
                                                   self._builds)

    @property
    def _config(self):
        return self._subset.config

    def init_host(self, host):
        # The compute service's host names the subset, unless the driver
        # was built for a host: several services in one process (tests,
        # the sandbox) share one CONF.host.
        if not self._host_given:
            self._subset.set_host(host)
        self._subset.check()
        leftovers.ensure_identity(self._node_uuid())    # or no restart
        self._removal.retry()
        self._removal.orphans(self._config.orphan_action)

    # -- what Nova asks often: answered from one cached list ------------

    def list_instances(self):
        """Instance names, from the descriptions.  Partitions the retired
        nova-dpm made carry no name there: list_instance_uuids has them."""
        names = (naming.instance_name(p) for p in self._subset.partitions())
        return [n for n in names if n]

    def list_instance_uuids(self):
        return [naming.instance_uuid(p, self._subset.host)
                for p in self._subset.partitions()]

    def get_num_instances(self):
        return len(self._subset.partitions())

    def get_info(self, instance, use_cache=True):
        props = self._subset.find(instance, fresh=not use_cache)
        return hardware.InstanceInfo(
            state=partition.power_state_of(props.get('status')))

    def get_instance_diagnostics(self, instance):
        """State, IFLs and memory of the partition from the cached list,
        and the processor utilisation the HMC's metrics report for it (one
        figure for the partition, on every CPU).  The HMC keeps no CPU
        time of a partition, so none is reported."""
        props = self._subset.find(instance)
        busy = self._usage.processor_usage(props['object-uri'])
        diags = diagnostics.Diagnostics(
            state=power_state.STATE_MAP[partition.power_state_of(
                props.get('status'))],
            # 'driver' is an enum of nova's in-tree drivers: left unset.
            hypervisor=fields.HVType.PRSM,
            hypervisor_os='dpm', config_drive=False)
        for cpu in range(props.get('ifl-processors') or 0):
            diags.add_cpu(id=cpu, utilisation=busy)
        memory = props.get('initial-memory') or 0
        diags.memory_details = diagnostics.MemoryDiagnostics(
            maximum=memory, used=memory)
        return diags

    def get_diagnostics(self, instance):
        """The same facts as get_instance_diagnostics, as a plain dict."""
        diags = self.get_instance_diagnostics(instance)
        return {'state': diags.state, 'num_cpus': diags.num_cpus,
                'memory_mb': diags.memory_details.maximum,
                'processor_usage_percent': diags.cpu_details[0].utilisation
                if diags.cpu_details else None}

    def get_available_resource(self, nodename):
        """The subset's resources, for Nova's resource audit, which runs
        once a periodic interval: the moment to remove what an HMC outage
        left (removal.Removal.retry), if the HMC answers again."""
        self._removal.retry()
        return dict(self._subset.resources(), uuid=self._node_uuid())

    def get_available_nodes(self, refresh=False):
        return [self._subset.host]

    def get_nodenames_by_uuid(self, refresh=False):
        return {self._node_uuid(): self._subset.host}

    def _node_uuid(self):
        """The node's uuid comes from the CPC and the subset's host, not
        from the compute host's local file: stable across restarts, and
        distinct for several subsets managed from one machine."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f'ibmz-dpm:'
                              f'{self._config.cpc_object_id}/'
                              f'{self._subset.host}'))

    def get_host_uptime(self):
        """None, "not known": the HMC tells no start time of the CPC
        (host.CPCSubset.uptime).  The hypervisor details (2.88+) read it
        from the resources' stats without asking; this answers the older
        os-hypervisors/{id}/uptime the same way, not with a traceback.
        Cost: no request."""
        return self._subset.uptime()

    def get_host_cpu_stats(self):
        """The subset's CPU times in ns since the driver started (not the
        host's boot, which the HMC does not tell), integrated from the
        CPC's shared IFL usage; no kernel, I/O wait or frequency.  For
        [DEFAULT] compute_monitors = cpu.virt_driver.  Cost: 1 Get Metrics
        (metrics.PartitionUsage.host_cpu_stats)."""
        return self._usage.host_cpu_stats()

    def get_host_ip_addr(self):
        """The compute host's address (the partitions have their own)."""
        return conf.CONF.my_ip

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        """VCPU and MEMORY_MB of the subset; no DISK_GB (volumes only).

        IFLs are shared, so VCPU takes [DEFAULT] cpu_allocation_ratio; a
        partition's memory is its own, so MEMORY_MB is never overcommitted.
        """
        inventory = provider_tree.data(nodename).inventory
        ratios = self._get_allocation_ratios(inventory)
        config = self._config
        provider_tree.update_inventory(nodename, {
            orc.VCPU: {
                'total': config.max_processors, 'min_unit': 1,
                'max_unit': config.max_processors, 'step_size': 1,
                'reserved': 0, 'allocation_ratio': ratios[orc.VCPU]},
            orc.MEMORY_MB: {
                'total': config.max_memory, 'min_unit': 1,
                'max_unit': config.max_memory, 'step_size': 1,
                'reserved': 0, 'allocation_ratio': 1.0},
        })

    # -- building and removing ------------------------------------------

    def prepare_for_spawn(self, instance):
        with build_step(instance):
            self._builds.prepare(instance)

    def failed_spawn_cleanup(self, instance):
        self._builds.forget(instance)
        self._removal.instance_or_later(instance)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        with build_step(instance):
            self._builds.spawn(instance, network_info, block_device_info,
                               power_on)
        self._evacuations.arrived(instance)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        """Stop and delete the instance's partition; gone already is fine.

        The HMC deletes a partition's NICs and HBAs with it.  The volumes
        stay (Nova detaches them), and the connector can still be built
        from the WWPNs kept in the instance's system metadata.  When the HMC
        fails, the partition is removed once it answers again (removal):
        Nova's delete completes, as it does for instance files it cannot
        delete yet.

        A rebuild (Nova's default: destroy, re-image the boot volume,
        spawn) and the revert of a resize within the subset (destroy, then
        finish_revert_migration) keep the partition, stopped: its WWPNs
        are the ones Cinder maps the volumes to.  The revert of a move
        between hosts removes the destination's (migration.Moves), and a
        host evacuated while it was down removes its own when it runs
        again (Nova's init_host), also while the evacuation is still
        rebuilding the instance elsewhere.
        """
        if ((instance.task_state == task_states.REBUILDING and
             not self._evacuations.evacuated_from_here(context, instance)) or
                (instance.task_state == task_states.RESIZE_REVERTING and
                 self._moves.keeps_partition(context, instance))):
            self.power_off(instance)
            return
        self._builds.forget(instance)
        self._removal.instance_or_later(instance)

    # -- power ----------------------------------------------------------

    def _owned(self, instance):
        part = self._subset.owned(instance)
        return part, part.properties.get('status')

    def power_off(self, instance, timeout=0, retry_interval=0):
        """Stop the partition; one that is gone is off."""
        try:
            part, status = self._owned(instance)
        except exception.InstanceNotFound:
            LOG.warning('No partition to stop', instance=instance)
            return
        partition.stop(self._subset, part, status)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        partition.start(self._subset, *self._owned(instance))

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info=None, block_device_info=None):
        """Start the partition of an instance that should be running
        (nova-compute passes share_info before block_device_info)."""
        partition.start(self._subset, *self._owned(instance))

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        """Stop and start: PR/SM cannot ask the guest to reboot itself, so
        a soft reboot is a hard one."""
        part, status = self._owned(instance)
        partition.stop(self._subset, part, status)
        partition.start(self._subset, part, 'stopped')

    def trigger_crash_dump(self, instance):
        """PSW restart: a Linux guest with kdump writes its dump."""
        part, _ = self._owned(instance)
        partition.run_job(self._subset, f'PSW restart of partition '
                          f'{part.name}', part.psw_restart)

    # -- resize and cold migration (migration.Moves) ---------------------

    def migrate_disk_and_power_off(self, context, instance, dest,
                                   flavor, network_info,
                                   block_device_info=None,
                                   timeout=0, retry_interval=0):
        """Stop the partition for a resize or a move; its disks are
        volumes, so there is nothing to copy."""
        self._moves.leave(context, instance, dest, flavor)
        return ''

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        with build_step(instance):
            self._moves.arrive(migration, instance, network_info,
                               block_device_info, power_on)

    def confirm_migration(self, context, migration, instance, network_info):
        self._moves.confirm(migration, instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        # The compute manager has put the old flavor back on the instance.
        self._moves.revert(migration, instance, power_on)

    # -- volumes ----------------------------------------------------------

    def get_volume_connector(self, instance):
        """The FC connector: the instance's HBA WWPNs and this host.

        Unshelving a shelved-offloaded instance asks for the connector
        before spawn and never calls prepare_for_spawn, and so does the
        destination of a move between hosts before finish_migration, and
        that of an evacuation before spawn: the partition is made here, so
        Cinder maps the volumes to the WWPNs it will have.  An evacuation
        fences the source's partition first (evacuation.Evacuations).
        """
        unshelving = (getattr(instance, 'vm_state', None) ==
                      vm_states.SHELVED_OFFLOADED and
                      instance.task_state == task_states.SPAWNING and
                      instance.uuid not in self._builds)
        evacuating = self._evacuations.arriving(instance)
        if evacuating:
            with build_step(instance):
                self._evacuations.arrive(evacuating, instance)
        elif unshelving or self._moves.made_on_arrival(instance):
            self.prepare_for_spawn(instance)
        return {
            'host': self._subset.host,
            'ip': conf.CONF.my_block_storage_ip,
            'initiator': None,
            'wwpns': storage.remembered_wwpns(instance, self._subset.host),
            'wwnns': [],
            'platform': 's390x',
            'os_type': 'linux',
            'multipath': False,
        }

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        """Cinder has mapped the LUN to the instance's WWPNs: the guest's
        zfcp finds it on its HBAs, nothing changes on the HMC.  What is
        checked: an FC connection, one of our WWPNs reaching a target
        that is not ignored, and our partition."""
        data = storage.check_fc(instance, connection_info)
        self._owned(instance)
        storage.volume_path(
            instance, [storage.Initiator(None, w)
                       for w in storage.remembered_wwpns(
                           instance, self._subset.host)],
            data, self._config.target_wwpn_ignore_list)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        storage.check_fc(instance, connection_info)

    # -- console ----------------------------------------------------------

    def get_console_output(self, context, instance):
        part, _ = self._owned(instance)
        return console.output(self._subset, part)
