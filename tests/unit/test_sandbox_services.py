# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's Neutron and Cinder stand-ins, and the read-only endpoints
(catalog.Catalog) that show them and Glance's images to API clients."""

import datetime
import json
import types

import pytest
import webob

from nova_ibmz.sandbox import catalog
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import services

DPM_VSWITCH = 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000301'
PROJECT_ID = '6f70656e737461636b20342065766572'
COUNTS = {'hmc': {'operation': 3, 'periodic': 5}}


def bind(host, network):
    if host == 'dpm-subset-1':
        return 'dpm_vswitch', services.vlan_details(network,
                                                    object_id=DPM_VSWITCH)
    return 'ovs', services.vlan_details(network, vswitch='VSWITCH1')


@pytest.fixture
def neutron():
    return services.Neutron(None, seed.NETWORKS, bind)


@pytest.fixture
def cinder():
    return services.FCCinder(None, seed.STORAGE_TARGETS)


def test_ports_get_addresses_of_their_own_network(neutron):
    flat = neutron.create_port(
        {'port': {'network_id': seed.FLAT.id}})['port']
    vlan = neutron.create_port(
        {'port': {'network_id': seed.VLAN.id}})['port']
    assert (flat['network_id'], vlan['network_id']) == (seed.FLAT.id,
                                                        seed.VLAN.id)
    assert flat['fixed_ips'] == [{'subnet_id': seed.FLAT.subnet_id,
                                  'ip_address': '10.10.0.11'}]
    assert vlan['fixed_ips'][0]['ip_address'] == '10.20.0.11'
    assert flat['mac_address'].startswith('fa:16:3e:')
    assert flat['mac_address'] != vlan['mac_address']
    assert flat['binding:vif_type'] == 'unbound'


@pytest.mark.parametrize('host, vif_type, details', [
    ('dpm-subset-1', 'dpm_vswitch', {'object_id': DPM_VSWITCH,
                                     'vlan': '100'}),
    ('zvm-1', 'ovs', {'vswitch': 'VSWITCH1', 'vlan': '100'})])
def test_a_port_binds_as_its_hosts_agent_would(neutron, host, vif_type,
                                               details):
    port = neutron.create_port({'port': {'network_id': seed.VLAN.id}})
    port_id = port['port']['id']
    neutron.update_port(port_id, {'port': {'binding:host_id': host}})
    shown = neutron.show_port(port_id)['port']
    assert (shown['binding:vif_type'], shown['binding:vif_details'],
            shown['binding:host_id']) == (vif_type, details, host)


def test_a_flat_port_has_no_vlan(neutron):
    port_id = neutron.create_port(
        {'port': {'network_id': seed.FLAT.id}})['port']['id']
    neutron.update_port(port_id, {'port': {'binding:host_id': 'zvm-2'}})
    assert neutron.show_port(port_id)['port']['binding:vif_details'] == {
        'vswitch': 'VSWITCH1'}


def test_a_live_migration_binding_is_the_destinations(neutron):
    port_id = neutron.create_port(
        {'port': {'network_id': seed.FLAT.id}})['port']['id']
    neutron.update_port(port_id, {'port': {'binding:host_id': 'zvm-1'}})
    binding = neutron.create_port_binding(
        port_id, {'binding': {'host': 'zvm-2'}})['binding']
    assert (binding['vif_type'], binding['status']) == ('ovs', 'INACTIVE')
    neutron.activate_port_binding(port_id, 'zvm-2')
    assert neutron.show_port(port_id)['port']['binding:host_id'] == 'zvm-2'


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


@pytest.fixture
def app(neutron, cinder):
    image = {'id': 'img-1', 'name': seed.IMAGE_NAME, 'status': 'active',
             'disk_format': 'raw', 'created_at': datetime.datetime(
                 2026, 11, 21, 12, 0, 0),
             'properties': {'os_distro': seed.OS_DISTRO}}
    cinder.add_volume(seed.BOOT_VOLUME, 10, seed.BOOT_VOLUME_METADATA)
    cloud = types.SimpleNamespace(
        glance=types.SimpleNamespace(images={'img-1': image}),
        neutron=neutron, cinder=cinder, project_id=PROJECT_ID,
        traffic=types.SimpleNamespace(counts=lambda: COUNTS))
    return catalog.Catalog(cloud, nova_app)


def get(app, path, method='GET'):
    response = webob.Request.blank(path, method=method).get_response(app)
    body = response.body
    return response.status_int, (json.loads(body) if response.content_type
                                 == 'application/json' else body)


def test_images_as_glance_shows_them(app):
    status, body = get(app, f'/image/v2/images?name={seed.IMAGE_NAME}')
    assert status == 200
    [image] = body['images']
    # Properties at the top, times in ISO 8601, as Glance v2.
    assert (image['os_distro'], image['created_at'], image['visibility']) == (
        seed.OS_DISTRO, '2026-11-21T12:00:00Z', 'public')
    assert get(app, '/image/v2/images?name=nothing')[1]['images'] == []
    assert get(app, '/image/v2/images/img-1')[1]['name'] == seed.IMAGE_NAME
    assert get(app, '/image/v2/images/img-2')[0] == 404


def test_networks_and_volumes_by_name(app):
    status, body = get(app, '/network/v2.0/networks?name=vlan-100')
    assert [n['provider:segmentation_id'] for n in body['networks']] == [100]
    assert get(app, f'/network/v2.0/subnets/{seed.FLAT.subnet_id}')[1][
        'subnet']['cidr'] == seed.FLAT.cidr
    assert get(app, '/network/v2.0/networks/nothing')[0] == 404
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
    assert get(app, '/image')[1]['versions'][0]['links'][0][
        'href'] == 'http://localhost:80/image/v2/'
    assert get(app, '/volume/v3')[1]['version']['version'] == '3.70'


def test_the_endpoints_are_read_only_and_the_rest_is_novas(app):
    assert get(app, '/image/v2/images', method='POST')[0] == 405
    assert get(app, '/network/v2.0/ports/p1', method='DELETE')[0] == 405
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
