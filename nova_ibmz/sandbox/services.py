# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Cinder and Glance for Nova in one process.  (Neutron is real too:
networking.py.)

- Cinder is nova's own in-memory stand-in (nova.tests.fixtures), made to
  behave as a mainframe cloud's does: it answers with fibre-channel
  connections from the connector's WWPNs to the storage's target ports,
  and holds bootable volumes.  No Cinder backend reaches FC storage
  without the hardware.
- Glance is real, in a process of its own (glance.py): nova_on_glance
  points Nova at it.

The sandbox and the functional tests use these same parts.
"""

import copy

import fixtures
from keystoneauth1 import noauth
from nova.image import glance as nova_glance
from nova.tests import fixtures as nova_fixtures

from nova_ibmz.sandbox import seed

# What nova_on_glance wraps, taken at import: before any test patches it.
_NOVA_SESSION_AND_AUTH = nova_glance._session_and_auth


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


class _NoGlanceFixture(fixtures.Fixture):
    """What nova's harness makes in GlanceFixture's place: nothing."""

    def __init__(self, test):
        super().__init__()


def nova_on_glance(test, url):
    """test's Nova (a nova _IntegratedTestBase, before its setUp) on the
    real Glance at url, instead of the in-memory GlanceFixture its harness
    makes (which stubs nova.image.glance.API).

    Nova hands Glance the caller's token, as in a cloud.  A context
    without one (nova's harness builds the API's contexts from headers,
    without the token) gets keystoneauth's no-auth plugin instead, whose
    token is a placeholder: the sandbox's Glance takes every caller as the
    admin, whatever the token says (auth.py)."""
    test.useFixture(fixtures.MonkeyPatch(
        'nova.tests.fixtures.GlanceFixture', _NoGlanceFixture))
    test.flags(api_servers=[url], group='glance')

    def session_and_auth(context):
        session, auth = _NOVA_SESSION_AND_AUTH(context)
        return session, auth if context.auth_token else noauth.NoAuth()
    test.useFixture(fixtures.MonkeyPatch(
        'nova.image.glance._session_and_auth', session_and_auth))
