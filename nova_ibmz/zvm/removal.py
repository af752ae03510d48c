# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Removing guests: an instance's own, and what a failed operation left
behind.

An instance's guest is removed only when it is ours (guest.Guests.owned):
every other user of the z/VM system is left alone.  Its volumes are
counted off its FCP devices first, then the devices are freed, then the
guest goes (CP logs it off).

When the Cloud Connector stops answering in the middle of it, the guest is
recorded as a leftover (common.leftovers), with the volumes it had, and
removed once the connector answers again: at the next start, or from
Nova's resource audit.  Before that, the guest's directory entry must still
carry the mark of the instance recorded, and Nova must have the instance on
no host: the directory is the SSI cluster's, so an instance that has moved
on to another member since (an unshelve) may have a new guest of the same
userid there, which must not be mistaken for the leftover.  A resize's copy
of a root disk, which a confirm could not delete, is recorded the same way.
"""

import os

from nova import exception
from nova.virt import driver
from oslo_log import log as logging

from nova_ibmz.common import leftovers
from nova_ibmz.zvm.client import ConnectorNotFound
from nova_ibmz.zvm import guest

LOG = logging.getLogger(__name__)


def boot_mapping(block_device_info):
    """The block device Nova boots the instance from, if a volume."""
    root = (block_device_info or {}).get('root_device_name')
    return next((m for m in driver.block_device_info_get_mapping(
        block_device_info) if m.get('boot_index') == 0 or
        (root and m.get('mount_device') == root)), None)


def _volumes(block_device_info):
    """What removing the guest needs to know of its volumes, in a form a
    leftover record keeps (JSON)."""
    root = boot_mapping(block_device_info)
    return [{'connection_info': bdm['connection_info'],
             'mount_device': bdm['mount_device'], 'root': bdm is root}
            for bdm in driver.block_device_info_get_mapping(
                block_device_info)]


class Removal:
    """Deletes the guests (and resize copies) of one Cloud Connector.

    instance_host(uuid) gives the compute host Nova has the instance on,
    None for none (common.leftovers.host_of).
    """

    def __init__(self, connector, guests, volumes, images, instance_host,
                 host, state_path):
        self._connector = connector
        self._guests = guests
        self._volumes = volumes
        self._images = images
        self._instance_host = instance_host
        self._host = host
        self.leftovers = leftovers.Leftovers(os.path.join(
            state_path, 'nova-ibmz', f'zvm-{host}-leftovers.json'))

    # -- an instance's guest ----------------------------------------------

    def instance(self, instance, uid, block_device_info,
                 connector_info=None):
        """Remove our guest of the instance; one that is not ours (or
        gone) is left alone, found out with one GET /guests at most.
        connector_info: the guest's volume connector, if the caller has
        it already.  Cost: see remove()."""
        try:
            self._guests.owned(instance)
        except exception.InstanceNotFound:
            LOG.info('No guest %s of this host to delete', uid,
                     instance=instance)
            return
        self.remove(uid, guest.os_version(instance),
                    _volumes(block_device_info), connector_info)

    def remove(self, uid, os_version, volumes, connector_info=None):
        """Count the volumes off the guest's FCP devices, free the devices,
        delete the guest.  Cost: with volumes, 1 connector request and up
        to 3 per volume; 2 to free the devices; 1 DELETE."""
        if volumes:
            connector_info = connector_info or self._volumes.connector(uid)
        for volume in volumes:
            self._volumes.detach(
                uid, os_version, volume['connection_info'],
                volume['mount_device'], connector_info,
                is_root_volume=volume['root'], connections_only=True)
        self._volumes.release(uid)
        self._guests.delete(uid)

    def instance_or_later(self, instance, uid, block_device_info,
                          connector_info=None):
        """As instance(), but a failure records the guest as a leftover
        instead of raising: the caller's own outcome (a failed build's
        error, a delete that Nova completes) stands."""
        try:
            self.instance(instance, uid, block_device_info, connector_info)
        except Exception as e:
            self._remember_guest(instance, uid, e,
                                 _volumes(block_device_info))

    def half_made(self, instance, uid):
        """After a failed POST /guests: the connector may have defined the
        guest before it failed (a minidisk it could not make, an answer
        lost); one marked as the instance's goes, or is recorded.  Cost: 1
        GET, and the removal if there is a guest."""
        try:
            self._remove_marked(instance.uuid, uid,
                                guest.os_version(instance), [])
        except Exception as e:
            self._remember_guest(instance, uid, e, [])

    def image_or_later(self, instance, name):
        """Delete an image of the connector's repository that a resize
        made (gone is fine), or record it as a leftover.  Cost: 1 DELETE.
        """
        try:
            self._delete_image(name)
        except Exception as e:
            self.leftovers.remember(f'image {name}', instance.uuid,
                                    _message(e), image=name)

    def settle(self, instance, uid):
        """Before the instance's guest is made again (an unshelve after a
        removal failed): remove the one recorded as left over, or raise."""
        self.leftovers.settle(self._key(uid), self._remove_recorded)

    @staticmethod
    def _key(uid):
        return f'guest {uid}'

    def _remember_guest(self, instance, uid, error, volumes):
        self.leftovers.remember(
            self._key(uid), instance.uuid, _message(error), userid=uid,
            os_version=guest.os_version(instance), volumes=volumes)

    # -- leftovers -----------------------------------------------------

    def retry(self):
        """Remove what earlier operations left, if the connector answers.
        Cost: nothing without leftovers; else per guest 1 GET and a
        removal, per image 1 DELETE."""
        if not len(self.leftovers):
            return 0

        def remove(key, record):
            if 'image' in record:       # named after its migration
                self._delete_image(record['image'])
                return True
            where = self._instance_host(record['instance'])
            if where == self._host:
                return False        # its build here settles it
            if where is not None:
                LOG.warning('%s is not removed: instance %s is on host %s '
                            'now, and its guest there has that userid',
                            key, record['instance'], where)
                return True
            self._remove_recorded(record)
            return True
        return self.leftovers.retry(remove)

    def _delete_image(self, name):
        try:
            self._images.delete(name)
        except ConnectorNotFound:
            pass                    # gone

    def _remove_recorded(self, record):
        self._remove_marked(record['instance'], record['userid'],
                            record['os_version'], record['volumes'])

    def _remove_marked(self, instance_uuid, uid, os_version, volumes):
        """Remove guest uid if its directory entry carries the mark of the
        instance.  Cost: 1 GET, and remove()."""
        try:
            entry = self._connector.get(f'/guests/{uid}/user_direct')
        except ConnectorNotFound:
            return                  # gone
        if guest.marked_uuid(entry['user_direct']) != instance_uuid:
            LOG.warning('z/VM user %s is not the guest of instance %s (its '
                        'directory entry says otherwise): left alone', uid,
                        instance_uuid)
            return
        self.remove(uid, os_version, volumes)


def _message(error):
    """The error's text, as Nova's own exceptions format it."""
    format_message = getattr(error, 'format_message', None)
    return format_message() if format_message else str(error)
