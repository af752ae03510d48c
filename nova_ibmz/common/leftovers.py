# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What a compute host made on its hypervisor and could not remove.

A spawn that fails half-way, and a delete, remove what the driver made.
When the HMC or the Cloud Connector stops answering in the middle of it,
that removal fails too, and Nova then forgets the instance's host (a failed
build) or deletes the instance (a delete): nothing would ever ask the driver
about it again.  So the driver writes down here what it could not remove,
in a JSON file under nova-compute's state_path, and tries again at start
and from Nova's resource audit (update_available_resource, once a periodic
interval), until the hypervisor answers.  Nova keeps instance files the
same way (its pending deletes), for as long as a host cannot remove them.

A record only names an object and the instance it was made for: before
removing it, the driver checks again, on the hypervisor, that the object is
still its own and that no instance of this host uses it now.

The other file a restart needs from state_path is Nova's node identity
(ensure_identity).
"""

import json
import os
import pathlib
import tempfile
import threading
import time

from nova import conf as nova_conf
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.virt import node
from oslo_config import cfg
from oslo_log import log as logging

from nova_ibmz.common.exception import ConfigurationError

LOG = logging.getLogger(__name__)


def instances_on(host):
    """The uuids of Nova's instances on host (its database), and of those
    a resize or migration to or from host has not ended for (in progress,
    or failed and not cleaned up yet): the source keeps its partition or
    guest until the move is confirmed or reverted.  Callers are drivers
    whose node is named as their host.  Cost: 2 database reads."""
    context = nova_context.get_admin_context()
    moving = objects.MigrationList.get_in_progress_and_error(
        context, host, host)
    return {i.uuid for i in objects.InstanceList.get_by_host(
        context, host, expected_attrs=[])} | {
            m.instance_uuid for m in moving}


def ensure_identity(node_uuid):
    """Write node_uuid to state_path/compute_id unless Nova finds an
    identity file already (one there is kept as it is).

    Nova 34 refuses the second start of a compute service without that
    file ("No local node identity found, but this is not our first startup
    on this host"), and writes it only for drivers that ask it for a node
    uuid (nova.virt.node.get_local_node_uuid).  Ours report a uuid of
    their own, stable because it comes from what they manage: they call
    this from init_host, which Nova runs before its check.  Nothing in a
    process whose configuration came from no command line (tests, the
    embedded sandbox): Nova has no file locations there.  Cost: no
    request; a file write at the first start only."""
    try:
        if node.read_local_node_uuid() is not None:
            return
    except cfg.NoSuchOptError:      # no --config-file option
        return
    os.makedirs(nova_conf.CONF.state_path, exist_ok=True)
    try:
        node.write_local_node_uuid(node_uuid)
    except exception.InvalidNodeConfiguration:
        # Another compute of this process (the embedded sandbox runs
        # several on one state_path) wrote it meanwhile.
        if node.read_local_node_uuid() is None:
            raise


def host_of(instance_uuid):
    """The compute host Nova has the instance on (its database); None when
    it has it on none: deleted, failed to build, shelved and offloaded."""
    context = nova_context.get_admin_context(read_deleted='yes')
    try:
        instance = objects.Instance.get_by_uuid(context, instance_uuid,
                                                expected_attrs=[])
    except exception.InstanceNotFound:
        return None
    return None if instance.deleted else instance.host


class Leftovers:
    """Records by key ("partition <name>", "guest <userid>", ...), each a
    dict with at least the instance uuid, kept in one file (thread-safe).

    Cost: nothing on the hypervisor; a file write per change.  Reading the
    file happens once, when the driver starts.
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        # One lock for the records and for removals: a retry from the
        # periodic task and a build settling its own leftover never remove
        # the same object at once.
        self._lock = threading.RLock()
        self._records = self._read()

    def _read(self):
        try:
            data = json.loads(self.path.read_text())
            records = data['leftovers']
            if not isinstance(records, dict):
                raise ValueError('"leftovers" is not an object')
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as e:
            # Dropping the file would leave its objects behind for good.
            raise ConfigurationError(
                'DEFAULT', 'state_path',
                f'{self.path} holds what this host still has to remove from '
                f'its hypervisor, and cannot be read ({e}); repair or remove '
                f'it')
        if records:
            LOG.warning('%d object(s) left on the hypervisor by earlier '
                        'operations, to remove: %s', len(records),
                        ', '.join(sorted(records)))
        return records

    def _write(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole and renamed, so a crash leaves the old or the new.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent,
                                   prefix=self.path.name + '.')
        with os.fdopen(fd, 'w') as f:
            json.dump({'leftovers': self._records}, f, indent=1,
                      sort_keys=True)
        os.replace(tmp, self.path)

    def __len__(self):
        with self._lock:
            return len(self._records)

    def get(self, key):
        with self._lock:
            record = self._records.get(key)
            return dict(record) if record else None

    def remember(self, key, instance_uuid, error, **details):
        """Record an object whose removal failed with error."""
        with self._lock:
            self._records[key] = dict(details, instance=instance_uuid,
                                      error=str(error), since=time.time())
            self._write()
        LOG.warning('Could not remove %s (instance %s): %s.  It is '
                    'recorded in %s and will be removed once the '
                    'hypervisor answers.', key, instance_uuid, error,
                    self.path)

    def forget(self, key):
        with self._lock:
            if self._records.pop(key, None) is not None:
                self._write()

    def settle(self, key, remove):
        """Remove the recorded object of key now, if there is one:
        remove(record) removes it (or finds it gone) or raises.  A build
        calls this before it makes an object of the same name again."""
        with self._lock:
            record = self.get(key)
            if record is None:
                return
            remove(record)
            self.forget(key)
            LOG.info('Removed %s, left by an earlier operation', key)

    def retry(self, remove):
        """Try to remove every recorded object: remove(key, record) returns
        True once the record is done with (the object removed now, found
        gone, or found not to be ours to remove), False to keep it for
        later, and raises if the hypervisor fails; the record then stays.
        Returns how many records are left."""
        with self._lock:
            for key, record in sorted(self._records.items()):
                try:
                    done = remove(key, record)
                except Exception as e:      # one failure must not stop
                    LOG.warning('%s (instance %s) is still to be removed: '
                                '%s', key, record.get('instance'), e)
                    continue
                if done:
                    self.forget(key)
                    LOG.info('Done with %s, left by an earlier operation '
                             '(%s)', key, record.get('error'))
            return len(self._records)
