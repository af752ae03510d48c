# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Evacuation, with the source's partition fenced through the HMC.

Nova evacuates an instance from a compute host it thinks down to another
one, which rebuilds it from its volumes.  The host may be down while its
partition still runs: a second partition booting the same volume would
corrupt it.  The HMC sees every CPC it manages, so the destination asks it
about the source's partition before it makes anything, and stops it if it
runs: that stop is the fence.  Nova's calls, and what each host does:

============  ======================  ===================================
destination   get_volume_connector    fences the source's partition,
                                      then makes its own, stopped, so
                                      Cinder maps the volumes to its WWPNs
destination   spawn                   NICs, boot properties and start, as
                                      any spawn; forgets the source's
                                      WWPNs and CPC (Nova saves them)
source        destroy (init_host)     removes its own partition once it
                                      runs again
============  ======================  ===================================

What the destination decides from the source's partition and its CPC:

- stopped, terminated or in reservation error, or gone, on a CPC that
  answers as operating: nothing runs, the evacuation goes on;
- active, degraded, paused, or starting or stopping: stopped through the
  HMC, waited for, then the evacuation goes on;
- a CPC with no power: nothing runs on it (the support element reports
  it, so the HMC knows it; a CPC the HMC cannot reach is
  not-communicating instead), the evacuation goes on;
- anything else (a CPC that is not operating or that the HMC does not
  manage, a partition status that means the HMC lost contact, a partition
  of the name without the source's marks, no partition and no CPC
  recorded for it): the evacuation is refused, naming the partition and
  the reason, and nothing is made on the destination.

The HMC lists only partitions its user may see: the destination's HMC
user needs object access to the partitions (and CPCs) of every host it may
fence, or their partitions look gone (doc/deployment.md).
"""

import re

from nova.compute import task_states
from nova import context as nova_context
from nova.objects import fields
from oslo_log import log as logging
import zhmcclient

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.dpm import host
from nova_ibmz.dpm import migration
from nova_ibmz.dpm import partition
from nova_ibmz.dpm import storage
from nova_ibmz.hmc import naming

LOG = logging.getLogger(__name__)

# Partition statuses in which it runs nothing.
NOT_RUNNING = frozenset(['stopped', 'terminated', 'reservation-error'])
# Partition statuses a stop ends (after the transitions settled).
RUNNING = frozenset(['active', 'degraded', 'paused'])
# The CPC status in which nothing on it runs.
NO_POWER = 'no-power'


def is_evacuation(migration_record):
    return (migration_record is not None and
            migration_record.migration_type == fields.MigrationType.EVACUATION)


class Evacuations:
    """Evacuations to and from one CPC subset."""

    def __init__(self, subset, builds):
        self._subset = subset
        self._builds = builds
        # The uuids of instances fenced and prepared here, until their
        # spawn ends.
        self._arriving = set()

    # -- the destination -------------------------------------------------

    def arriving(self, instance):
        """The Migration record when the connector is asked on the
        destination of an evacuation that has not made its partition yet,
        else None.  Cost: a Migration read (conductor) while Nova maps the
        block devices of a rebuild, nothing otherwise."""
        if (getattr(instance, 'task_state', None) !=
                task_states.REBUILD_BLOCK_DEVICE_MAPPING or
                instance.uuid in self._builds):
            return None
        # The connector gets no context: the driver reads as Nova's admin.
        record = migration.record(nova_context.get_admin_context(), instance)
        if is_evacuation(record) and \
                record.dest_compute == self._subset.host:
            return record
        return None

    def arrive(self, record, instance):
        """Fence the source's partition, then make this host's, stopped,
        with its FC paths (build.Builds.prepare)."""
        self.fence(record.source_compute, instance)
        self._builds.prepare(instance)
        self._arriving.add(instance.uuid)

    def arrived(self, instance):
        """After the spawn of an evacuated instance: only this host's
        partition remains the instance's, so the source's WWPNs and CPC are
        forgotten (Nova saves the instance after spawn).  Here, not by the
        returning source: its copy of the instance may be older than the
        destination's, and saving it would drop what the destination
        remembered.  The source's partition goes when the source runs
        again (destroy)."""
        if instance.uuid in self._arriving:
            self._arriving.discard(instance.uuid)
            storage.keep_partition_of(instance, self._subset.host)

    def fence(self, source, instance):
        """Make sure the source's partition of the instance runs nothing:
        stop it if it runs, refuse (InstanceSetupError) if the HMC cannot
        tell.  Cost: 1 List Permitted Partitions (every CPC of the HMC),
        1 GET of the partition if listed, 1 GET of its CPC, and a stop job
        and 1 GET if it runs."""
        name = naming.partition_name(source, instance.uuid)
        console = self._subset.cpc.manager.client.consoles.console
        listed = [p for p in self._subset.hmc_call(
            f'looking for partition {name}',
            console.list_permitted_partitions,
            filter_args={'name': re.escape(name)}) if p.name == name]
        if not listed:
            cpc_id = storage.remembered_cpc(instance, source)
            if cpc_id is None:
                self._refuse(instance, name, 'no partition of that name is '
                             'listed and its CPC was not recorded: the HMC '
                             'cannot tell whether it runs on a CPC it does '
                             'not reach')
            if self._cpc_status(instance, name,
                                f'/api/cpcs/{cpc_id}') != NO_POWER:
                LOG.info('Partition %s is gone', name, instance=instance)
            return
        # One per CPC at most: a host moved to another CPC may have left
        # one on each.
        for part in listed:
            if self._cpc_status(instance, name,
                                part.manager.parent.uri) != NO_POWER:
                self._stop(instance, source, part)

    def _cpc_status(self, instance, name, cpc_uri):
        """The status of the CPC at cpc_uri, refused unless it is one in
        which the HMC knows its partitions' statuses (or has no power)."""
        cpc = self._subset.cpc.manager.client.cpcs.resource_object(cpc_uri)
        try:
            self._subset.hmc_call(f'reading the status of CPC {cpc_uri}',
                                  cpc.pull_properties, ['name', 'status'])
        except (zhmcclient.HTTPError, zhmcclient.CeasedExistence):
            self._refuse(instance, name, f'its CPC {cpc_uri} is not one '
                         f'this HMC manages')
        status = cpc.properties.get('status')
        if status != NO_POWER and status not in host.OPERATING_STATUSES:
            self._refuse(instance, name, f'its CPC {cpc.name} has status '
                         f'{status!r}: the HMC cannot tell whether the '
                         f'partition runs')
        if status == NO_POWER:
            LOG.info('CPC %s of partition %s has no power: nothing on it '
                     'runs', cpc.name, name, instance=instance)
        return status

    def _stop(self, instance, source, part):
        """Stop the source's partition if it runs, only if it carries the
        source's marks, and check that it stopped."""
        what = f'reading partition {part.name}'
        try:
            self._subset.hmc_call(what, part.pull_properties,
                                  ['description', 'status'])
        except (zhmcclient.HTTPError, zhmcclient.CeasedExistence):
            LOG.info('Partition %s is gone', part.name, instance=instance)
            return
        if not naming.is_owned(part.properties, source):
            self._refuse(instance, part.name, f'it does not carry the marks '
                         f'of host {source}: it is not stopped, as it may '
                         f'not be OpenStack\'s')
        status = partition.settle(self._subset, part,
                                  part.properties.get('status'))
        if status in RUNNING:
            LOG.warning('Fencing: stopping partition %s of host %s, which '
                        'is %s', part.name, source, status, instance=instance)
            partition.stop(self._subset, part, status)
            status = partition.current_status(self._subset, part)
        if status not in NOT_RUNNING:
            self._refuse(instance, part.name, f'its status is {status!r}: '
                         f'the HMC cannot tell whether it runs')

    @staticmethod
    def _refuse(instance, name, reason):
        raise InstanceSetupError(
            instance.uuid, f'not evacuated: the source\'s partition {name} '
            f'may still run the instance from its volumes; {reason}')

    # -- the source, running again ---------------------------------------

    def evacuated_from_here(self, context, instance):
        """Whether the instance is being evacuated from this host (Nova
        destroys it when the host runs again).  Cost: a Migration read."""
        record = migration.record(context, instance)
        return (is_evacuation(record) and
                record.source_compute == self._subset.host)
