# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Glance and Cinder for Nova in one process: nova's own in-memory
stand-ins (nova.tests.fixtures), made to behave as a mainframe cloud's
services do.  (Neutron is real: networking.py.)

- Cinder answers with fibre-channel connections from the connector's
  WWPNs to the storage's target ports, and holds bootable volumes.
- Glance queues a snapshot until its data is uploaded, and keeps that
  data, so that a server can boot from a snapshot.

The sandbox and the functional tests use these same classes.
"""

import copy

import fixtures
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import glance as glance_fixture

from nova_ibmz.sandbox import seed


class FCCinder(nova_fixtures.CinderFixture):
    """Cinder with an FC backend: every connection reaches the LUN through
    the storage's target ports from the connector's WWPNs."""

    def __init__(self, test, targets):
        super().__init__(test)
        self.targets = list(targets)

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'nova.volume.cinder.API.delete', side_effect=self.fake_delete,
            autospec=False))

    def fake_delete(self, context, volume_id):
        """Cinder deletes a volume Nova made for a server that is gone
        (delete_on_termination)."""
        self.volumes.pop(volume_id, None)

    def add_volume(self, name, size_gb, image_metadata=None):
        """A new available volume; bootable when image_metadata is given
        (as Cinder marks a volume it made from an image).  Returns its
        id."""
        volume_id = seed.stable_id(f'volume-{name}')
        volume = {'id': volume_id, 'display_name': name, 'size': size_gb,
                  'status': 'available', 'attach_status': 'detached',
                  'multiattach': False, 'availability_zone': self.az,
                  'bootable': bool(image_metadata)}
        if image_metadata:
            volume['volume_image_metadata'] = dict(image_metadata)
        self.volumes[volume_id] = volume
        return volume_id

    def _find_connection_info(self, volume_id, attachment_id):
        attachment = self.volume_to_attachment[volume_id][attachment_id]
        wwpns = (attachment.get('connector') or {}).get('wwpns', [])
        return {'driver_volume_type': 'fibre_channel', 'serial': volume_id,
                'data': {'volume_id': volume_id,
                         'attachment_id': attachment_id,
                         'target_discovered': False, 'target_lun': 1,
                         'target_wwn': list(self.targets),
                         'initiator_target_map': {
                             w: list(self.targets) for w in wwpns}}}

    def connected(self, volume_id):
        """The volume's attachments that have a host connector."""
        return [a for a in self.volume_to_attachment[volume_id].values()
                if a.get('connector')]

    def fake_get(self, context, volume_id, microversion=None):
        """A seeded volume is in use while it has an attachment with a
        host connector, as in Cinder."""
        volume = copy.deepcopy(super().fake_get(context, volume_id,
                                                microversion))
        if volume_id in self.volumes and self.connected(volume_id):
            volume.update(status='in-use', attach_status='attached')
        return volume

    def fake_reimage_volume(self, context, volume_id, image_id,
                            reimage_reserved=False):
        """Re-image the volume, then tell Nova as Cinder does."""
        super().fake_reimage_volume(context, volume_id, image_id,
                                    reimage_reserved=reimage_reserved)
        [server_id] = {a['instance_uuid'] for a in
                       self.volume_to_attachment[volume_id].values()}
        self.test.admin_api.api_post('/os-server-external-events', {
            'events': [{'name': 'volume-reimaged', 'tag': volume_id,
                        'server_uuid': server_id}]})


def glance_keeps_uploads(test):
    """nova's GlanceFixture makes every new image active and drops data
    uploaded after the image was created.  Glance queues an image made
    without data (a snapshot, until the driver uploads it) and keeps what
    is uploaded: a client can wait for a snapshot, then boot from it."""
    original_create = glance_fixture.GlanceFixture.create
    original_update = glance_fixture.GlanceFixture.update

    def create(fixture, context, metadata, data=None):
        if data is None:
            metadata.setdefault('status', 'queued')
        return original_create(fixture, context, metadata, data=data)

    def update(fixture, context, image_id, metadata, data=None,
               purge_props=False):
        if data is not None:
            fixture._imagedata[image_id] = data.read()
            metadata = dict(metadata, status='active')
        return original_update(fixture, context, image_id, metadata,
                               purge_props=purge_props)
    test.stub_out('nova.tests.fixtures.GlanceFixture.create', create)
    test.stub_out('nova.tests.fixtures.GlanceFixture.update', update)
