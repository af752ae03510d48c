# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""z/VM guests as instances: userids, ownership, CP state.

A guest's userid is the Nova instance name.  z/VM userids are at most 8
characters and CP folds them to upper case, while Nova matches instance
names exactly, so the instance_name_template must give short lower-case
names such as "os%06x" and the driver speaks to the connector in upper case.

Ownership: a guest is this host's when the connector's database lists it
(the connector of one z/VM system serves one compute host) and its userid
follows the name template.  Every other user of the z/VM system, defined by
hand or by another tool, is left alone: the driver never stops, changes or
deletes it, even when its name matches an instance's.

CP states are cached as Nova's ironic driver caches nodes: one GET
/guests/stats answers for every owned guest (the connector lists the
logged-on ones only), so a power-state sync of N instances costs one
request, not N.  Every power operation records its own result.
"""

import re
import threading
import time

from nova.compute import power_state
from nova import exception
from oslo_log import log as logging

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.conf import CONF
from nova_ibmz.connector import naming
from nova_ibmz.connector.naming import marked_uuid
from nova_ibmz.connector.naming import name_pattern
from nova_ibmz.zvm.client import ConnectorNotFound

LOG = logging.getLogger(__name__)

_USERID = re.compile(r'^[a-z0-9@#$][a-z0-9@#$_-]{0,7}$')

# Instance ids the template check renders: the first one and 16,777,215,
# the last a six-hex-digit template such as "os%06x" keeps within 8.
_SAMPLE_IDS = (1, 0xffffff)

# The connector knows "on" (logged on, or stopped by CP: paused) and "off".
# Paused is Nova's own record (system_metadata), set by pause() and cleared
# by every call that changes the CP state.
_POWER_STATES = {'on': power_state.RUNNING, 'off': power_state.SHUTDOWN}
PAUSED_KEY = 'zvm_paused'

# How long the cached CP states answer get_info(use_cache=True).
STATE_TTL = 10.0
# Userids per GET /guests/stats: each takes at most 11 characters of the
# URL (8, and a comma encoded as %2C), so 600 keep the request line well
# under the 8 KiB that common front ends (Apache, nginx) accept; one URL
# for all guests would exceed it from about 740 guests, and the
# connector's own server refuses it (414) at about 10,000.
STATS_BATCH = 600


def check_name_template(template):
    """Fail unless every instance name is a usable z/VM userid."""
    for sample in _SAMPLE_IDS:
        try:
            name = template % sample
        except (TypeError, ValueError, KeyError):
            raise ConfigurationError(
                'DEFAULT', 'instance_name_template',
                f'{template!r} does not render an instance name from an '
                f'instance id')
        if not _USERID.fullmatch(name):
            raise ConfigurationError(
                'DEFAULT', 'instance_name_template',
                f'{template!r} gives {name!r} for instance id {sample}; '
                f'z/VM needs at most 8 lower-case letters, digits or @#$_- '
                f'(for example os%06x)')


def userid(instance):
    # Nova's suite passes some instances as dicts.
    return instance['name'].upper()


def owner_mark(instance):
    """The comment that marks a guest's directory entry as the instance's
    (see nova_ibmz.connector.naming)."""
    return naming.MARK_PREFIX + instance.uuid


def os_version(instance):
    """The os_distro of the image the instance was built from, which Nova
    keeps with the instance."""
    return instance.system_metadata.get('image_os_distro')


def is_paused(instance):
    return (instance.obj_attr_is_set('system_metadata') and
            instance.system_metadata.get(PAUSED_KEY) == 'True')


def mark_paused(instance, paused):
    """Record pause in the instance, which the compute manager saves."""
    if paused:
        instance.system_metadata[PAUSED_KEY] = 'True'
    else:
        instance.system_metadata.pop(PAUSED_KEY, None)


class Guests:
    """The guests the Cloud Connector manages for this host."""

    def __init__(self, connector):
        self._connector = connector
        self._lock = threading.Lock()
        # One refresh of the CP states at a time: Nova's power-state sync
        # asks from a pool of threads, which would otherwise each send the
        # same GET /guests/stats when the cache expires.
        self._refreshing = threading.Lock()
        self._owned = None          # userids; None: read GET /guests
        self._states = {}           # userid -> 'on' | 'off'
        self._states_time = 0.0
        self._uuids = {}            # userid -> instance uuid of its mark

    # -- ownership ----------------------------------------------------

    def owned_userids(self, fresh=False):
        """Our guests' userids.  Cost: one GET /guests when fresh or not
        read yet."""
        with self._lock:
            if fresh or self._owned is None:
                pattern = name_pattern(CONF.instance_name_template)
                listed = self._connector.get('/guests') or []
                self._owned = {u.upper() for u in listed
                               if pattern.match(u.upper())}
            return set(self._owned)

    def names(self):
        """Instance names of our guests.  Cost: one GET /guests."""
        return sorted(u.lower() for u in self.owned_userids(fresh=True))

    def instance_uuids(self):
        """The instance uuids our guests are marked with.  Cost: one GET
        /guests, and one GET .../user_direct per guest not seen before (a
        guest's mark does not change)."""
        uuids = []
        for uid in sorted(self.owned_userids(fresh=True)):
            if uid not in self._uuids:
                try:
                    entry = self._connector.get(f'/guests/{uid}/user_direct')
                except ConnectorNotFound:
                    continue        # gone meanwhile
                self._uuids[uid] = marked_uuid(entry['user_direct'])
            if self._uuids[uid]:
                uuids.append(self._uuids[uid])
        return uuids

    def owned(self, instance):
        """The instance's userid if the guest is ours, else
        InstanceNotFound.  Cost: none when cached (a set lookup, not a
        copy of the set: the sync asks once per instance); one GET
        /guests for a userid not among the cached ones."""
        uid = userid(instance)
        with self._lock:
            known = self._owned is not None and uid in self._owned
        if not known and uid not in self.owned_userids(fresh=True):
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return uid

    def exists(self, instance):
        """Whether the instance's guest is ours.  Cost: as owned()."""
        try:
            self.owned(instance)
            return True
        except exception.InstanceNotFound:
            return False

    def check_mark(self, instance, uid):
        """Refuse uid unless its directory entry carries the instance's
        mark.  Cost: one GET .../user_direct."""
        entry = self._connector.get(f'/guests/{uid}/user_direct')
        if marked_uuid(entry['user_direct']) != instance.uuid:
            raise InstanceSetupError(
                instance.uuid, f'z/VM user {uid} is not marked as this '
                f'instance\'s guest; it is left alone')

    def adopted(self, uid, instance_uuid=None):
        """A guest we just made (or registered) is ours."""
        with self._lock:
            if instance_uuid:
                self._uuids[uid] = instance_uuid
            if self._owned is not None:
                self._owned.add(uid)
            self._states[uid] = 'off'

    def forgotten(self, uid):
        with self._lock:
            if self._owned is not None:
                self._owned.discard(uid)
            self._states.pop(uid, None)
            self._uuids.pop(uid, None)

    # -- CP state -----------------------------------------------------

    def power_state(self, instance, use_cache=True):
        """Nova's power state.  Cost: nothing while the cache is fresh,
        else one GET /guests/stats for all guests (use_cache) or one GET
        .../power_state for this one."""
        uid = self.owned(instance)
        if use_cache:
            state = self._cached_state(uid)
        else:
            try:
                state = self._connector.get(f'/guests/{uid}/power_state')
            except ConnectorNotFound:
                self.forgotten(uid)
                raise exception.InstanceNotFound(instance_id=instance.uuid)
            self.record(uid, state)
        if state == 'on' and is_paused(instance):
            return power_state.PAUSED
        return _POWER_STATES.get(state, power_state.NOSTATE)

    def _fresh_state(self, uid):
        """uid's cached state, or None when the cache has expired."""
        with self._lock:
            if time.monotonic() - self._states_time < STATE_TTL:
                return self._states.get(uid)
        return None

    def _cached_state(self, uid):
        state = self._fresh_state(uid)
        if state is None:
            with self._refreshing:
                # A thread that waited here finds the states another one
                # has just read.
                state = self._fresh_state(uid)
                if state is None:
                    self.refresh_states()
        if state is None:
            with self._lock:
                state = self._states.get(uid, 'off')
        return state

    def refresh_states(self):
        """CP states of all our guests.  Cost: one GET /guests/stats per
        STATS_BATCH guests (and one GET /guests if a guest vanished since
        the last read)."""
        owned = sorted(self.owned_userids())
        for attempt in (1, 2):
            try:
                running = set()
                for start in range(0, len(owned), STATS_BATCH):
                    running.update(self._connector.get(
                        '/guests/stats', userid=','.join(
                            owned[start:start + STATS_BATCH])) or {})
                break
            except ConnectorNotFound:
                if attempt == 2:
                    raise
                # One of them is gone from the directory: list again.
                owned = sorted(self.owned_userids(fresh=True))
        with self._lock:
            self._states = {u: 'on' if u in running else 'off'
                            for u in owned}
            self._states_time = time.monotonic()

    def record(self, uid, state):
        with self._lock:
            self._states[uid] = state

    # -- what changes guests: each an owned guest, checked first --------

    def action(self, instance, name, state_after=None, **body):
        """One guest action on our guest.  Cost: one POST .../action."""
        uid = self.owned(instance)
        output = self._connector.action(uid, name, **body)
        if state_after is not None:
            self.record(uid, state_after)
        return output

    def power_off(self, instance, timeout=0, retry_interval=0):
        """A shutdown in the guest (softstop), then CP logs it off; with
        timeout 0, logs it off at once.  Cost: one action."""
        mark_paused(instance, False)
        if timeout:
            self.action(instance, 'softstop', state_after='off',
                        timeout=timeout, poll_interval=retry_interval or 10)
        else:
            self.action(instance, 'stop', state_after='off')

    def power_on(self, instance):
        """Log the guest on.  Cost: one action."""
        mark_paused(instance, False)
        self.action(instance, 'start', state_after='on')

    def delete(self, uid):
        """Log off and delete guest uid with its minidisks and NICs; gone
        is fine.  The caller has made sure it is ours.  Cost: one DELETE
        (which logs the guest off)."""
        try:
            self._connector.delete(f'/guests/{uid}')
        except ConnectorNotFound:
            pass        # gone meanwhile: what we wanted
        self.forgotten(uid)
