# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The image repository, and deploy and capture between it and minidisks.

An image file is what creatediskimage writes: a 512-byte header naming
the disk type and size (header() builds one), then the disk's data.  The
connector reads the size where its hexdump slices fall, so a file without
that header is refused on import.  Deploy and capture follow the real
zthin scripts' checks and messages (unpackdiskimage, creatediskimage),
which reach the caller as the ERROR lines inside guest rs 3 and rs 5.

Simulator and client share the machine: a file:// URL is a local path,
and the scp the connector runs against a remote host copies locally too.
The connector's database compares image names without case.
"""

import hashlib
import os
import random
import shutil
import time
import urllib.parse

import requests
from zvmsdk.sdkwsgi.schemas import guest as guest_schemas
from zvmsdk.sdkwsgi.schemas import image as image_schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import guests
from nova_ibmz.sim.zvm import model as zmodel

HEADER_BYTES = 512
# What creatediskimage writes for each pool type, and what unpackdiskimage
# accepts back.
TAGS = {'ECKD': 'xCAT CKD Disk Image:', 'FBA': 'xCAT FBA Part Image:'}
TAG_KINDS = {b'xCAT CKD Disk Image:': 'ECKD',
             b'xCAT FBA Disk Image:': 'FBA',
             b'xCAT FBA Part Image:': 'FBA'}
VOLUME_NAMES = {'ECKD': 'Count-Key-Data', 'FBA': 'fixed-block'}
DEFAULT_COMPRESSION = '6'   # the connector's [image] default_compress_level
DOWNLOAD_TIMEOUT = 60


def header(units, kind='ECKD', compression=6):
    """The header creatediskimage writes ahead of a minidisk's data.

    b'xCAT CKD Disk Image:        3338 CYL HLen: 0055 GZIP: 6' padded with
    blanks to 512 bytes: the size and unit are right-aligned in bytes
    20-35, so the size fills bytes 20-31 and the unit bytes 33-35, which
    are the connector's hexdump -C text slices [144:156] and [220:223].
    """
    size = f'{units} {zmodel.UNIT_NAMES[kind]}'
    text = f'{TAGS[kind]}{size:>16} HLen: 0055 GZIP: {compression}'
    return text.ljust(HEADER_BYTES).encode('ascii')


# -- the repository ------------------------------------------------------

def _find(model, name):
    """The image of that name in any case, or None."""
    return next((i for i in model.images.values()
                 if i.name.lower() == name.lower()), None)


def _lookup(model, name):
    """The image, or the database's 404 "Image with name: X does not
    exist." (modID 40)."""
    image = _find(model, name)
    if image is None:
        raise errors.not_found(f'Image with name: {name}', 'image')
    return image


def _file(model, name):
    # Quoted, so that a name with a slash stays one file of image_dir.
    return model.image_path(urllib.parse.quote(name, safe=''))


def _record(model, image):
    """A row of the image database, with the file's last access time
    (-1 when the file is gone, as the connector reports it)."""
    exists = _file(model, image.name).exists()
    return {'imagename': image.name, 'imageosdistro': image.os_version,
            'md5sum': image.md5sum, 'disk_size_units': image.disk_size_units,
            'image_size_in_bytes': str(image.size_bytes),   # du -b's text
            'type': image.type, 'comments': image.comments or None,
            'last_access_time': image.last_access if exists else -1}


# -- import ----------------------------------------------------------------

def _int_or_none(text):
    try:
        return int(text)
    except ValueError:
        return None


def _header_units(head):
    """'3338:CYL' read from a file's first 48 bytes as the connector reads
    hexdump -C's text of them: no number at bytes 20-31 is rs 6, and no
    16-byte line naming CKD or FBA is rs 7."""
    text = ''.join(chr(b) if 32 <= b < 127 else '.' for b in head[:48])
    # Shorter, and hexdump's slice would hold its own punctuation.
    size = _int_or_none(text[20:32]) if len(text) >= 32 else None
    if size is None:
        raise errors.sdk('image', 6)
    lines = [text[i:i + 16] for i in range(0, len(text), 16)]
    if not any('CKD' in line or 'FBA' in line for line in lines):
        raise errors.sdk('image', 7)
    return f'{size}:{text[33:36]}'


def _copy_in(source, remote_host, target):
    """cp from a local path, or scp from remote_host (rs 12 or rs 10)."""
    try:
        shutil.copyfile(source, target)
    except OSError as e:
        if remote_host:
            raise errors.sdk('image', 10,
                             err=f'scp: {source}: {e.strerror}\n')
        raise errors.sdk('image', 12, err=str(e))


def _download(url, target):
    """The connector saves whatever the server sends; a failed transfer
    is rs 9."""
    try:
        with requests.get(url, stream=True,
                          timeout=DOWNLOAD_TIMEOUT) as reply, \
                open(target, 'wb') as f:
            for chunk in reply.iter_content(1 << 16):
                f.write(chunk)
    except (requests.RequestException, OSError) as e:
        raise errors.sdk('image', 9, err=str(e))


def _fetch(url, remote_host, target):
    """The image at url into target; the connector has back ends for
    file and http only (an https URL passes the schema, then is rs 2)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == 'file':
        _copy_in(parsed.path, remote_host, target)
    elif parsed.scheme == 'http':
        _download(url, target)
    else:
        raise errors.sdk('image', 2, schema=parsed.scheme)


def _examine(name, meta, path):
    """The database record of an imported file: rs 4 when its MD5 is not
    the one the caller gave, rs 6 or 7 when its header gives no size."""
    with path.open('rb') as f:
        md5sum = hashlib.file_digest(f, 'md5').hexdigest()
        f.seek(0)
        head = f.read(48)
    if meta.get('md5sum') and meta['md5sum'] != md5sum:
        raise errors.sdk('image', 4)
    return zmodel.Image(name, meta['os_version'].lower(), md5sum,
                        path.stat().st_size, _header_units(head))


@api.route('POST', '/images', schema=image_schemas.create,
           extra_status=errors.ALREADY_EXISTS, smapi=False)
def create(req):
    """Import: copy or download the file, then record it."""
    spec = req.body['image']
    name = spec['image_name']
    if _find(req.model, name):
        raise errors.sdk('image', 13, img=name)
    path = _file(req.model, name)
    try:
        _fetch(spec['url'], spec.get('remote_host'), path)
        image = _examine(name, spec['image_meta'], path)
    except errors.ConnectorError:
        path.unlink(missing_ok=True)    # the connector cleans its folder up
        raise
    req.model.images[name] = image
    return ''


# -- query, delete, export -------------------------------------------------

@api.route('GET', '/images', query_schema=image_schemas.query,
           extra_status=errors.NOT_FOUND, smapi=False)
def query(req):
    name = req.arg('imagename')
    found = [_lookup(req.model, name)] if name else req.model.images.values()
    return [_record(req.model, i) for i in found]


@api.route('GET', '/images/{name}/root_disk_size', smapi=False)
def root_disk_size(req):
    """The size without its unit: '3338' of '3338:CYL'."""
    image = _lookup(req.model, req.params['name'])
    return image.disk_size_units.split(':')[0]


@api.route('DELETE', '/images/{name}', smapi=False)
def delete(req):
    image = _find(req.model, req.params['name'])
    if image is not None:       # no image is what the caller wants
        del req.model.images[image.name]
        _file(req.model, image.name).unlink(missing_ok=True)
    return ''


def _copy_out(source, dest, remote_host):
    """cp to a local path, or scp to remote_host (rs 22 or rs 21)."""
    try:
        shutil.copyfile(source, dest)
    except OSError as e:
        if remote_host:
            raise errors.sdk('image', 21, msg=f'scp: {dest}: {e.strerror}\n')
        raise errors.sdk('image', 22, err=str(e))


@api.route('PUT', '/images/{name}', schema=image_schemas.export,
           extra_status=errors.NOT_FOUND, smapi=False)
def export(req):
    name, location = req.params['name'], req.body['location']
    image = _lookup(req.model, name)
    parsed = urllib.parse.urlparse(location['dest_url'])
    if parsed.scheme == 'http':
        # The connector's http back end can only import.
        raise errors.sdkserver(
            'unexpected exception: AttributeError("type object '
            '\'HTTPBackend\' has no attribute \'image_export\'")')
    if parsed.scheme != 'file':
        raise errors.sdk('image', 2, schema=parsed.scheme)
    _copy_out(_file(req.model, image.name), parsed.path,
              location.get('remote_host'))
    image.last_access = time.time()
    return {'image_name': name, 'image_path': location['dest_url'],
            'os_version': image.os_version, 'md5sum': image.md5sum,
            'comments': image.comments or None}


# -- deploy ----------------------------------------------------------------

def _unpack_refusal(model, guest, image, vdev):
    """unpackdiskimage's ERROR lines when it stops (exit 3), or []."""
    path = _file(model, image.name)
    if not path.is_file():
        return ['The specified image file was not found.']
    with path.open('rb') as f:
        kind = TAG_KINDS.get(f.read(20))
    if kind is None:
        return ['Disk image type not recognized']
    if guest.state != 'off':            # logged on here or elsewhere
        return ['The specified target system is currently running.']
    disk = guest.disks.get(vdev.upper().zfill(4))
    if disk is None:
        # CP's LINK answer, which the web layer maps to 404.
        return [f'Unable to link {guest.userid} {vdev} disk. HCPLNM040E '
                f'{guest.userid} {vdev.upper().zfill(4)} not linked; not '
                f'in CP directory',
                f'Failed to connect disk: {guest.userid}:{vdev}']
    if disk.pool.split(':')[0] != kind:
        volume = VOLUME_NAMES[kind]
        return [f'Specified image is of a {volume} volume, but specified '
                f'disk is not a {volume} volume.']
    if int(image.disk_size_units.split(':')[0]) > disk.units:
        return ['Target disk is too small for specified image.']
    return []


def _unpack(model, guest, image, vdev):
    """The image onto the guest's minidisk, or guest rs 3 with the
    script's ERROR lines (joined with a literal backslash-n, as the
    connector joins them)."""
    lines = _unpack_refusal(model, guest, image, vdev)
    if lines:
        raise errors.sdk('guest', 3, userid=guest.userid, unpack_rc=3,
                         err=''.join(f'\\nERROR: {line}' for line in lines))
    guest.disks[vdev.upper().zfill(4)].image = image.name
    image.last_access = time.time()


def _copy_failure(path, remotehost):
    """What cp (or scp from remotehost) prints when it cannot copy path,
    or '' when it can."""
    if os.path.isfile(path):
        return ''
    if remotehost:
        reason = ('not a regular file' if os.path.exists(path)
                  else 'No such file or directory')
        return f'scp: {path}: {reason}\n'
    if os.path.isdir(path):
        return f"/usr/bin/cp: -r not specified; omitting directory '{path}'\n"
    return f"/usr/bin/cp: cannot stat '{path}': No such file or directory\n"


def _punch_transport(guest, path, remotehost):
    """The config drive, copied into a temporary directory of the
    connector and punched; guest rs 4 when the copy fails."""
    temp = '/tmp/tmp' + ''.join(random.choices(
        'abcdefghijklmnopqrstuvwxyz0123456789_', k=8))   # mkdtemp's name
    local = f'{temp}/{os.path.basename(path)}'
    failure = _copy_failure(path, remotehost)
    if failure:
        cmd = (['/usr/bin/scp', '-B', '-P', '22',
                '-o StrictHostKeyChecking=no', f'{remotehost}:{path}', local]
               if remotehost else ['/usr/bin/cp', path, local])
        raise errors.sdk('guest', 4, userid=guest.userid,
                         err_info=f'copy config drive with command {cmd} '
                         f'failed with output: {failure}')
    guests.punch(guest, os.path.basename(path), os.path.getsize(path))


def _script_size(*lines):
    """The size of the shell script the connector writes and punches."""
    return sum(len(line) + 1 for line in ('#!/bin/bash',) + lines)


@api.action('deploy', schema=guest_schemas.deploy)
def deploy(req):
    """The image onto a minidisk, then the reader purged and refilled
    with the config drive and the scripts the guest runs at first boot."""
    model, guest, body = req.model, guests.managed_on(req), req.body
    transport, hostname = body.get('transportfiles'), body.get('hostname')
    # The connector tests the value's truth: the string 'false' skips too.
    if body.get('skipdiskcopy'):
        os_version = body['image']      # which names the OS then
    else:
        image = _lookup(model, body['image'])
        _unpack(model, guest, image, body.get('vdev') or zmodel.ROOT_VDEV)
        os_version = image.os_version
    guest.reader.clear()
    if transport:
        _punch_transport(guest, transport, body.get('remotehost'))
    guests.punch(guest, 'iucvauth.sh', _script_size(
        f'echo -n {req.member.zcc_userid} > /etc/iucv_authorized_userid'))
    guest.os_version = os_version
    if hostname:
        # The config drive names the host when there is one; this guest
        # takes the name either way.
        guest.hostname = hostname
        if not transport:
            guests.punch(guest, 'hostname.sh', _script_size(
                f'echo -n {hostname} > /etc/hostname',
                f'/bin/hostname {hostname}'))
    return ''


# -- capture ---------------------------------------------------------------

def _not_implemented(func):
    error = errors.sdk('serviceNotSupport', 1, 'guest', func=func)
    # This error of the connector carries the module's name as its modID.
    error.envelope['modID'] = 'guest'
    return error


def _prepare_capture(req, guest):
    """(os_version, vdev, whether to start the guest again afterwards).

    A running Linux the connector reaches over IUCV reports its release
    and root disk and is shut down cleanly; any other guest gets the OS
    the database holds (upper case) and the first minidisk of its
    directory entry, and is logged off if it is on.
    """
    on = guests.power_state(guest, req.member) == 'on'
    root = guest.disks.get(zmodel.ROOT_VDEV)
    if on and guest.state == 'on' and root and root.image:
        guests.softstop(req)
        return guest.os_version, zmodel.ROOT_VDEV, True
    if not guest.disks:
        raise errors.sdk('guest', 5, userid=guest.userid,
                         msg=f'Error happened when getting the devices for '
                         f'get vm disk information on source vm '
                         f'{guest.userid} ')
    if on:
        guests.stop(req)
    return guest.os_version.upper() or 'UNKNOWN', next(iter(guest.disks)), on


def _capture_refusal(guest, level):
    """creatediskimage's ERROR line when it stops, or ''."""
    if len(str(level)) != 1:            # one digit, 0 to 9
        return f'Compression operand is not between 0 and 9, inclusive: ' \
               f'{level}'
    if guest.state != 'off':            # logged on elsewhere in the SSI
        return 'The specified source system is currently running.'
    return ''


def _disk_data(model, disk):
    """What a capture reads off a minidisk: the data of the image
    deployed on it, or an empty disk's zeros."""
    source = _find(model, disk.image) if disk.image else None
    path = source and _file(model, source.name)
    if path and path.exists():
        return path.read_bytes()[HEADER_BYTES:]
    return bytes(HEADER_BYTES)


@api.action('capture', schema=guest_schemas.capture)
def capture(req):
    """A minidisk into a new image: the header for the disk's size and
    type, then the disk's data."""
    model, guest, body = req.model, guests.managed_on(req), req.body
    name = body['image']
    capture_type = body.get('capture_type', 'rootonly')
    if capture_type == 'alldisks':
        raise _not_implemented('Capture guest with type: alldisks')
    os_version, vdev, restart = _prepare_capture(req, guest)
    level = body.get('compress_level', DEFAULT_COMPRESSION)
    refusal = _capture_refusal(guest, level)
    if refusal:
        raise errors.sdk('guest', 5, userid=guest.userid,
                         msg=f'\\nERROR: {refusal}')
    if _find(model, name):
        # Only the database's insert finds the name taken, after the
        # guest was stopped: it stays stopped.
        raise errors.sdkserver(
            'exception without results defined, error: SDK database '
            'error: UNIQUE constraint failed: image.imagename')
    disk = guest.disks[vdev]
    data = header(disk.units, disk.pool.split(':')[0], level) + \
        _disk_data(model, disk)
    _file(model, name).write_bytes(data)
    model.images[name] = zmodel.Image(
        name, os_version, hashlib.md5(data).hexdigest(), len(data),
        disk.size_units(), type=capture_type)
    if restart:
        guests.start(req)
    return ''
