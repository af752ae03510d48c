# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Resize and cold migration: within the CPC subset, or to another subset
of the same CPC or of another CPC the destination's HMC manages.

A partition's disks are SAN volumes, so a move copies nothing.  Within
the subset the partition stays and takes the new flavor.  Between hosts
the destination makes a partition of its own, whose HBAs get WWPNs of
their own, and Nova's resize flow maps the volumes to them through the
destination's connector.  Nova's calls, and what each host does:

=======  ==========================  ====================================
source   migrate_disk_and_power_off  checks the flavor against the
                                     destination's limits, stops the
                                     partition
dest     get_volume_connector        makes the stopped partition and its
                                     HBAs (made_on_arrival), so Cinder
                                     maps the volumes to their WWPNs
dest     finish_migration            NICs, boot properties and start, as
                                     a spawn; a failure removes it all
source   confirm_migration           removes the source's partition
dest     destroy (a revert)          removes the destination's partition
source   finish_revert_migration     starts the source's partition again
=======  ==========================  ====================================

Until the move is confirmed or reverted both partitions are the
instance's: neither is an orphan (leftovers.instances_on counts the
instances of unfinished migrations), and each host's connector gives its
own WWPNs (storage keeps them per host).
"""

from nova.compute import task_states
from nova import exception
from nova import objects
from nova.objects import fields
from oslo_log import log as logging

from nova_ibmz.dpm import partition
from nova_ibmz.dpm import storage

LOG = logging.getLogger(__name__)


def record(context, instance):
    """The instance's Migration record (through the conductor), or None
    when it has no migration context (Nova's conformance suite).  The
    context is loaded if the instance came without it, as in a revert."""
    if instance.migration_context:
        return objects.Migration.get_by_id(
            context, instance.migration_context.migration_id)
    return None


def between_hosts(migration):
    return migration.source_compute != migration.dest_compute


class Moves:
    """Resizes and migrations of one CPC subset's partitions."""

    def __init__(self, subset, builds, removal):
        self._subset = subset
        self._builds = builds
        self._removal = removal

    # -- the source ------------------------------------------------------

    def leave(self, context, instance, dest, flavor):
        """Refuse a destination that cannot hold the flavor, naming its
        limit (InstanceFaultRollback: the partition keeps running), else
        stop the partition.  dest: what Nova passes, the destination's
        address, which several hosts share (several subsets are managed
        from one machine): the Migration record names the host.  Cost:
        1 list, a stop job; a compute node read through the conductor
        for another host."""
        migration = record(context, instance)
        host = migration.dest_compute if migration else dest
        reason = self._refusal(context, host, flavor)
        if reason:
            raise exception.InstanceFaultRollback(
                exception.ResizeError(reason=reason))
        part = self._subset.owned(instance)
        partition.stop(self._subset, part, part.properties.get('status'))

    def _refusal(self, context, host, flavor):
        """Why host cannot take a partition of flavor, or None.  Another
        host's limits are those its driver reports to Nova (its [dpm]
        max_processors and max_memory), which the scheduler checks too,
        unless it was bypassed or the host's configuration changed since
        its last report."""
        if host == self._subset.host:
            where = f"the subset's ({host})"
            ifls = self._subset.config.max_processors
            memory = self._subset.config.max_memory
        else:
            try:
                node = objects.ComputeNodeList.get_all_by_host(
                    context, host)[0]
            except exception.ComputeHostNotFound:
                return f'{host} is not a compute host Nova knows'
            if node.hypervisor_type != fields.HVType.PRSM:
                return (f'{host} is not a DPM host (hypervisor '
                        f'{node.hypervisor_type}): a partition moves '
                        f'only to another CPC subset')
            where = f'those of CPC subset {host}'
            ifls, memory = node.vcpus, node.memory_mb
        if flavor.vcpus > ifls or flavor.memory_mb > memory:
            return (f'flavor {flavor.name} ({flavor.vcpus} vCPUs, '
                    f'{flavor.memory_mb} MiB) exceeds {where} {ifls} '
                    f'IFLs or {memory} MiB')
        return None

    def confirm(self, migration, instance):
        """The move is kept: the source removes its partition (when the
        HMC fails, later: removal.Removal) and forgets its WWPNs and CPC."""
        if between_hosts(migration):
            self._removal.instance_or_later(instance)
            storage.keep_partition_of(instance, migration.dest_compute)

    # -- the destination -------------------------------------------------

    def made_on_arrival(self, instance):
        """True when the connector is asked on the destination of a move
        between hosts, which has no partition for the instance yet: its
        WWPNs are the ones Cinder must map the volumes to.  (Nova's
        conformance suite asks with a dict.)"""
        return (getattr(instance, 'task_state', None) ==
                task_states.RESIZE_FINISH and
                instance.uuid not in self._builds and
                not storage.remembered_wwpns(instance, self._subset.host))

    def arrive(self, migration, instance, network_info, block_device_info,
               power_on):
        """The partition takes the new flavor (within the subset), or the
        one made for the arrival gets its NICs and boot properties and
        starts, as in a spawn (between hosts)."""
        if between_hosts(migration):
            self._builds.spawn(instance, network_info, block_device_info,
                               power_on)
        else:
            self.apply_flavor(instance, power_on)

    def keeps_partition(self, context, instance):
        """Whether destroy, during a revert, keeps this host's partition:
        after a resize within the subset it is the source's, which stays;
        after a move between hosts it is the destination's, which goes."""
        migration = record(context, instance)
        return migration is None or not between_hosts(migration)

    # -- back at the source ------------------------------------------------

    def revert(self, migration, instance, power_on):
        """The old flavor on the source's partition (Nova has put it back
        on the instance) and, after a move between hosts, only its WWPNs
        and CPC remembered."""
        self.apply_flavor(instance, power_on)
        if between_hosts(migration):
            storage.keep_partition_of(instance, self._subset.host)

    def apply_flavor(self, instance, power_on):
        """The flavor's IFLs and memory on the stopped partition (1
        update), then start it if asked."""
        part = self._subset.owned(instance)
        flavor = instance.flavor
        self._subset.hmc_call(
            f'resizing partition {part.name}', part.update_properties,
            {'ifl-processors': flavor.vcpus,
             'initial-memory': flavor.memory_mb,
             'maximum-memory': flavor.memory_mb})
        self._subset.changed()
        if power_on:
            partition.start(self._subset, part,
                            part.properties.get('status'))
