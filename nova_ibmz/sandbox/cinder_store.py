# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The volumes and attachments of the HTTP Cinder stand-in (cinder.py),
and Cinder's rules for their states, kept in a JSON file.

No storage is behind it: a volume is a record, an attachment's
connection is the fibre-channel path a real array would give (the
storage's target ports, seed.STORAGE_TARGETS, from the connector's
WWPNs), the same as the in-process stand-in (services.FCCinder).  Every
change rewrites the whole file (a few kilobytes: the sandbox holds tens
of volumes), so a restarted stand-in has what it had.
"""

import datetime
import json
import os
import pathlib
import threading
import uuid

from nova_ibmz.sandbox import glance
from nova_ibmz.sandbox import seed

AVAILABILITY_ZONE = 'nova'
VOLUME_TYPE = 'fc'
# Statuses from which Cinder deletes a volume.
DELETABLE = ('available', 'error')
# Volume actions: name -> (expected statuses, new status).  The legacy
# attach flow's os-attach and os-*_connection are not here: Nova 34 makes
# every attachment through the attachments API.
STATUS_ACTIONS = {
    'os-reserve': (('available',), 'attaching'),
    'os-unreserve': (('attaching',), 'available'),
    'os-begin_detaching': (('in-use',), 'detaching'),
    'os-roll_detaching': (('detaching',), 'in-use'),
}
# What Cinder copies of an image into volume_image_metadata besides its
# id, name and own properties (volume_utils.get_volume_image_metadata).
IMAGE_ATTRIBUTES = ('checksum', 'container_format', 'disk_format',
                    'min_disk', 'min_ram', 'size')
SERVICE_UUID = seed.stable_id('cinder-standin-service')


class Fault(Exception):
    """A refusal, in Cinder's error shape: {kind: {code, message}}."""

    def __init__(self, code, kind, message):
        super().__init__(message)
        self.code, self.kind, self.message = code, kind, message

    def body(self):
        return {self.kind: {'code': self.code, 'message': self.message}}


def not_found(what, item_id):
    return Fault(404, 'itemNotFound', f'{what} {item_id} could not be found.')


def bad_request(message):
    return Fault(400, 'badRequest', message)


def image_metadata(image):
    """What Cinder keeps of a Glance image (as GET /v2/images/<id> shows
    it) with a volume made from it: the image's id and name, its
    properties, and its checksum, formats, size and minimums.  Strings,
    as Cinder's database holds them."""
    kept = {key: value for key, value in glance.own_properties(image).items()
            if value is not None}
    kept.update({key: image[key] for key in IMAGE_ATTRIBUTES
                 if image.get(key) is not None})
    kept.update(image_id=image['id'])
    if image.get('name'):
        kept['image_name'] = image['name']
    return {key: str(value) for key, value in kept.items()}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%S.%f')


class VolumeStore:
    """Volumes and their attachments, as Cinder keeps them, in path.

    Methods are called from the server's request threads: one lock
    serialises every change and its write."""

    def __init__(self, path, targets=seed.STORAGE_TARGETS):
        self.path = pathlib.Path(path)
        self.targets = list(targets)
        self.lock = threading.RLock()
        self.volumes, self.attachments = {}, {}
        if self.path.exists():
            state = json.loads(self.path.read_text())
            self.volumes, self.attachments = (state['volumes'],
                                              state['attachments'])
        for volume in self.volumes.values():
            # A re-image the last process did not finish (and Nova was
            # not told of: its rebuild times out): the volume's status
            # goes back to what it was.
            if volume['status'] == 'downloading':
                volume['status'] = volume.pop('reimage_from', 'available')
                volume.pop('reimage_metadata', None)

    def save(self):
        """The whole state to the file, replaced at once: a crash leaves
        the old file or the new one, never half of one."""
        with self.lock:
            temporary = self.path.with_name(self.path.name + '.tmp')
            temporary.write_text(json.dumps(
                {'volumes': self.volumes, 'attachments': self.attachments},
                indent=1, sort_keys=True))
            os.replace(temporary, self.path)

    # -- volumes -----------------------------------------------------------

    def add_volume(self, name, size_gb, image_metadata=None, volume_id=None,
                   description=None, project_id=None):
        """A new available volume, bootable when image_metadata is given
        (as Cinder marks a volume it made from an image)."""
        if not isinstance(size_gb, int) or size_gb < 1:
            raise bad_request(f'Invalid input received: size {size_gb!r} '
                              f'must be an integer of at least 1 (GiB).')
        volume_id = volume_id or str(uuid.uuid4())
        volume = {'id': volume_id, 'name': name, 'size': size_gb,
                  'description': description, 'status': 'available',
                  'bootable': bool(image_metadata), 'metadata': {},
                  'project_id': project_id, 'created_at': _now(),
                  'updated_at': None}
        if image_metadata:
            volume['volume_image_metadata'] = dict(image_metadata)
        with self.lock:
            self.volumes[volume_id] = volume
            self.save()
        return volume

    def list_volumes(self, query, base):
        """Cinder's list (detail views): oldest first here, after the
        query's marker, at most its limit, then those whose fields equal
        every filter naming one of their fields (all_tenants and other
        scopes mean nothing here)."""
        ordered = sorted(self.volumes.values(),
                         key=lambda v: (v['created_at'], v['id']))
        ids = [v['id'] for v in ordered]
        if query.get('marker') in ids:
            ordered = ordered[ids.index(query['marker']) + 1:]
        elif query.get('marker'):
            raise not_found('Marker', query['marker'])
        if query.get('limit', '').isdigit():
            ordered = ordered[:int(query['limit'])]
        filters = {k: v for k, v in query.items()
                   if k not in ('limit', 'marker', 'sort', 'sort_key',
                                'sort_dir', 'with_count', 'offset')}
        shown = [self.volume_view(v, base) for v in ordered]
        return [v for v in shown
                if all(str(v[k]) == want for k, want in filters.items()
                       if k in v)]

    def volume(self, volume_id):
        try:
            return self.volumes[volume_id]
        except KeyError:
            raise not_found('Volume', volume_id) from None

    def update_volume(self, volume_id, name=None, description=None,
                      metadata=None):
        with self.lock:
            volume = self.volume(volume_id)
            for key, value in (('name', name), ('description', description),
                               ('metadata', metadata)):
                if value is not None:
                    volume[key] = value
            self._changed(volume)
            return volume

    def delete_volume(self, volume_id):
        """Gone at once (Cinder deletes in the background; nothing is
        behind this one).  A volume with attachments, even reserved ones,
        stays: Nova must detach it first."""
        with self.lock:
            volume = self.volume(volume_id)
            attached = self.attachments_of(volume_id)
            if attached or volume['status'] not in DELETABLE:
                servers = sorted({a['instance'] for a in attached})
                raise bad_request(
                    f'Invalid volume: Volume {volume_id} is '
                    f'{volume["status"]} with attachments '
                    f'{sorted(a["id"] for a in attached)} (servers '
                    f'{servers}): it must be available and have no '
                    f'attachments to be deleted.')
            del self.volumes[volume_id]
            self.save()

    def detach(self, volume_id, attachment_id=None):
        """os-detach: the volume's attachment_id (or its only one) gone."""
        attached = self.attachments_of(volume_id)
        chosen = [a for a in attached if attachment_id in (None, a['id'])]
        if len(chosen) != 1:
            raise bad_request(
                f'Invalid volume: Volume {volume_id} has attachments '
                f'{sorted(a["id"] for a in attached)}: name one of them '
                f'(attachment_id) to detach.')
        self.delete_attachment(chosen[0]['id'])

    def attachments_of(self, volume_id):
        return [a for a in self.attachments.values()
                if a['volume_id'] == volume_id]

    def set_status(self, volume_id, action, expected=None, status=None):
        """The volume from one of the expected statuses to status (those
        of STATUS_ACTIONS[action] by default)."""
        if expected is None:
            expected, status = STATUS_ACTIONS[action]
        with self.lock:
            volume = self.volume(volume_id)
            if volume['status'] not in expected:
                raise bad_request(
                    f'Invalid volume: Volume {volume_id} status must be '
                    f'{" or ".join(expected)} for {action}, not '
                    f'{volume["status"]}.')
            volume['status'] = status
            self._changed(volume)

    def begin_reimage(self, volume_id, image_metadata, reimage_reserved):
        """The volume downloading the image of image_metadata (what
        Cinder keeps of it, which replaces the old image's once written):
        available (or reserved, for a rebuild, where Nova keeps an
        attachment without a connector)."""
        expected = ('available', 'error') + (
            ('reserved',) if reimage_reserved else ())
        with self.lock:
            volume = self.volume(volume_id)
            before = volume['status']
            self.set_status(volume_id, 'os-reimage', expected, 'downloading')
            # A good image mends a volume in error, as in Cinder.
            volume['reimage_from'] = ('available' if before == 'error'
                                      else before)
            volume['reimage_metadata'] = dict(image_metadata)
            self._changed(volume)

    def end_reimage(self, volume_id):
        """The image written: the volume back where it was, and the servers
        Nova must tell (those of its attachments)."""
        with self.lock:
            volume = self.volume(volume_id)
            volume['status'] = volume.pop('reimage_from', 'available')
            volume['volume_image_metadata'] = volume.pop('reimage_metadata')
            volume['bootable'] = True
            self._changed(volume)
            return sorted({a['instance'] for a in
                           self.attachments_of(volume_id) if a['instance']})

    def volume_view(self, volume, base):
        """A volume as Cinder shows it (detail view).  Its attachments are
        the attached ones, as in Cinder; a reserved volume shows none."""
        shown = {key: volume[key] for key in (
            'id', 'name', 'size', 'status', 'description', 'metadata',
            'created_at', 'updated_at')}
        attached = [a for a in self.attachments_of(volume['id'])
                    if a['status'] == 'attached']
        shown.update({
            'bootable': str(volume['bootable']).lower(),
            'availability_zone': AVAILABILITY_ZONE,
            'volume_type': VOLUME_TYPE, 'multiattach': False,
            'encrypted': False, 'snapshot_id': None, 'source_volid': None,
            'consistencygroup_id': None, 'group_id': None, 'user_id': None,
            'replication_status': None, 'migration_status': None,
            'os-vol-tenant-attr:tenant_id': volume.get('project_id'),
            'os-vol-host-attr:host': 'cinder-standin@fc#fc',
            'shared_targets': False, 'service_uuid': SERVICE_UUID,
            'cluster_name': None, 'provider_id': None,
            'consumes_quota': True,
            'attachments': [{
                'id': volume['id'], 'attachment_id': a['id'],
                'volume_id': volume['id'], 'server_id': a['instance'],
                'host_name': a['connector'].get('host'),
                'device': a['connector'].get('mountpoint'),
                'attached_at': a['attached_at']} for a in attached],
            'links': [{'rel': 'self',
                       'href': f'{base}/v3/volumes/{volume["id"]}'}]})
        if 'volume_image_metadata' in volume:
            shown['volume_image_metadata'] = volume['volume_image_metadata']
        return shown

    # -- attachments -------------------------------------------------------

    def attachment(self, attachment_id):
        try:
            return self.attachments[attachment_id]
        except KeyError:
            raise not_found('Attachment', attachment_id) from None

    def create_attachment(self, volume_id, instance_id, connector=None,
                          mode='rw'):
        """Cinder's reserve: an available volume becomes reserved.  One
        already attached to the same server may have another attachment
        (a live migration's or a rebuild's), as Cinder allows."""
        with self.lock:
            volume = self.volume(volume_id)
            same_server = instance_id and any(
                a['instance'] == instance_id
                for a in self.attachments_of(volume_id))
            if volume['status'] == 'available':
                volume['status'] = 'reserved'
            elif not (same_server and volume['status'] in ('in-use',
                                                           'reserved')):
                raise bad_request(
                    f'Invalid volume: Volume {volume_id} status must be '
                    f'available, not {volume["status"]}.')
            attachment = {'id': str(uuid.uuid4()), 'volume_id': volume_id,
                          'instance': instance_id, 'status': 'reserved',
                          'connector': None, 'connection_info': {},
                          'attach_mode': mode or 'rw', 'attached_at': None,
                          'detached_at': None}
            self.attachments[attachment['id']] = attachment
            if connector:
                return self.update_attachment(attachment['id'], connector)
            self._changed(volume)
            return attachment

    def update_attachment(self, attachment_id, connector):
        """The host's connector given: the connection from its WWPNs."""
        wwpns = (connector or {}).get('wwpns') or []
        if not wwpns:
            raise bad_request(
                f'Invalid input received: the connector of attachment '
                f'{attachment_id} has no wwpns: this Cinder\'s volumes '
                f'are on fibre channel only (connector: host '
                f'{(connector or {}).get("host")!r}).')
        with self.lock:
            attachment = self.attachment(attachment_id)
            volume = self.volume(attachment['volume_id'])
            attachment.update(connector=connector, status='attaching',
                              connection_info=self._fc_connection(
                                  attachment, wwpns))
            if volume['status'] == 'reserved':
                volume['status'] = 'attaching'
            self._changed(volume)
            return attachment

    def complete_attachment(self, attachment_id):
        with self.lock:
            attachment = self.attachment(attachment_id)
            volume = self.volume(attachment['volume_id'])
            if not attachment['connector']:
                raise bad_request(
                    f'Invalid attachment: attachment {attachment_id} has no '
                    f'connector yet: update it before completing it.')
            attachment.update(status='attached', attached_at=_now())
            volume['status'] = 'in-use'
            self._changed(volume)

    def delete_attachment(self, attachment_id):
        """The connection gone; the volume takes the status its remaining
        attachments give it.  Returns them, as Cinder does."""
        with self.lock:
            attachment = self.attachments.pop(
                self.attachment(attachment_id)['id'])
            volume = self.volumes.get(attachment['volume_id'])
            remaining = self.attachments_of(attachment['volume_id'])
            if volume is not None and volume['status'] != 'downloading':
                states = {a['status'] for a in remaining}
                volume['status'] = (
                    'in-use' if 'attached' in states else
                    'attaching' if 'attaching' in states else
                    'reserved' if states else 'available')
                self._changed(volume)
            else:
                self.save()
            return remaining

    def list_attachments(self, instance_id=None, volume_id=None):
        return [a for a in self.attachments.values()
                if instance_id in (None, a['instance'])
                and volume_id in (None, a['volume_id'])]

    def _fc_connection(self, attachment, wwpns):
        """Cinder's connection_info, flat as its attachment API shows it
        (Nova nests all but driver_volume_type under 'data' again)."""
        return {'driver_volume_type': 'fibre_channel',
                'volume_id': attachment['volume_id'],
                'attachment_id': attachment['id'],
                'target_discovered': False, 'target_lun': 1,
                'target_wwn': list(self.targets),
                'initiator_target_map': {w: list(self.targets)
                                         for w in wwpns},
                'access_mode': attachment['attach_mode'],
                'encrypted': False, 'qos_specs': None, 'cacheable': False}

    def _changed(self, volume):
        volume['updated_at'] = _now()
        self.save()


def attachment_view(attachment):
    """An attachment as Cinder shows it (3.44)."""
    return {key: attachment[key] for key in (
        'id', 'status', 'instance', 'volume_id', 'attached_at',
        'detached_at', 'attach_mode', 'connection_info')}


def seed_volumes(store):
    """The sandbox's volumes (seed.py), with the ids the in-process
    stand-in gives them: the bootable one and the empty ones.  A volume
    already there is left as it is (a restart keeps its attachments)."""
    wanted = [(seed.BOOT_VOLUME, seed.BOOT_VOLUME_GB,
               seed.BOOT_VOLUME_METADATA)] + [
        (name, 1, None) for name in seed.DATA_VOLUMES]
    ids = {}
    for name, size_gb, image_metadata in wanted:
        ids[name] = seed.stable_id(f'volume-{name}')
        if ids[name] not in store.volumes:
            store.add_volume(name, size_gb, image_metadata,
                             volume_id=ids[name])
    return ids
