# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's Cinder stand-in, and the endpoints (catalog.Catalog) that
show it to API clients and pass Glance's and Neutron's requests on to the
real ones."""

import http.server
import json
import threading
import types

import pytest
import webob

from nova_ibmz.sandbox import catalog
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import services

DPM_VSWITCH = 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000301'
PROJECT_ID = '6f70656e737461636b20342065766572'
COUNTS = {'hmc': {'operation': 3, 'periodic': 5}}


@pytest.fixture
def cinder():
    return services.FCCinder(None, seed.STORAGE_TARGETS)


def test_fc_connections_reach_the_targets_from_the_connectors_wwpns(
        cinder):
    volume_id = cinder.add_volume('data-1', 1)
    assert cinder.fake_get(None, volume_id)['status'] == 'available'
    # Nova reserves the volume, then connects it from the host.
    attachment_id = cinder.fake_attachment_create(
        None, volume_id, 'instance-1')['id']
    assert cinder.fake_get(None, volume_id)['status'] == 'available'
    info = cinder.fake_attachment_update(
        None, attachment_id, {'wwpns': ['c05076ffe5000001'],
                              'host': 'zvm-1'},
        mountpoint='/dev/sdb')['connection_info']
    assert info['driver_volume_type'] == 'fibre_channel'
    assert info['data']['initiator_target_map'] == {
        'c05076ffe5000001': list(seed.STORAGE_TARGETS)}
    assert cinder.fake_get(None, volume_id)['status'] == 'in-use'


# -- the read-only endpoints ----------------------------------------------

def nova_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'nova']


class Echo(http.server.BaseHTTPRequestHandler):
    """A service that answers every request with what it received."""

    def _echo(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        data = json.dumps({'method': self.command, 'path': self.path,
                           'body': body.decode(),
                           'type': self.headers.get('Content-Type'),
                           'forwarded': [self.headers.get(f'X-Forwarded-{h}')
                                         for h in ('Host', 'Proto',
                                                   'Prefix')]}).encode()
        self.send_response(201)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Location', '/v2.0/ports/p9')
        self.send_header('X-Secret-Header', 'not passed on')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _echo

    def log_message(self, *args):
        pass


@pytest.fixture
def neutron():
    """A stand-in of the neutron-server (or Glance) process: it echoes
    requests."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield types.SimpleNamespace(url=f'http://127.0.0.1:{server.server_port}')
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(neutron, cinder):
    cinder.add_volume(seed.BOOT_VOLUME, 10, seed.BOOT_VOLUME_METADATA)
    cloud = types.SimpleNamespace(
        glance=neutron, neutron=neutron, cinder=cinder, project_id=PROJECT_ID,
        placement=types.SimpleNamespace(fixture=types.SimpleNamespace(
            endpoint=neutron.url, token='admin')),
        traffic=types.SimpleNamespace(counts=lambda: COUNTS))
    return catalog.Catalog(cloud, nova_app)


def get(app, path, method='GET'):
    response = webob.Request.blank(path, method=method).get_response(app)
    body = response.body
    return response.status_int, (json.loads(body) if response.content_type
                                 == 'application/json' else body)


def test_network_requests_go_to_neutron_whole(app):
    """Any method, the path without /network, the query, the body and its
    type; back come the status, the body and Neutron's headers that
    clients read."""
    response = webob.Request.blank(
        '/network/v2.0/ports?network_id=n1', method='POST',
        body=b'{"port": {}}', content_type='application/json').get_response(
            app)
    assert response.status_int == 201
    assert json.loads(response.body) == {
        'method': 'POST', 'path': '/v2.0/ports?network_id=n1',
        'body': '{"port": {}}', 'type': 'application/json',
        'forwarded': [None, None, None]}
    assert response.headers['Location'] == '/v2.0/ports/p9'
    assert 'X-Secret-Header' not in response.headers
    assert get(app, '/network/v2.0/ports/p1', method='DELETE')[1][
        'method'] == 'DELETE'


def test_image_requests_go_to_glance_under_its_prefix(app):
    """As Neutron's, with the address the client asked and the /image
    prefix, which Glance's links (version documents) then name."""
    response = webob.Request.blank(
        '/image/v2/images/i1/file', method='PUT', body=b'data',
        content_type='application/octet-stream').get_response(app)
    assert json.loads(response.body) == {
        'method': 'PUT', 'path': '/v2/images/i1/file', 'body': 'data',
        'type': 'application/octet-stream',
        'forwarded': ['localhost:80', 'http', '/image']}


def test_volumes_by_name(app):
    status, body = get(app, f'/volume/v3/volumes/detail?name='
                       f'{seed.BOOT_VOLUME}')
    [volume] = body['volumes']
    assert (volume['bootable'], volume['status'],
            volume['volume_image_metadata']['hypervisor_type']) == (
        'true', 'available', 'prsm')
    assert get(app, '/volume/v3/volumes/nothing')[0] == 404


def test_a_volume_shows_its_attachment(app, cinder):
    volume_id = seed.stable_id(f'volume-{seed.BOOT_VOLUME}')
    attachment_id = cinder.fake_attachment_create(
        None, volume_id, 'instance-1')['id']
    cinder.fake_attachment_update(None, attachment_id, {'wwpns': []},
                                  mountpoint='/dev/sda')
    volume = get(app, f'/volume/v3/volumes/{volume_id}')[1]['volume']
    assert volume['status'] == 'in-use'
    assert volume['attachments'] == [{
        'attachment_id': attachment_id, 'server_id': 'instance-1',
        'volume_id': volume_id, 'device': '/dev/sda'}]


def test_version_documents_for_discovery(app):
    status, body = get(app, '/identity')
    assert body['versions']['values'][0]['id'].startswith('v3')
    assert get(app, '/volume')[1]['versions'][0]['links'][0][
        'href'] == 'http://localhost:80/volume/v3/'
    assert get(app, '/volume/v3')[1]['version']['version'] == '3.70'


def test_the_endpoints_are_read_only_and_the_rest_is_novas(app):
    assert get(app, '/volume/v3/volumes', method='POST')[0] == 405
    assert get(app, '/v2.1/servers') == (200, b'nova')
    assert get(app, '/') == (200, b'nova')


def post(app, path, body):
    return webob.Request.blank(path, method='POST', body=body,
                               content_type='application/json'
                               ).get_response(app)


def test_a_token_for_anyone_carries_the_catalog(app):
    """Keystone's password authentication, as keystoneauth sends it: the
    admin's token in the API's project, and where each service is."""
    response = post(app, '/identity/v3/auth/tokens', json.dumps({'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'someone', 'password': 'anything',
            'domain': {'name': 'Default'}}}},
        'scope': {'project': {'name': 'admin',
                              'domain': {'name': 'Default'}}}}}).encode())
    assert response.status_int == 201
    assert len(response.headers['X-Subject-Token']) == 32
    token = response.json['token']
    assert (token['user']['name'], token['project']['id']) == (
        'admin', PROJECT_ID)
    assert token['methods'] == ['password']
    assert {r['name'] for r in token['roles']} == {'admin', 'member',
                                                   'reader'}
    urls = {service['type']: [e['url'] for e in service['endpoints']
                              if e['interface'] == 'public']
            for service in token['catalog']}
    base = 'http://localhost:80'
    assert urls == {'identity': [f'{base}/identity'],
                    'compute': [f'{base}/v2.1'], 'image': [f'{base}/image'],
                    'network': [f'{base}/network'],
                    'block-storage': [f'{base}/volume/v3'],
                    'volumev3': [f'{base}/volume/v3'],
                    'placement': [f'{base}/placement']}


def test_a_token_request_that_is_not_json_is_refused(app):
    response = post(app, '/identity/v3/auth/tokens', b'{"auth": ')
    assert response.status_int == 400
    assert 'not JSON' in response.json['error']['message']


def test_the_drivers_requests_by_cause(app):
    assert get(app, '/_sandbox/requests') == (200, COUNTS)
