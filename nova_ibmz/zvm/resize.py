# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Cold resize of a guest, on its member or to another of the SSI cluster,
and taking a guest of the shared directory into this host's connector.

The minidisks are in the cluster's disk pools and the directory is the
cluster's: a resize copies nothing.  The source logs the guest off (or
leaves a running guest that only grows running); the destination takes it
in (adopt: only a guest marked as the instance's), grows its root disk if
the flavor asks (through a capture kept until confirm or revert) and
applies the flavor, live where it can.  A live migration's destination
takes the guest in the same way.
"""

from nova.compute import power_state
from nova import exception
from nova import objects
from oslo_log import log as logging

from nova_ibmz.zvm import guest
from nova_ibmz.zvm import migration as zvm_migration

LOG = logging.getLogger(__name__)


def root_backup(migration):
    """The connector's image of a root disk that a resize enlarged, kept
    until the resize is confirmed or reverted: named after the migration,
    so that a copy a confirm could not delete is never another resize's."""
    return f'resize-{migration.uuid}'


def same_host(context, instance):
    """Whether the instance's migration stays on its compute host.  Nova
    passes the destination's address only, which the computes of several
    z/VM systems on one machine share: the record names it."""
    migration_context = (instance.migration_context if
                         instance.obj_attr_is_set('migration_context')
                         else None)
    if not migration_context:
        return False
    record = objects.Migration.get_by_id(context,
                                         migration_context.migration_id)
    return record.source_compute == record.dest_compute


class Resizes:
    """The resizes of one Cloud Connector's guests."""

    def __init__(self, config, guests, images, migrations, removal):
        self._config = config
        self._guests = guests
        self._images = images
        self._migrations = migrations
        self._removal = removal

    def adopt(self, instance, network_info, state):
        """Take the instance's guest of the shared directory into our
        connector: only a guest marked as the instance's, never another
        workload's of that name.  Cost: one GET, one register_vm."""
        uid = guest.userid(instance)
        self._guests.check_mark(instance, uid)
        self._migrations.register(
            uid, guest.os_version(instance),
            [(vif['address'], vif['id']) for vif in network_info or []])
        self._guests.adopted(uid, instance.uuid)
        self._guests.record(uid, state)

    def _running(self, instance):
        return (self._guests.power_state(instance, use_cache=False) ==
                power_state.RUNNING)

    def prepare(self, context, instance, flavor, timeout, retry_interval):
        """On the source: check the new flavor against the guest, then log
        it off, unless it stays on this member running and only grows CPUs
        and memory (finish resizes it live)."""
        uid = self._guests.owned(instance)
        stays = same_host(context, instance)
        self._migrations.check_resize(uid, instance.flavor, flavor,
                                      same_host=stays)
        live = (stays and flavor.vcpus >= instance.flavor.vcpus and
                flavor.memory_mb >= instance.flavor.memory_mb and
                not zvm_migration.root_grows(instance.flavor, flavor) and
                self._running(instance))
        if not live:
            self._guests.power_off(instance, timeout, retry_interval)

    def finish(self, migration, instance, network_info, power_on):
        """On the destination: the guest taken in, its root disk grown,
        the flavor applied."""
        if migration.source_compute != migration.dest_compute:
            self.adopt(instance, network_info, 'off')
        old, new = instance.old_flavor, instance.flavor
        if zvm_migration.root_grows(old, new):
            self._migrations.grow_root(
                self._guests.owned(instance), old.root_gb, new.root_gb,
                str(self._config.disk_pool), root_backup(migration))
        self.apply_flavor(instance, power_on)

    def confirm(self, migration, instance):
        """On the source: give up a guest that went to another member, or
        drop the copy of a root disk that grew here (recorded as a
        leftover if the connector fails)."""
        uid = guest.userid(instance)
        if migration.source_compute != migration.dest_compute:
            self._migrations.release(uid)
            self._guests.forgotten(uid)
        else:
            self._removal.image_or_later(instance, root_backup(migration))

    def revert(self, migration, instance, network_info, power_on):
        """The old flavor (the compute manager has put it back on the
        instance), and the root disk from before a resize that grew it."""
        if not self._guests.exists(instance):
            self.adopt(instance, network_info, 'off')
        backup = root_backup(migration)
        if self._images.exists(backup):
            self._guests.power_off(instance)
            self._migrations.replace_root(
                self._guests.owned(instance), instance.flavor.root_gb,
                str(self._config.disk_pool), backup)
            self._images.delete(backup)
        self.apply_flavor(instance, power_on)

    def apply_flavor(self, instance, power_on):
        """The instance's flavor on its guest: live when it is running and
        only grows, else logged off (its directory entry counts from the
        next logon), then logged on if asked."""
        uid = self._guests.owned(instance)
        flavor = instance.flavor
        if self._running(instance):
            try:
                self._migrations.live_resize(uid, flavor.vcpus,
                                             flavor.memory_mb)
                return
            except exception.ResizeError as e:
                LOG.info('Resizing %s with a restart: %s', uid, e,
                         instance=instance)
                self._guests.power_off(instance)
        self._migrations.apply_flavor(uid, flavor.vcpus, flavor.memory_mb)
        if power_on:
            self._guests.power_on(instance)
