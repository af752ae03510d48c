# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Removing partitions: an instance's own, what a failed operation left
behind, and orphans found at start.

Every partition removed here carries both of this host's marks, checked
on the HMC right before (subset.owned, naming.is_owned): a partition of
another workload, or of another compute host, is never stopped or deleted.

When the HMC stops answering in the middle of a removal, the partition is
recorded as a leftover (common.leftovers) and removed once the HMC answers
again: at the next start, or from Nova's resource audit.  Before it goes,
Nova must no longer place its instance on this host (a failed build, a
deleted or shelved instance): an instance of this host keeps its partition
until its own build settles the record.
"""

import os
import threading

from nova import exception
from oslo_log import log as logging
import zhmcclient

from nova_ibmz.common import leftovers
from nova_ibmz.hmc import naming
from nova_ibmz.dpm import partition
from nova_ibmz.dpm import storage

LOG = logging.getLogger(__name__)


class Removal:
    """Stops and deletes the partitions of one CPC subset.

    known_instances(host) gives the uuids of Nova's instances on host.
    """

    def __init__(self, subset, known_instances, state_path):
        self._subset = subset
        self._known_instances = known_instances
        self._state_path = state_path
        self._leftovers = None
        self._lock = threading.Lock()

    @property
    def leftovers(self):
        """The subset's leftovers file, read on first use: the host's name
        is known for sure only once Nova has started the driver."""
        with self._lock:
            if self._leftovers is None:
                self._leftovers = leftovers.Leftovers(os.path.join(
                    self._state_path, 'nova-ibmz',
                    f'dpm-{self._subset.host}-leftovers.json'))
            return self._leftovers

    # -- an instance's partition -----------------------------------------

    def instance(self, instance, part=None, status=None):
        """Stop and delete the instance's partition: part (which we just
        made) or the instance's owned one, if there is one; raises if the
        HMC fails.  Cost: 1 list, a stop job if running, 1 delete (and the
        storage group's requests on CPCs that have them)."""
        if part is None:
            try:
                part = self._subset.owned(instance)
            except exception.InstanceNotFound:
                return
            status = part.properties.get('status')
        elif status is None:
            status = partition.current_status(self._subset, part)
        self.partition(part, status)

    def instance_or_later(self, instance, part=None, status=None):
        """As instance(), but a failure records the partition as a leftover
        instead of raising: the caller's own outcome (a failed build's
        error, a delete that Nova completes) stands."""
        try:
            self.instance(instance, part, status)
        except Exception as e:
            name = naming.partition_name(self._subset.host, instance.uuid)
            self.leftovers.remember(
                self._key(name), instance.uuid, e.format_message() if
                isinstance(e, exception.NovaException) else str(e),
                name=name, uri=part.uri if part is not None else None)

    def settle(self, instance):
        """Before the instance's partition is made again (an unshelve after
        a removal failed): remove the one recorded as left over, or raise.
        """
        name = naming.partition_name(self._subset.host, instance.uuid)
        self.leftovers.settle(self._key(name), self._remove_recorded)

    @staticmethod
    def _key(name):
        return f'partition {name}'

    # -- leftovers -------------------------------------------------------

    def retry(self):
        """Remove what earlier operations left, if the HMC answers now.
        Cost: nothing without leftovers; else 1 list, and a removal per
        partition still there."""
        if not len(self.leftovers):
            return 0
        known = self._known_instances(self._subset.host)

        def remove(key, record):
            if record['instance'] in known:
                return False        # its build settles it
            self._remove_recorded(record)
            return True
        return self.leftovers.retry(remove)

    def _remove_recorded(self, record):
        """The recorded partition, if it is still there and ours.  A
        partition of the same name but another URI was made after the
        record: not the leftover, which is gone."""
        props = next((p for p in self._subset.partitions(fresh=True)
                      if p['name'] == record['name']), None)
        if props is None or (record.get('uri') and
                             props['object-uri'] != record['uri']):
            return
        self.partition(self._resource(props), props.get('status'))

    # -- orphans ---------------------------------------------------------

    def orphans(self, action):
        """Partitions of this subset whose instance is not on this host:
        removed with action 'remove', else reported.  Cost: 1 list, and a
        removal per orphan removed."""
        known = self._known_instances(self._subset.host)
        for props in self._subset.partitions(fresh=True):
            if naming.instance_uuid(props, self._subset.host) in known:
                continue
            if action != 'remove':
                LOG.warning('Partition %s belongs to host %s but to none of '
                            'its instances; set [dpm] orphan_action = remove '
                            'to delete such partitions', props['name'],
                            self._subset.host)
                continue
            LOG.warning('Removing partition %s: no instance of host %s owns '
                        'it ([dpm] orphan_action = remove)', props['name'],
                        self._subset.host)
            try:
                self.partition(self._resource(props), props.get('status'))
            except Exception:
                # One that cannot go now must not keep the host down.
                LOG.exception('Could not remove partition %s', props['name'])

    # -- the HMC operations ----------------------------------------------

    def _resource(self, props):
        return self._subset.cpc.partitions.resource_object(
            props['object-uri'], props)

    def partition(self, part, status):
        """Stop and delete an owned partition and its storage group.  One
        still starting or stopping (a job that timed out) is waited for;
        one that vanished meanwhile is gone, as wanted."""
        try:
            status = partition.settle(self._subset, part, status)
            partition.stop(self._subset, part, status)
            group = self.own_group(part)
            if group is not None:
                storage.remove_group(self._subset, part, group)
            self._subset.hmc_call(f'deleting partition {part.name}',
                                  part.delete)
        except zhmcclient.HTTPError as e:
            if e.http_status != 404:
                raise
            LOG.info('Partition %s is gone already', part.name)
        finally:
            self._subset.changed()

    def own_group(self, part):
        """The storage group of the partition's name, if the CPC has them
        and the group carries this host's marks."""
        if not self._subset.storage_groups:
            return None
        group = storage.find_group(self._subset, part.name)
        if group is None:
            return None
        description = self._subset.hmc_call(
            f'reading storage group {group.name}', group.get_property,
            'description')
        owned = naming.is_owned(dict(group.properties,
                                     description=description),
                                self._subset.host)
        return group if owned else None
