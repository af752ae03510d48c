# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The read side of the sandbox's Cinder over HTTP, Keystone's tokens and
catalog (identity.py), Glance, Neutron and Placement, and the count of
the drivers' requests: enough for the stock `openstack` client and
openstacksdk to find volumes by name, to use Glance and Neutron and to
show resource providers.

Cinder's stand-in lives in Nova's process (services.py), so its answers
are read straight from it: a list and a show of volumes, in the shape and
under the paths the real Cinder uses.  Anything else gets 404; changes go
through Nova's API, as a server's volumes do.  Glance and Neutron
(processes of their own) and Placement (which Nova's compute services use
too) are the real ones: their requests are passed on whole.
"""

import http
import json
import re
from urllib import parse

import requests

from nova_ibmz.sandbox import identity

# service prefix -> (version id, path of that version)
VERSIONS = {'identity': ('v3.14', 'v3'), 'volume': ('v3.0', 'v3')}
VOLUME_MICROVERSION = '3.70'
TOKENS = '/identity/v3/auth/tokens'
# The requests the drivers sent the simulators, by cause (traffic.py).
REQUESTS = '/_sandbox/requests'
# What a request to a real service and its answer carry beyond the body.
FORWARDED_HEADERS = ('Accept', 'Content-Type', 'OpenStack-API-Version',
                     'X-OpenStack-Request-ID')
ANSWER_HEADERS = ('Content-Type', 'OpenStack-API-Version', 'Vary',
                  'Location', 'Last-Modified', 'Cache-Control',
                  # an image's download: clients check its data with it
                  'Content-MD5')


class Catalog:
    """A WSGI app answering under /identity and /volume from cloud's
    stand-ins, under /image, /network and /placement from its Glance,
    Neutron and placement, at REQUESTS from its traffic count, and passing
    every other path to app (Nova)."""

    def __init__(self, cloud, app):
        self.cloud = cloud
        self.app = app
        self.routes = [
            (r'/volume/v3(?:/[0-9a-f]{32})?/volumes(?:/detail)?',
             self._volumes),
            (r'/volume/v3(?:/[0-9a-f]{32})?/volumes/([^/]+)', self._volume),
        ]

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '').rstrip('/') or '/'
        method = environ['REQUEST_METHOD']
        service = path.split('/')[1]
        if path == REQUESTS:
            return _reply(start_response, 200, self.cloud.traffic.counts())
        if service == 'placement':
            fixture = self.cloud.placement.fixture
            return _forward(environ, start_response, fixture.endpoint,
                            # as the admin
                            {'X-Auth-Token': fixture.token})
        if service == 'network':
            return _forward(environ, start_response, self.cloud.neutron.url)
        if service == 'image':
            # Glance's version documents and locations name the address
            # the client asked, under /image (its http_proxy_to_wsgi
            # filter reads these).
            return _forward(environ, start_response, self.cloud.glance.url, {
                'X-Forwarded-Host': environ['HTTP_HOST'],
                'X-Forwarded-Proto': environ['wsgi.url_scheme'],
                'X-Forwarded-Prefix': '/image'})
        if service not in VERSIONS:
            return self.app(environ, start_response)
        base = _base_url(environ)
        query = dict(parse.parse_qsl(environ.get('QUERY_STRING', '')))
        if (method, path) == ('POST', TOKENS):
            return self._token(environ, start_response, base)
        if method != 'GET':
            return _reply(start_response, 405, {'error': 'read only'})
        if path == f'/{service}':
            return _reply(start_response, 200, _versions(service, base))
        if path == f'/{service}/{VERSIONS[service][1]}':
            return _reply(start_response, 200,
                          {'version': _version(service, base)})
        for pattern, answer in self.routes:
            match = re.fullmatch(pattern, path)
            if match:
                status, body = answer(query, *match.groups())
                return _reply(start_response, status, body)
        return _reply(start_response, 404, {'error': f'no {path}'})

    # -- Keystone ------------------------------------------------------

    def _token(self, environ, start_response, base):
        try:
            request = json.loads(_body(environ) or b'{}')
        except ValueError as e:
            return _reply(start_response, 400, {'error': {
                'code': 400, 'message': f'the body is not JSON: {e}'}})
        token_id, body = identity.issue(base, self.cloud.project_id,
                                        request)
        return _reply(start_response, 201, body,
                      [('X-Subject-Token', token_id)])

    # -- Cinder ----------------------------------------------------------

    def _volumes(self, query):
        volumes = [self._cinder_volume(v) for v in self.cloud.cinder.volumes]
        return 200, {'volumes': _matching(volumes, query)}

    def _volume(self, query, volume_id):
        if volume_id not in self.cloud.cinder.volumes:
            return 404, {'itemNotFound': {
                'message': f'Volume {volume_id} could not be found.'}}
        return 200, {'volume': self._cinder_volume(volume_id)}

    def _cinder_volume(self, volume_id):
        volume = self.cloud.cinder.fake_get(None, volume_id)
        attachments = [
            {'attachment_id': a['id'], 'server_id': a['instance_uuid'],
             'volume_id': volume_id,
             'device': a['connector'].get('device', '')}
            for a in self.cloud.cinder.connected(volume_id)]
        return {
            'id': volume_id, 'name': volume['display_name'],
            'size': volume['size'], 'status': volume['status'],
            'bootable': str(volume.get('bootable', False)).lower(),
            'volume_image_metadata': volume.get('volume_image_metadata',
                                                {}),
            'availability_zone': volume['availability_zone'],
            'multiattach': volume['multiattach'],
            'volume_type': 'fc', 'attachments': attachments,
            'metadata': {}, 'description': None,
            'links': []}


def _forward(environ, start_response, service_url, headers=None):
    """The request, sent on to the real service at service_url (its path
    without the sandbox's prefix: /placement, /network, /image), and its
    answer."""
    prefix = '/' + environ.get('PATH_INFO', '').split('/')[1]
    url = service_url + environ.get('PATH_INFO', '').removeprefix(prefix)
    if environ.get('QUERY_STRING'):
        url += f'?{environ["QUERY_STRING"]}'
    sent = {name: environ[key] for name, key in (
        (n, 'HTTP_' + n.upper().replace('-', '_'))
        for n in FORWARDED_HEADERS) if key in environ}
    if environ.get('CONTENT_TYPE'):
        sent['Content-Type'] = environ['CONTENT_TYPE']
    answer = requests.request(environ['REQUEST_METHOD'], url,
                              headers=dict(sent, **(headers or {})),
                              data=_body(environ), timeout=60)
    start_response(f'{answer.status_code} {answer.reason}', [
        (name, answer.headers[name]) for name in ANSWER_HEADERS
        if name in answer.headers] + [
        ('Content-Length', str(len(answer.content)))])
    return [answer.content]


def _matching(resources, query):
    """The resources whose fields equal every filter in the query that
    names a field of theirs (paging and sorting parameters are not
    filters)."""
    filters = {k: v for k, v in query.items()
               if k not in ('limit', 'marker', 'sort', 'sort_key',
                            'sort_dir', 'fields')}
    return [r for r in resources
            if all(str(r.get(k)) == v for k, v in filters.items()
                   if k in r)]


def _version(service, base):
    version, path = VERSIONS[service]
    doc = {'id': version, 'status': 'CURRENT' if service != 'identity'
           else 'stable',
           'links': [{'rel': 'self', 'href': f'{base}/{service}/{path}/'}],
           'media-types': [{'base': 'application/json',
                            'type': 'application/json'}]}
    if service == 'volume':
        doc.update(version=VOLUME_MICROVERSION, min_version='3.0')
    return doc


def _versions(service, base):
    versions = [_version(service, base)]
    if service == 'identity':
        return {'versions': {'values': versions}}
    return {'versions': versions}


def _base_url(environ):
    return f'{environ["wsgi.url_scheme"]}://{environ["HTTP_HOST"]}'


def _body(environ):
    return environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH')
                                          or 0))


def _reply(start_response, status, body, headers=()):
    data = json.dumps(body).encode()
    start_response(f'{status} {http.HTTPStatus(status).phrase}', [
        ('Content-Type', 'application/json'),
        ('Content-Length', str(len(data))), *headers])
    return [data]
