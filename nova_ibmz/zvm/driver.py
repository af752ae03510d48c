# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova compute driver for guests of IBM z/VM, through the Cloud Connector.

compute_driver = ibmz.ZVMDriver.  The class only maps Nova's calls onto the
parts: client.CloudConnector (REST), host.ZVMHost (the z/VM system),
guest.Guests (ownership, CP state, power), build (making a guest), removal
(deleting guests, also what an outage of the connector left), resize,
migration.Migrations (VMRELOCATE and the connector's resize operations),
image.Images (the connector's image repository, snapshots), network,
volume and configdrive (what the guest boots with).

An instance's life on z/VM: spawn imports the Glance image into the
connector once, defines the guest with its root minidisk at 0100, deploys
the image with the config drive punched to the guest's reader, and logs
the guest on.  A failure deletes the guest with all it was given, and a
build the connector fails ends with the connector's own message
(build_step).
"""

import getpass
import os
import uuid

import os_resource_classes as orc
from nova.compute import power_state
from nova.compute import task_states
from nova import exception
from nova.objects import diagnostics
from nova.objects import fields
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova_ibmz.common.exception import build_step
from nova_ibmz.common import leftovers
from nova_ibmz import conf
from nova_ibmz.zvm import build
from nova_ibmz.zvm import client
from nova_ibmz.zvm import guest
from nova_ibmz.zvm import host
from nova_ibmz.zvm import image
from nova_ibmz.zvm import migration as zvm_migration
from nova_ibmz.zvm import network
from nova_ibmz.zvm import removal
from nova_ibmz.zvm import resize
from nova_ibmz.zvm import volume

LOG = logging.getLogger(__name__)
CONF = conf.CONF


class ZVMDriver(driver.ComputeDriver):

    capabilities = dict(driver.ComputeDriver.capabilities,
                        supports_attach_interface=True,
                        supports_evacuate=True)

    def __init__(self, virtapi, config=None, instance_host=None):
        """Read [zvm] now, so several drivers can run in one process.

        instance_host(uuid) gives the compute host Nova has the instance
        on (default: from Nova's database), before a guest an outage left
        is removed.  What an outage left is recorded under [DEFAULT]
        state_path.
        """
        super().__init__(virtapi)
        self._config = config = config or conf.zvm.load(CONF)
        self._connector = client.CloudConnector(
            config.cloud_connector_url, verify=config.verify,
            admin_token=config.admin_token,
            timeout=config.connector_timeout,
            retries=config.connector_retries, backoff=config.retry_backoff)
        self._host = host.ZVMHost(self._connector)
        # The compute host it serves: computes started in one process (as
        # in the functional tests) share CONF, whose host is the last one.
        self._nova_host = CONF.host
        self._guests = guest.Guests(self._connector)
        self._tmp_path = config.image_tmp_path or os.path.join(
            CONF.instances_path, 'zvm')
        self._network = network.Network(self._connector, config.vswitch)
        self._volumes = volume.Volumes(self._connector, CONF.host)
        self._migrations = zvm_migration.Migrations(self._connector)
        self._images = image.Images(
            self._connector, self._tmp_path,
            remote_host=f'{getpass.getuser()}@{CONF.my_ip}')
        self._removal = removal.Removal(
            self._connector, self._guests, self._volumes, self._images,
            instance_host or leftovers.host_of, self._nova_host,
            CONF.state_path)
        self._resizes = resize.Resizes(config, self._guests, self._images,
                                       self._migrations, self._removal)
        self._builds = build.Builds(
            virtapi, config, self._connector, self._guests, self._images,
            self._network, self._volumes, self._migrations, self._removal,
            self._tmp_path)

    def init_host(self, host):
        guest.check_name_template(CONF.instance_name_template)
        self._host.info()  # fails clearly if the connector is unreachable
        leftovers.ensure_identity(self._node_uuid())    # or no restart
        self._removal.retry()

    # -- what Nova asks often: answered from the cache -------------------

    def list_instances(self):
        return self._guests.names()

    def get_num_instances(self):
        """From the cached list of our guests: Nova's power-state sync
        asks this, then get_info for each instance, and the whole sync
        costs the one GET /guests/stats of the cache."""
        return len(self._guests.owned_userids())

    def list_instance_uuids(self):
        """The uuids our guests' directory entries are marked with (spawn
        marks them): also those of instances Nova has moved to another
        host since, which the compute manager then cleans up here."""
        return self._guests.instance_uuids()

    def instance_exists(self, instance):
        return self._guests.exists(instance)

    def get_info(self, instance, use_cache=True):
        return hardware.InstanceInfo(
            state=self._guests.power_state(instance, use_cache=use_cache))

    def get_available_resource(self, nodename):
        """The z/VM system's resources, for Nova's resource audit, which
        runs once a periodic interval: the moment to remove what an outage
        of the connector left (removal.Removal.retry), if it answers."""
        self._removal.retry()
        return dict(self._host.resources(), uuid=self._node_uuid())

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        """VCPU, MEMORY_MB and DISK_GB (the [zvm] disk pool) of the z/VM
        system, as GET /host reports them; nova-compute 34 has no other way
        to learn the inventory.  The answer is the one of the last resource
        audit (get_available_resource reads GET /host every periodic
        interval, right before this): a claim or the abort of a failed
        build, which update the inventory too, then cost nothing, and do
        not fail for a connector that is away.  Cost: none once the host
        was read, else one GET /host."""
        info = self._host.info(max_age=None)
        ratios = self._get_allocation_ratios(
            provider_tree.data(nodename).inventory)
        totals = {orc.VCPU: (info['vcpus'], CONF.reserved_host_cpus),
                  orc.MEMORY_MB: (info['memory_mb'],
                                  CONF.reserved_host_memory_mb),
                  orc.DISK_GB: (info['disk_total'],
                                self._get_reserved_host_disk_gb_from_config())}
        provider_tree.update_inventory(nodename, {
            rc: {'total': int(total), 'min_unit': 1, 'max_unit': int(total),
                 'step_size': 1, 'allocation_ratio': ratios[rc],
                 'reserved': reserved}
            for rc, (total, reserved) in totals.items() if int(total) > 0})

    def get_available_nodes(self, refresh=False):
        return [self._host.node]

    def get_nodenames_by_uuid(self, refresh=False):
        return {self._node_uuid(): self._host.node}

    def _node_uuid(self):
        """The node's uuid comes from the compute host and the z/VM system
        it manages, not from the machine's compute_id file (as for DPM):
        stable across restarts, and distinct for the computes of several
        z/VM systems run from one machine, whose shared file Nova would
        take for a renamed node."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL,
                              f'ibmz-zvm:{self._nova_host}/{self._host.node}'))

    def get_host_uptime(self):
        return self._host.uptime()

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_instance_diagnostics(self, instance):
        """CPUs, memory and CPU time from the connector's guest info."""
        uid = self._guests.owned(instance)
        info = self._connector.get(f'/guests/{uid}/info')
        state = self._guests.power_state(instance)
        diags = diagnostics.Diagnostics(
            state=power_state.STATE_MAP[state],
            # 'driver' is an enum of other hypervisors' drivers: unset.
            hypervisor=fields.HVType.ZVM, hypervisor_os='z/VM',
            config_drive=True)
        cpus = info.get('online_cpu_num') or info.get('num_cpu') or 0
        for cpu in range(cpus):
            # The connector gives the guest's total CPU time only.
            diags.add_cpu(id=cpu,
                          time=info.get('cpu_time_us', 0) * 1000 // cpus)
        diags.memory_details = diagnostics.MemoryDiagnostics(
            maximum=info.get('max_mem_kb', 0) // 1024,
            used=info.get('mem_kb', 0) // 1024)
        return diags

    def get_diagnostics(self, instance):
        uid = self._guests.owned(instance)
        info = self._connector.get(f'/guests/{uid}/info')
        return {'power_state': info['power_state'],
                'num_cpu': info.get('num_cpu'),
                'online_cpu_num': info.get('online_cpu_num'),
                'cpu_time_us': info.get('cpu_time_us'),
                'mem_kb': info.get('mem_kb'),
                'max_mem_kb': info.get('max_mem_kb')}

    # -- building and removing -----------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        with build_step(instance):
            self._builds.spawn(context, instance, image_meta, injected_files,
                               admin_password, network_info,
                               block_device_info, power_on)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        """Delete our guest (CP logs it off first) after counting its
        volumes off its FCP devices and freeing them; one that is gone, or
        not ours, is left alone.  When the connector fails, the guest is
        removed once it answers again (removal): Nova's delete completes,
        as it does for instance files it cannot delete yet.  The revert of
        a resize to another SSI member destroys the instance on the
        destination: the guest is the same one, so it is only logged off
        and given back."""
        uid = guest.userid(instance)
        if instance.task_state == task_states.RESIZE_REVERTING:
            if resize.same_host(context, instance):
                return      # finish_revert_migration resizes it back
            if self.instance_exists(instance):
                self._guests.action(instance, 'stop', state_after='off')
                self._migrations.release(uid)
                self._guests.forgotten(uid)
            return
        if instance.host and instance.host != self._nova_host:
            # Evacuated to another member, which runs the guest now (the
            # directory is the cluster's): forget it here, nothing more.
            if self.instance_exists(instance):
                self._migrations.release(uid)
                self._guests.forgotten(uid)
            return
        self._removal.instance_or_later(instance, uid, block_device_info)
        self._builds.forget(instance)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        """destroy() removed everything: the guest held it all."""

    # -- power -----------------------------------------------------------

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._guests.power_off(instance, timeout, retry_interval)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._guests.power_on(instance)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info=None, block_device_info=None):
        self.power_on(context, instance, network_info, block_device_info)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        """Soft: the guest reboots itself (through IUCV); hard: CP logs it
        off and on again."""
        guest.mark_paused(instance, False)
        if reboot_type == 'SOFT':
            self._guests.action(instance, 'reboot', state_after='on')
        else:
            self._guests.action(instance, 'reset', state_after='on')

    def pause(self, instance):
        """CP stops the guest's CPUs; memory stays."""
        self._guests.action(instance, 'pause')
        guest.mark_paused(instance, True)

    def unpause(self, instance):
        self._guests.action(instance, 'unpause')
        guest.mark_paused(instance, False)

    # -- volumes ----------------------------------------------------------

    def get_volume_connector(self, instance):
        """The FC connector: the WWPNs of the FCP devices the connector
        reserves for the guest (which need not exist yet)."""
        return self._volumes.connector(guest.userid(instance))

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        uid = self._guests.owned(instance)
        self._volumes.attach(uid, guest.os_version(instance), connection_info,
                             mountpoint, self._volumes.connector(uid))

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        try:
            uid = self._guests.owned(instance)
        except exception.InstanceNotFound:
            return      # gone with its guest
        self._volumes.detach(uid, guest.os_version(instance), connection_info,
                             mountpoint, self._volumes.connector(uid))

    # -- live migration between SSI members (VMRELOCATE) ------------------

    def check_can_live_migrate_destination(self, context, instance,
                                           src_compute_info, dst_compute_info,
                                           block_migration=False,
                                           disk_over_commit=False):
        return zvm_migration.migrate_data(self._host.node)

    def cleanup_live_migration_destination_check(self, context,
                                                 dest_check_data):
        """The destination check changed nothing."""

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data,
                                      block_device_info=None):
        self._migrations.check(self._guests.owned(instance),
                               zvm_migration.destination(dest_check_data))
        return dest_check_data

    def pre_live_migration(self, context, instance, block_device_info,
                           network_info, disk_info, migrate_data):
        """The directory, minidisks and vswitches are the cluster's."""
        return migrate_data

    def live_migration(self, context, instance, dest, post_method,
                       recover_method, block_migration=False,
                       migrate_data=None):
        uid = self._guests.owned(instance)
        try:
            self._migrations.move(
                uid, zvm_migration.destination(migrate_data))
        except Exception as e:
            # As nova's libvirt driver does: the rollback ends the
            # migration; the guest never left and the server stays ACTIVE.
            LOG.error('Live migration of %s failed: %s', uid, e,
                      instance=instance)
            recover_method(context, instance, dest, migrate_data)
            return
        self._guests.forgotten(uid)
        post_method(context, instance, dest, block_migration, migrate_data)

    def get_instance_disk_info(self, instance, block_device_info=None):
        """No disk to copy: the minidisks are in the cluster's disk pools,
        which every member reaches."""
        return jsonutils.dumps([])

    def post_live_migration_at_source(self, context, instance, network_info):
        """The source's connector drops the guest on the move; make sure."""
        self._migrations.release(guest.userid(instance))

    def post_live_migration_at_destination(self, context, instance,
                                           network_info,
                                           block_migration=False,
                                           block_device_info=None):
        self._resizes.adopt(instance, network_info, 'on')

    def rollback_live_migration_at_destination(
            self, context, instance, network_info, block_device_info,
            destroy_disks=True, migrate_data=None):
        """The guest never left the source: nothing here to undo."""

    # -- resize (cold; to this member or another of the SSI cluster) -------

    def migrate_disk_and_power_off(self, context, instance, dest,
                                   flavor, network_info,
                                   block_device_info=None,
                                   timeout=0, retry_interval=0):
        self._resizes.prepare(context, instance, flavor, timeout,
                              retry_interval)
        return ''

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        self._resizes.finish(migration, instance, network_info, power_on)

    def confirm_migration(self, context, migration, instance, network_info):
        self._resizes.confirm(migration, instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        self._resizes.revert(migration, instance, network_info, power_on)

    # -- networks ---------------------------------------------------------

    def attach_interface(self, context, instance, image_meta, vif):
        self._network.attach(self._guests.owned(instance),
                             guest.os_version(instance), vif)

    def detach_interface(self, context, instance, vif):
        self._network.detach(self._guests.owned(instance),
                             guest.os_version(instance), vif)

    # -- images and consoles ---------------------------------------------

    def snapshot(self, context, instance, image_id, update_task_state):
        try:
            uid = self._guests.owned(instance)
        except exception.InstanceNotFound:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        self._images.snapshot(context, instance, uid, image_id,
                              update_task_state)

    def get_console_output(self, context, instance):
        return self._guests.action(instance, 'get_console_output')
