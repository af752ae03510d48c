# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Building an instance's guest.

spawn() imports the Glance image into the connector once, defines the
guest with its root minidisk at 0100 (or its FCP devices, to boot from a
volume), marked as the instance's in its directory entry; attaches the
volumes, deploys the image with the config drive punched to the guest's
reader, couples the NICs and logs the guest on.  A failure deletes the
guest with all it was given, or, when the connector has gone away
meanwhile, records it for removal once the connector answers
(removal.Removal).

The Cloud Connector's POST /guests is not atomic: when a minidisk cannot
be made, the guest stays defined and the request fails.  A guest that
carries this instance's mark after a failed define is ours, and goes too.
"""

import os

from nova.compute import task_states
from nova.objects import fields
from nova.virt import driver
from oslo_log import log as logging
from oslo_utils import fileutils

from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common import hvtype
from nova_ibmz.common import vifs
from nova_ibmz.zvm import client
from nova_ibmz.zvm import configdrive
from nova_ibmz.zvm import guest
from nova_ibmz.zvm import image
from nova_ibmz.zvm import migration as zvm_migration
from nova_ibmz.zvm import removal as zvm_removal
from nova_ibmz.zvm import volume

LOG = logging.getLogger(__name__)


class Builds:
    """Makes the guests of one Cloud Connector (parts: see the driver)."""

    def __init__(self, virtapi, config, connector, guests, images, network,
                 volumes, migrations, removal, tmp_path):
        self._virtapi = virtapi
        self._config = config
        self._connector = connector
        self._guests = guests
        self._images = images
        self._network = network
        self._volumes = volumes
        self._migrations = migrations
        self._removal = removal
        self._tmp_path = tmp_path

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, network_info, block_device_info, power_on):
        """Cost (from an image in the repository, no volumes): 1 GET
        /images, 1 POST /guests, deploy, the NICs (network.Network.plug),
        start."""
        hvtype.check(instance, image_meta.properties.get('img_hv_type'),
                     fields.HVType.ZVM, 'z/VM guests')
        vifs.bound(instance, network_info)
        uid = guest.userid(instance)
        self._removal.settle(instance, uid)
        os_version = self._images.os_version(image_meta)
        pool = str(self._config.disk_pool)
        disks = [{'size': f'{eph["size"]}g', 'disk_pool': pool,
                  'format': eph.get('guest_format') or 'ext4'}
                 for eph in driver.block_device_info_get_ephemerals(
                     block_device_info)]
        mappings = driver.block_device_info_get_mapping(block_device_info)
        boot = zvm_removal.boot_mapping(block_device_info)
        connector_info = self._volumes.connector(uid) if mappings else None
        # Nova keeps the image's properties with the instance; volumes and
        # interfaces attached later need the distribution.
        instance.system_metadata.setdefault('image_os_distro', os_version)
        if boot is not None:
            # The volume holds the system Cinder wrote from the image.
            image_name = None
            self._define(instance, uid, disks, volume.boot_definition(
                uid, connector_info, boot['connection_info']))
        else:
            image_name, root = self._root_disk(context, instance, image_meta)
            self._define(instance, uid, [root] + disks)
        try:
            if boot is not None:
                self._volumes.prepare_boot(uid, os_version,
                                           boot['connection_info'],
                                           connector_info)
            for bdm in mappings:
                if bdm is not boot:
                    self._volumes.attach(uid, os_version,
                                         bdm['connection_info'],
                                         bdm['mount_device'], connector_info)
            self._deploy(instance, uid, image_name, os_version,
                         injected_files, network_info, admin_password)
            with vifs.plugged(self._virtapi, instance, network_info):
                self._network.plug(uid, os_version, network_info,
                                   hostname=instance.hostname)
            if power_on:
                self._guests.action(instance, 'start', state_after='on')
        except Exception:
            LOG.error('Spawn failed; deleting guest %s', uid,
                      instance=instance)
            self._removal.instance_or_later(instance, uid, block_device_info,
                                            connector_info)
            raise

    def _root_disk(self, context, instance, image_meta):
        """The image in the connector's repository, and the root minidisk
        that holds it in the [zvm] disk pool."""
        name, disk_type, image_bytes = self._images.ensure(context,
                                                           image_meta)
        pool = self._config.disk_pool
        if disk_type != pool.disk_type:
            raise InstanceSetupError(
                instance.uuid, f'image {image_meta.id} is a dump of an '
                f'{disk_type} disk, and this host deploys to {pool} ([zvm] '
                f'disk_pool)')
        root_gb = image.root_gb(instance.flavor.root_gb, image_bytes,
                                instance, disk_type)
        return name, {'size': f'{root_gb}g', 'is_boot_disk': True,
                      'disk_pool': str(pool)}

    def _define(self, instance, uid, disks, boot_from=None):
        """POST /guests (boot_from: the fields of a guest that IPLs from a
        volume), marked as the instance's in its directory entry.  A userid
        z/VM has already is refused without touching it, unless an
        evacuation finds this instance's own guest, left by a failed
        member of the SSI cluster: that one is taken over and made anew."""
        body = dict(boot_from or {}, userid=uid, vcpus=instance.flavor.vcpus,
                    memory=instance.flavor.memory_mb,
                    comments=[guest.owner_mark(instance)])
        body['disk_list'] = disks + body.get('disk_list', [])
        if self._config.user_profile:
            body['user_profile'] = self._config.user_profile
        try:
            self._connector.post('/guests', {'guest': body})
        except client.ConnectorError as e:
            if e.status != 409:
                self._removal.half_made(instance, uid)
                raise
            if not self._take_over(instance, uid):
                raise InstanceSetupError(
                    instance.uuid, f'z/VM has a user {uid} already, which '
                    f'is not this instance\'s; check instance_name_template '
                    f'against the z/VM directory')
            self._connector.post('/guests', {'guest': body})
        except HypervisorUnreachable:
            # The connector may have made it before the answer was lost.
            self._removal.half_made(instance, uid)
            raise
        self._guests.adopted(uid, instance.uuid)

    def _take_over(self, instance, uid):
        """During an evacuation, delete the guest of the instance that a
        failed member left in the shared directory, so it can be made
        anew here: only when its directory entry carries this instance's
        mark (the guest of any other workload is never touched).  Cost:
        one GET; then register_vm and DELETE."""
        if instance.task_state != task_states.REBUILD_SPAWNING:
            return False
        try:
            self._guests.check_mark(instance, uid)
        except InstanceSetupError:
            return False
        LOG.warning('Evacuation: taking over guest %s, which this instance '
                    'left on another member of the SSI cluster', uid,
                    instance=instance)
        self._migrations.register(uid, guest.os_version(instance))
        self._guests.adopted(uid)
        self._guests.delete(uid)
        return True

    def _drive(self, instance):
        return os.path.join(self._tmp_path, f'{instance.uuid}.iso')

    def forget(self, instance):
        """The config drive a spawn made and could not delete: one whose
        nova-compute was killed while the connector deployed it.  Cost:
        none on the connector."""
        fileutils.delete_if_exists(self._drive(instance))

    def _deploy(self, instance, uid, image_name, os_version, injected_files,
                network_info, admin_password):
        """The image onto 0100 (none when the guest boots from a volume),
        the config drive into the reader."""
        fileutils.ensure_tree(self._tmp_path)
        drive = self._drive(instance)
        try:
            configdrive.build(instance, drive, injected_files, network_info,
                              admin_password)
            disk = ({'image': image_name, 'vdev': zvm_migration.ROOT_VDEV}
                    if image_name
                    else {'image': os_version, 'skipdiskcopy': True})
            self._guests.action(
                instance, 'deploy', transportfiles=drive,
                remotehost=self._images.remote_host,
                hostname=instance.hostname, **disk)
        finally:
            fileutils.delete_if_exists(drive)
        instance.config_drive = 'True'
