# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's front door on its one port: Keystone's tokens and
catalog (identity.py), and each service under the path the catalog
names, enough for the stock `openstack` client and openstacksdk.

Gateway passes every request on whole to its service's process, as the
scale-out mode runs them all.  Catalog, the one-process mode's, hands
Nova's API to Nova's WSGI app in this process and answers the read side
of Cinder's in-process stand-in (services.py) itself: a list and a show
of volumes, in the shape and under the paths the real Cinder uses;
changes go through Nova's API, as a server's volumes do.  Glance, Neutron
and Placement are the real ones in both modes.
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


class Gateway:
    """The sandbox's front door, a WSGI app: Keystone's stand-in under
    /identity, and every other request passed on whole to its service
    (urls: {'placement', 'neutron', 'glance', 'cinder', 'nova': URL}):
    /placement as the admin (placement_token), /network, /image, /volume,
    and Nova's API at the root.  The scale-out mode serves it as it is;
    the one-process mode serves Catalog."""

    def __init__(self, urls, project_id, placement_token='admin'):
        self.urls = urls
        self.project_id = project_id
        self.prefixes = {
            'placement': (urls['placement'],
                          {'X-Auth-Token': placement_token}),
            'network': (urls['neutron'], None),
            'volume': (urls.get('cinder'), None),
        }

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '').rstrip('/') or '/'
        service = path.split('/')[1]
        if service == 'identity':
            return identity_answer(environ, start_response, self.project_id)
        if service == 'image':
            return _forward(environ, start_response, self.urls['glance'],
                            _forwarded_as(environ, '/image'))
        if service in self.prefixes:
            url, headers = self.prefixes[service]
            return _forward(environ, start_response, url, headers)
        return self.nova(environ, start_response)

    def nova(self, environ, start_response):
        return _forward(environ, start_response, self.urls['nova'],
                        strip=False)


class Catalog(Gateway):
    """The one-process sandbox's front door: Gateway on cloud's Glance,
    Neutron and placement, with Nova's API (app) and Cinder's stand-in in
    this process (its read side under /volume), and the drivers' request
    count at REQUESTS."""

    def __init__(self, cloud, app):
        super().__init__({'placement': cloud.placement.fixture.endpoint,
                          'neutron': cloud.neutron.url,
                          'glance': cloud.glance.url}, cloud.project_id,
                         placement_token=cloud.placement.fixture.token)
        self.cloud = cloud
        self.app = app
        self.routes = [
            (r'/volume/v3(?:/[0-9a-f]{32})?/volumes(?:/detail)?',
             self._volumes),
            (r'/volume/v3(?:/[0-9a-f]{32})?/volumes/([^/]+)', self._volume),
        ]

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '').rstrip('/') or '/'
        if path == REQUESTS:
            return _reply(start_response, 200, self.cloud.traffic.counts())
        if path.split('/')[1] == 'volume':
            return self._cinder(environ, start_response, path)
        return super().__call__(environ, start_response)

    def nova(self, environ, start_response):
        return self.app(environ, start_response)

    def _cinder(self, environ, start_response, path):
        """The read side of the stand-in: version documents, volume list
        and show."""
        if environ['REQUEST_METHOD'] != 'GET':
            return _reply(start_response, 405, {'error': 'read only'})
        base = _base_url(environ)
        if path == '/volume':
            return _reply(start_response, 200, _versions('volume', base))
        if path == '/volume/' + VERSIONS['volume'][1]:
            return _reply(start_response, 200,
                          {'version': _version('volume', base)})
        query = dict(parse.parse_qsl(environ.get('QUERY_STRING', '')))
        for pattern, answer in self.routes:
            match = re.fullmatch(pattern, path)
            if match:
                status, body = answer(query, *match.groups())
                return _reply(start_response, status, body)
        return _reply(start_response, 404, {'error': f'no {path}'})

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


def _forward(environ, start_response, service_url, headers=None,
             strip=True):
    """The request, sent on to the real service at service_url (its path
    without the sandbox's prefix: /placement, /network, /image; the whole
    path if not strip), and its answer."""
    path = environ.get('PATH_INFO', '')
    prefix = '/' + path.split('/')[1] if strip else ''
    url = service_url + path.removeprefix(prefix)
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


def identity_answer(environ, start_response, project_id):
    """Keystone's stand-in (identity.py) under /identity: its version
    documents, and a token of the admin of project_id for any
    authentication request."""
    path = environ.get('PATH_INFO', '').rstrip('/')
    base = _base_url(environ)
    if (environ['REQUEST_METHOD'], path) == ('POST', TOKENS):
        try:
            request = json.loads(_body(environ) or b'{}')
        except ValueError as e:
            return _reply(start_response, 400, {'error': {
                'code': 400, 'message': f'the body is not JSON: {e}'}})
        token_id, body = identity.issue(base, project_id, request)
        return _reply(start_response, 201, body,
                      [('X-Subject-Token', token_id)])
    if path == '/identity':
        return _reply(start_response, 200, _versions('identity', base))
    if path == '/identity/' + VERSIONS['identity'][1]:
        return _reply(start_response, 200,
                      {'version': _version('identity', base)})
    return _reply(start_response, 404, {'error': f'no {path}'})


def _forwarded_as(environ, prefix):
    """Headers that make a service behind the sandbox name the address
    the client asked, under prefix, in its version documents and
    locations (its http_proxy_to_wsgi filter reads them)."""
    return {'X-Forwarded-Host': environ['HTTP_HOST'],
            'X-Forwarded-Proto': environ['wsgi.url_scheme'],
            'X-Forwarded-Prefix': prefix}
