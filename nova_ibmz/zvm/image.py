# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Glance images in the Cloud Connector's image repository, and snapshots.

A z/VM image is a raw dump of a root minidisk behind the header the
connector's creatediskimage writes ("xCAT CKD Disk Image: 3338 CYL ...").
The connector deploys only what its repository holds, so a Glance image is
imported once, under its Glance id, and reused by every later boot.  The
file goes through image_tmp_path, where the connector copies it from (with
scp from this host when the connector runs elsewhere).

A snapshot is the reverse: the connector captures the root minidisk into
its repository, exports it to image_tmp_path, and we upload it to Glance.
"""

import collections
import hashlib
import os
import threading

from nova.compute import task_states
from nova import exception
from nova.image import glance
from nova.objects import fields
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import fileutils

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.zvm.client import ConnectorNotFound

LOG = logging.getLogger(__name__)

# Bytes of one unit of a root disk size the connector reports: a 3390
# cylinder formatted with 4 KB blocks, or an FBA block.
UNIT_BYTES = {'CYL': 737280, 'BLK': 512}
DISK_TYPE = {'CYL': 'ECKD', 'BLK': 'FBA'}
GiB = 1 << 30


class Images:
    """The connector's image repository as this host uses it."""

    def __init__(self, connector, tmp_path, remote_host):
        """remote_host: user@address the connector copies files from and
        to (scp), this host."""
        self._connector = connector
        self._tmp_path = tmp_path
        self.remote_host = remote_host
        # One import per image at a time: concurrent boots of a new image
        # wait for the first one's import instead of copying it twice.
        self._locks = collections.defaultdict(threading.Lock)
        # name -> (disk type, root disk bytes) of images known to be in
        # the repository.  A name is a Glance image id, whose data never
        # changes, and only this host removes images from its connector's
        # repository (delete): a boot of a known image asks nothing.
        self._known = {}

    def os_version(self, image_meta):
        """The image's os_distro, which the connector needs to configure
        the guest; an image without it cannot boot on z/VM."""
        distro = image_meta.properties.get('os_distro')
        if not distro:
            raise exception.ImageUnacceptable(
                image_id=image_meta.id,
                reason='it has no os_distro property (for example '
                       'rhel8.6, sles15, ubuntu22): the z/VM Cloud Connector '
                       'configures the guest by its distribution')
        return distro

    def ensure(self, context, image_meta):
        """The image in the connector's repository, imported if needed;
        returns (name, disk type, root disk bytes).  Cost: nothing for an
        image this host has seen there; else one GET /images when it is
        there, or a download from Glance, one POST /images and one GET."""
        name = image_meta.id
        os_version = self.os_version(image_meta)
        with self._locks[name]:
            if name not in self._known:
                try:
                    record = self._query(name)
                except ConnectorNotFound:
                    self._import(context, name, os_version)
                    record = self._query(name)
                self._known[name] = _disk(name, record)
        return (name, *self._known[name])

    def _query(self, name):
        return self._connector.get('/images', imagename=name)[0]

    def _import(self, context, name, os_version):
        path = os.path.join(self._tmp_path, name)
        fileutils.ensure_tree(self._tmp_path)
        LOG.info('Importing image %s into the z/VM Cloud Connector', name)
        try:
            glance.API().download(context, name, dest_path=path)
            with open(path, 'rb') as f:
                md5sum = hashlib.file_digest(f, 'md5').hexdigest()
            self._connector.post('/images', {'image': {
                'image_name': name, 'url': f'file://{path}',
                'image_meta': {'os_version': os_version, 'md5sum': md5sum},
                'remote_host': self.remote_host}})
        finally:
            # The connector keeps its own copy.
            fileutils.delete_if_exists(path)

    def exists(self, name):
        """Whether the repository holds an image.  Cost: one GET."""
        try:
            self._query(name)
            return True
        except ConnectorNotFound:
            return False

    def delete(self, name):
        """Remove an image from the repository; gone is fine.  Cost: one
        DELETE."""
        self._known.pop(name, None)
        self._connector.delete(f'/images/{name}')

    def snapshot(self, context, instance, uid, image_id, update_task_state):
        """Capture uid's root minidisk as Glance image image_id.  Cost:
        one capture action (the connector stops a running guest for it
        and starts it again), one PUT /images export, one DELETE, and the
        upload to Glance."""
        image_api = glance.API()
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        path = os.path.join(self._tmp_path, image_id)
        fileutils.ensure_tree(self._tmp_path)
        try:
            self._connector.action(uid, 'capture', image=image_id,
                                   capture_type='rootonly')
            try:
                exported = self._connector.put(
                    f'/images/{image_id}', {'location': {
                        'dest_url': f'file://{path}',
                        'remote_host': self.remote_host}})
            finally:
                self.delete(image_id)
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            metadata = {
                'status': 'active', 'disk_format': 'raw',
                'container_format': 'bare',
                'properties': {
                    'image_location': 'snapshot',
                    'image_state': 'available',
                    'owner_id': instance.project_id,
                    'os_distro': exported['os_version'],
                    'architecture': fields.Architecture.S390X,
                    'hypervisor_type': fields.HVType.ZVM,
                }}
            with open(path, 'rb') as data:
                image_api.update(context, image_id, metadata, data,
                                 purge_props=False)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Snapshot of %s failed; deleting image %s',
                          uid, image_id, instance=instance)
                image_api.delete(context, image_id)
        finally:
            fileutils.delete_if_exists(path)


def _disk(name, record):
    """(disk type, root disk bytes) of the connector's image record."""
    units, _, kind = record['disk_size_units'].partition(':')
    if kind not in UNIT_BYTES:
        raise exception.ImageUnacceptable(
            image_id=name, reason=f'the connector reads its disk size '
            f'as {record["disk_size_units"]!r}, not cylinders or blocks')
    return DISK_TYPE[kind], int(units) * UNIT_BYTES[kind]


def root_gb(flavor_root_gb, image_bytes, instance, disk_type='ECKD'):
    """The root minidisk size in GiB: the flavor's, which must hold the
    image; the image's (rounded up) when the flavor gives 0.

    The connector makes a disk of N GiB of whole cylinders (blocks),
    rounded up: a disk of N GiB holds a little more than N GiB, and an
    image captured from it (a snapshot) is that size, which fits N GiB."""
    unit = UNIT_BYTES[{v: k for k, v in DISK_TYPE.items()}[disk_type]]
    units = -(-image_bytes // unit)
    # The fewest GiB whose disk has at least that many units.
    image_gb = (units - 1) * unit // GiB + 1 if units else 0
    if not flavor_root_gb:
        return image_gb
    if flavor_root_gb < image_gb:
        raise InstanceSetupError(
            instance.uuid, f'the image needs a root disk of {image_gb} GiB, '
            f'the flavor gives {flavor_root_gb} GiB')
    return flavor_root_gb
