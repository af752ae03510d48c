# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Keystone's part in the sandbox: a token for whoever asks, and in it the
service catalog, where clients find each service as in a real cloud.

The sandbox takes every caller as the admin, so the token proves nothing;
it exists for its catalog.  Endpoint overrides in clouds.yaml would do for
openstacksdk and the client's own commands, but plug-ins of the stock
client, such as osc-placement's `resource provider` commands, look their
service up in the catalog only.
"""

import datetime
import secrets

REGION = 'RegionOne'
DOMAIN = {'id': 'default', 'name': 'Default'}
USER = 'admin'
ROLES = ('admin', 'member', 'reader')
TOKEN_LIFETIME = datetime.timedelta(days=1)
# service type: (service name, path under the sandbox's address).  Cinder
# is listed under both names clients look for.
SERVICES = {
    'identity': ('keystone', '/identity'),
    'compute': ('nova', '/v2.1'),
    'image': ('glance', '/image'),
    'network': ('neutron', '/network'),
    'block-storage': ('cinder', '/volume/v3'),
    'volumev3': ('cinderv3', '/volume/v3'),
    'placement': ('placement', '/placement'),
}


def catalog(base):
    """The service catalog of a sandbox at base (its http://host:port)."""
    return [{'id': service_type, 'type': service_type, 'name': name,
             'endpoints': [{'id': f'{service_type}-public',
                            'interface': 'public', 'region': REGION,
                            'region_id': REGION, 'url': f'{base}{path}'}]}
            for service_type, (name, path) in SERVICES.items()]


def issue(base, project_id, request):
    """(token id, body) of POST /v3/auth/tokens: whatever the request
    (Keystone's v3 authentication body), a token of the admin scoped to
    the project nova's API serves, with the catalog."""
    methods = request.get('auth', {}).get('identity', {}).get(
        'methods') or ['password']
    now = datetime.datetime.now(datetime.timezone.utc)
    return secrets.token_hex(16), {'token': {
        'methods': methods,
        'audit_ids': [secrets.token_urlsafe(16)],
        'issued_at': _iso(now),
        'expires_at': _iso(now + TOKEN_LIFETIME),
        'user': {'id': USER, 'name': USER, 'domain': DOMAIN,
                 'password_expires_at': None},
        'project': {'id': project_id, 'name': USER, 'domain': DOMAIN},
        'is_domain': False,
        'roles': [{'id': role, 'name': role} for role in ROLES],
        'catalog': catalog(base)}}


def _iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
