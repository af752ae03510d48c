# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Live migration between the members of an SSI cluster, and resize.

A z/VM host's Nova node name is its z/VM system name (GET /host
hypervisor_hostname), so a destination node names the VMRELOCATE target.
The members of an SSI cluster share the user directory and the minidisks:
VMRELOCATE moves a logged-on guest without copying a disk, and a logged-off
guest can log on to any member.  Each member's connector keeps its own
database of the guests it manages: a move drops the guest from the
source's, and the destination takes it in with register_vm.

Resize changes the directory's CPUs and memory: cold (resize_cpus and
resize_mem, counted from the next logon) or live (live_resize_cpus and
live_resize_mem, increases only).  The connector cannot enlarge or shrink
a minidisk: grow_root_volume only punches a script that grows the
partition and file system of an FCP multipath root volume that the
storage has already enlarged.  A resize therefore keeps the disk sizes.

Costs are HTTP requests to the connector, plus a POST /token when the
auth token is new or has expired.
"""

import re

from nova import exception
from nova.objects import migrate_data as migrate_data_obj
from oslo_log import log as logging

from nova_ibmz.zvm.client import ConnectorError

LOG = logging.getLogger(__name__)

# A z/VM system identifier: 1 to 8 letters, digits, @, # or $.
_SYSTEM = re.compile(r'^[A-Z0-9@#$]{1,8}$')
# The connector's memory sizes (schema max_mem): 1 to 4 digits, M or G.
_DIGITS = 9999
_UNIT_MB = {'M': 1, 'G': 1024}
ROOT_VDEV = '0100'


def system_name(node):
    """The z/VM system name of a Nova node name (no request)."""
    name = (node or '').upper()
    if not _SYSTEM.match(name):
        raise exception.MigrationPreCheckError(reason=(
            f'{node!r} is not a z/VM system name: a z/VM guest moves only '
            f'to another z/VM system of its SSI cluster'))
    return name


def migrate_data(dest_node):
    """What check_can_live_migrate_destination returns (no request).

    Nova registers no generic LiveMigrateData for RPC (the conductor must
    deserialize it), so this is the libvirt one.  Directory and minidisks
    are shared, so with both "shared" flags the compute manager calls
    neither driver.cleanup on the source after the move nor
    rollback_live_migration_at_destination after a failure.  The source
    needs the destination before the conductor records the migration's
    dest_node, so target_connect_addr carries the system name.
    """
    return migrate_data_obj.LibvirtLiveMigrateData(
        is_shared_instance_path=True, is_shared_block_storage=True,
        block_migration=False, target_connect_addr=system_name(dest_node))


def destination(data):
    """The z/VM system that migrate_data() names (no request)."""
    return system_name(data.target_connect_addr
                       if 'target_connect_addr' in data else None)


def memory_size(memory_mb):
    """The connector's size string for memory_mb ('2048m', '16g'), or None
    when its schema (at most 4 digits, then M or G) cannot express it."""
    if memory_mb <= _DIGITS:
        return f'{memory_mb}m'
    if memory_mb % 1024 == 0 and memory_mb // 1024 <= _DIGITS:
        return f'{memory_mb // 1024}g'
    return None


def _mb(text):
    """MB in a directory size ('1024M', '64G')."""
    return int(text[:-1]) * _UNIT_MB[text[-1].upper()]


class Migrations:
    """Live migration and resize of the guests of one connector."""

    def __init__(self, connector):
        self._connector = connector

    # -- live migration (VMRELOCATE) ----------------------------------

    def check(self, userid, dest_system):
        """MigrationPreCheckError unless VMRELOCATE would move the guest
        to dest_system: GET /host/ssi (1 GET), then for a joined member
        VMRELOCATE TEST, which changes nothing (1 POST)."""
        ssi, members = self._ssi()
        state = members.get(dest_system)
        if not members:
            reason = (f'this z/VM system is in no SSI cluster: VMRELOCATE '
                      f'moves {userid} only between members of one')
        elif state is None:
            reason = (f'{dest_system} is not a member of SSI cluster {ssi} '
                      f'(members: {", ".join(members)})')
        elif state != 'Joined':
            reason = (f'{dest_system} of SSI cluster {ssi} is {state}, '
                      f'not Joined')
        else:
            try:
                self._relocate(userid, dest_system, 'test', {})
                return
            except ConnectorError as e:
                reason = (f'z/VM refuses to relocate {userid} to '
                          f'{dest_system}: {e.errmsg}')
        raise exception.MigrationPreCheckError(reason=reason)

    def move(self, userid, dest_system, parms=None):
        """VMRELOCATE MOVE (1 POST).  parms: maxtotal, maxquiesce (seconds)
        and immediate; maxtotal should end the relocation before the
        client's timeout, or a lost answer leaves the outcome unknown.

        The source connector then no longer manages the guest; call
        release() here and register() at the destination.  A refusal is a
        MigrationError and leaves the guest logged on here, in this
        connector's database.
        """
        try:
            self._relocate(userid, dest_system, 'move', parms or {})
        except ConnectorError as e:
            raise exception.MigrationError(reason=(
                f'z/VM did not relocate {userid} to {dest_system}; it stays '
                f'where it was: {e.errmsg}'))

    def register(self, userid, os_version, ports=()):
        """Take a guest of the shared directory into this connector's
        database (register_vm, 1 POST), at the destination of a live
        migration or of a resize to another member.  Any guest is taken:
        pass only the instance's own userid.

        os_version goes into the database as the connector writes it
        ('os_version=rhel8.6'); ports are (MAC address, Neutron port id)
        pairs, which the connector keys by the MAC's last six hex digits
        (z/VM's MACID).
        """
        self._connector.action(
            userid, 'register_vm', meta=f'os_version={os_version}',
            net_set='1', port_macs={mac.replace(':', '')[-6:].upper(): port
                                    for mac, port in ports})

    def release(self, userid):
        """Take the guest out of this connector's database, and nothing
        else (deregister_vm, 1 POST; no error when it is not there)."""
        self._connector.action(userid, 'deregister_vm')

    def _ssi(self):
        """(cluster name, {member: state}); ('', {}) outside SSI."""
        name, members, member = '', {}, None
        for line in self._connector.get('/host/ssi'):
            key, _, value = (part.strip() for part in line.partition('='))
            if key == 'ssi_name':
                name = value
            elif key == 'member_system_id':
                member = value.upper()
                members[member] = ''
            elif key == 'member_state' and member:
                members[member] = value
        return name, members

    def _relocate(self, userid, dest_system, operation, parms):
        # The real handler reads body['parms'] even for a test.
        self._connector.action(userid, 'live_migrate_vm',
                               destination=dest_system, operation=operation,
                               parms=parms)

    # -- resize ---------------------------------------------------------

    def check_resize(self, userid, old, new, same_host=True):
        """InstanceFaultRollback(ResizeError), the guest untouched, for
        what a resize from flavor old to new cannot do (GET
        /guests/<userid>, 1 GET): a smaller root disk, another ephemeral
        size, a larger root disk on another member (the backup a revert
        needs stays in this connector's image repository), or CPUs and
        memory the directory entry cannot take (the old flavor's too, for
        a revert)."""
        reason = _disk_change(old, new)
        if not reason and root_grows(old, new) and not same_host:
            reason = (f'the root disk grows from {old.root_gb} GB to '
                      f'{new.root_gb} GB only on the same z/VM system: '
                      f'resize to this host, then migrate')
        if not reason:
            limits = self._limits(userid)
            reason = (self._over(userid, new.vcpus, new.memory_mb, limits) or
                      self._over(userid, old.vcpus, old.memory_mb, limits))
        if reason:
            raise exception.InstanceFaultRollback(exception.ResizeError(
                reason=reason))

    def grow_root(self, userid, old_gb, new_gb, pool, backup):
        """Give a logged-off guest a larger root minidisk with the same
        data: capture it as image backup (kept for a revert or a confirm
        to delete), then replace minidisk 0100.  A failure puts a disk of
        the old size back from the backup; if even that fails, the backup
        stays in the repository and the error names it.  Cost: 4
        requests (capture, DELETE and POST disks, deploy)."""
        self._connector.action(userid, 'capture', image=backup,
                               capture_type='rootonly')
        try:
            self.replace_root(userid, new_gb, pool, backup)
        except Exception as e:
            try:
                self.replace_root(userid, old_gb, pool, backup)
            except Exception:
                LOG.exception('%s: the root disk could not be put back; '
                              'its data is in image %s', userid, backup)
                raise
            raise exception.ResizeError(reason=(
                f'the root disk of {userid} could not grow to {new_gb} GB '
                f'and is as it was: {e}'))

    def replace_root(self, userid, size_gb, pool, image):
        """Minidisk 0100 of a logged-off guest replaced by one of size_gb
        in pool holding image.  Cost: 3 requests."""
        self._connector.delete(f'/guests/{userid}/disks', {
            'vdev_info': {'vdev_list': [ROOT_VDEV]}})
        self._connector.post(f'/guests/{userid}/disks', {'disk_info': {
            'disk_list': [{'size': f'{size_gb}g', 'vdev': ROOT_VDEV,
                           'disk_pool': pool, 'format': 'none'}]}})
        self._connector.action(userid, 'deploy', image=image,
                               vdev=ROOT_VDEV)

    def apply_flavor(self, userid, vcpus, memory_mb):
        """CPUs and memory of a logged-off guest's directory entry, counted
        from its next logon (resize_cpus and resize_mem, 2 POSTs); the old
        flavor's for a revert.  check_resize has refused what the entry
        cannot take."""
        self._connector.action(userid, 'resize_cpus', cpu_cnt=vcpus)
        self._connector.action(userid, 'resize_mem',
                               size=memory_size(memory_mb))

    def live_resize(self, userid, vcpus, memory_mb):
        """Grow a logged-on guest's CPUs and memory: GET
        /guests/<userid>/info and GET /guests/<userid>, then
        live_resize_mem and live_resize_cpus for what grows (2 to 4
        requests).

        ResizeError with nothing changed for a guest not logged on to this
        member, a decrease (a cold resize does it) or more than the
        directory's maximum; ResizeError too when the connector refuses
        (an increase above its user_default_max_reserved_memory, say).
        """
        info = self._connector.get(f'/guests/{userid}/info')
        if info['power_state'] != 'on':
            raise exception.ResizeError(
                reason=f'{userid} is not logged on to this z/VM system')
        limits = self._limits(userid)
        memory, cpus = limits[0], info['online_cpu_num']
        if vcpus < cpus or memory_mb < memory:
            reason = (f'{userid} would go from {cpus} vCPUs and {memory} MB '
                      f'to {vcpus} and {memory_mb} MB: only a cold resize '
                      f'removes CPUs or memory')
        else:
            reason = self._over(userid, vcpus, memory_mb, limits)
        if reason:
            raise exception.ResizeError(reason=reason)
        try:
            # Memory first: the connector refuses it more often (reserved
            # storage), and a refusal then leaves the CPUs as they were.
            if memory_mb > memory:
                self._connector.action(userid, 'live_resize_mem',
                                       size=memory_size(memory_mb))
            if vcpus > cpus:
                self._connector.action(userid, 'live_resize_cpus',
                                       cpu_cnt=vcpus)
        except ConnectorError as e:
            raise exception.ResizeError(reason=(
                f'the Cloud Connector did not resize {userid} live: '
                f'{e.errmsg}'))

    def _limits(self, userid):
        """(memory MB, maximum memory MB, maximum CPUs or None) of the
        guest's directory entry (GET /guests/<userid>)."""
        memory = max_mem = max_cpu = None
        for line in self._connector.get(f'/guests/{userid}')['user_direct']:
            words = line.split()
            if words[0] == 'USER':      # USER id password memory max privs
                memory, max_mem = _mb(words[3]), _mb(words[4])
            elif words[0] == 'MACHINE' and len(words) > 2:  # MACHINE ESA n
                max_cpu = int(words[2])
        return memory, max_mem, max_cpu

    @staticmethod
    def _over(userid, vcpus, memory_mb, limits):
        """Why the directory entry cannot take vcpus and memory_mb, or ''."""
        _, max_mem, max_cpu = limits
        if memory_size(memory_mb) is None:
            return (f'{memory_mb} MB of memory: the Cloud Connector takes at '
                    f'most {_DIGITS} MB, or whole GB')
        if max_cpu is None:
            return (f'the directory entry of {userid} sets no maximum number '
                    f'of CPUs (MACHINE)')
        if vcpus > max_cpu:
            return (f'{vcpus} vCPUs exceed the maximum of {max_cpu} in the '
                    f'directory entry of {userid}')
        if memory_mb > max_mem:
            return (f'{memory_mb} MB of memory exceed the maximum of '
                    f'{max_mem} MB in the directory entry of {userid}')
        return ''


def root_grows(old, new):
    """Whether a resize from flavor old to new enlarges the root disk."""
    return bool(new.root_gb and old.root_gb and new.root_gb > old.root_gb)


def _disk_change(old, new):
    """Why the disks cannot go from flavor old to new, or ''.  A root_gb of
    0 (the image's size) keeps the root disk as it is."""
    if new.root_gb and new.root_gb < old.root_gb:
        return (f'the root disk would shrink from {old.root_gb} GB to '
                f'{new.root_gb} GB and lose data')
    if new.root_gb and not old.root_gb:
        return (f'the root disk cannot grow from the image size to '
                f'{new.root_gb} GB: the flavor gives no size to start from')
    if new.ephemeral_gb != old.ephemeral_gb:
        return (f'the ephemeral disks cannot go from {old.ephemeral_gb} GB '
                f'to {new.ephemeral_gb} GB: the Cloud Connector cannot '
                f'resize a minidisk')
    return ''
