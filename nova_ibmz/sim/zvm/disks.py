# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Minidisks: how the connector makes them, and the disk routes.

The SDK makes a guest's minidisks one at a time, in the order of the
disk_list (smtclient.add_mdisks), each with its own SMT request
("changevm G1 add3390 POOL1 0101 5g --mode MR --filesystem ext4"), and
undoes nothing when one fails: the disks made before it stay in the
directory entry, and the error is that request's.  POST /guests makes
the directory entry first, so a guest whose disk fails stays defined
(guests.create).

What the SMT layer refuses (an unknown operand, a size that is no
number) it refuses itself (smt.Request); SMAPI's Image_Disk_Create_DM
refuses an address already used (408/4) and a pool without room for the
disk (408/24).
"""

from zvmsdk.sdkwsgi.schemas import guest as schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import model as zmodel
from nova_ibmz.sim.zvm import smt

KINDS = {'add3390': ('ECKD', '3390'), 'add9336': ('FBA', '9336')}
# Image_Disk_Create_DM's refusals, with smcli's message for each.
ADDRESS_USED = (408, 4, 'ULGSMC5299E Image disk already defined')
NO_SPACE = (408, 24, 'ULGSMC5303E Requested image disk space not available')


def add(model, guest, disk_list, start_vdev=zmodel.ROOT_VDEV):
    """The disks of disk_list, in order, as smtclient.add_mdisks makes
    them: each at its vdev, else at start_vdev plus its index.  Returns
    the list with each disk's vdev and pool, and a size given in units
    shown in M or G; a disk that fails raises its error, the disks made
    before it staying."""
    disks = [dict(d, disk_pool=d.get('disk_pool') or model.disk_pool)
             for d in disk_list]
    for index, disk in enumerate(disks):
        vdev = disk.get('vdev') or f'{int(start_vdev, 16) + index:04x}'
        units = _make(model, guest, disk, vdev)
        disk['vdev'] = vdev
        if disk['size'].strip().upper()[-1] not in 'GM':
            disk['size'] = _in_bytes(units, disk['disk_pool'])
    return disks


def _in_bytes(units, pool):
    """'3.9G' for 5556 cylinders, as the SDK answers a size in units."""
    size = units * zmodel.UNIT_BYTES[pool.split(':')[0].upper()] / 1024 ** 2
    return f'{size:.1f}M' if size <= 1024 else f'{size / 1024:.1f}G'


def _make(model, guest, disk, vdev):
    """One minidisk, as smtclient._add_mdisk asks the SMT layer for it
    (the format defaults to ext4); its size in units."""
    kind, pool_name = disk['disk_pool'].split(':')
    subfunction = 'add3390' if kind.upper() == 'ECKD' else 'add9336'
    fmt = disk.get('format', 'ext4')
    text = ' '.join(['changevm', guest.userid, subfunction, pool_name, vdev,
                     disk['size'], '--mode MR'])
    if fmt and fmt != 'none':
        text += f' --filesystem {fmt.lower()}'
    action = f"add mdisk to userid '{guest.userid}'"
    try:
        request = smt.Request(text)
        units = request.size_units()
        pool = model.pool(f'{KINDS[subfunction][0]}:{pool_name}')
        refusal = _refusal(model, guest, pool, vdev, units)
        if refusal:
            request.smapi_refused('Image_Disk_Create_DM', [
                '-T', guest.userid, '-v', vdev, '-t', KINDS[subfunction][1],
                '-a', 'AUTOG', '-r', pool_name, '-u', '1', '-z', str(units),
                '-f', '1', '-m', request.parms['mode']], *refusal)
    except smt.Failed as e:
        raise e.error(action)
    guest.disks[vdev.upper()] = zmodel.Minidisk(
        vdev.upper(), pool.name, units,
        format=request.parms.get('fileSystem', ''))
    return units


def _refusal(model, guest, pool, vdev, units):
    """Image_Disk_Create_DM's (rc, rs, message) refusing the disk, or
    None."""
    if vdev.upper() in guest.disks:
        return ADDRESS_USED
    if units > pool.total_units - model.pool_used(pool.name):
        return NO_SPACE
    return None


# -- the disk routes --------------------------------------------------------

def _managed(req):
    return req.model.managed(req.member, req.params['userid'])


@api.route('POST', '/guests/{userid}/disks', schema=schemas.create_disks)
def create_disks(req):
    """After the guest's last minidisk (vmops.create_disks); an empty list
    does nothing and answers no output."""
    guest = _managed(req)
    disk_list = req.body['disk_info'].get('disk_list')
    if not disk_list:
        return ''
    after = max(guest.disks, default=None)
    start = f'{int(after, 16) + 1:04x}' if after else zmodel.ROOT_VDEV
    return add(req.model, guest, disk_list, start)


@api.route('DELETE', '/guests/{userid}/disks', schema=schemas.delete_disks)
def delete_disks(req):
    guest = _managed(req)
    for vdev in req.body['vdev_info'].get('vdev_list') or []:
        # SMT's removedisk ignores a disk that is not there.
        guest.disks.pop(vdev.upper(), None)
    return ''


@api.route('PUT', '/guests/{userid}/disks', schema=schemas.config_minidisks)
def config_disks(req):
    """Format and mount minidisks, as the SDK punches the guest a script
    per entry (process_additional_minidisks): an entry without a vdev is
    the disk after the root disk at its index, and its mount point
    defaults to /mnt/ephemeral<vdev>.  The connector checks nothing: a
    disk the guest lacks is left to its script, which finds none."""
    guest = _managed(req)
    for index, spec in enumerate(
            req.body['disk_info'].get('disk_list') or []):
        vdev = spec.get('vdev') or \
            f'{int(zmodel.ROOT_VDEV, 16) + index + 1:04x}'
        disk = guest.disks.get(vdev.upper())
        if disk is not None:
            disk.format = spec['format']
            disk.mount = 'swap' if spec['format'] == 'swap' else \
                spec.get('mntdir') or f'/mnt/ephemeral{vdev}'
    return ''
