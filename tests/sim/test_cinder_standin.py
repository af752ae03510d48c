# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HTTP Cinder stand-in (nova_ibmz.sandbox.cinder), driven as its
callers drive it: Nova's own nova.volume.cinder.API (python-cinderclient
over keystoneauth, configured by [cinder] options), openstacksdk and the
stock `openstack` client.  It runs in a thread here, mounted under
/volume as the sandbox mounts it, and as its own process where restarts
matter.  A small HTTP server stands in for Nova's API, which the stand-in
tells of re-imaged volumes; a real Glance (started once, ~3 s) holds the
sandbox's images, whose properties volumes made from them carry."""

import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from wsgiref import simple_server

from nova import conf as nova_conf
from nova import context
from nova import block_device
from nova import exception
from nova import objects
from nova import service_auth
from nova.volume import cinder as nova_cinder
import openstack
import pytest
import requests

from nova_ibmz.sandbox import cinder
from nova_ibmz.sandbox import glance
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import services
from tests import stub_nova

CONF = nova_conf.CONF
ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT_ID = '6f70656e737461636b20342065766572'
TOKEN = 'a-users-token-3f9c'
SERVER = '0b7e1c2a-6d0e-4f5b-9a43-5c2d0e8f1a01'
OTHER_SERVER = '0b7e1c2a-6d0e-4f5b-9a43-5c2d0e8f1a02'
NO_IMAGE = '7d3c2b1a-0000-4000-8000-000000000042'
WWPNS = ['c05076ffe5000001', 'c05076ffe5000002']
CONNECTOR = {'host': 'dpm-subset-1', 'platform': 's390x', 'os_type': 'linux',
             'multipath': True, 'wwpns': WWPNS, 'wwnns': ['c05076ffe5001f00']}
DATA_1 = seed.stable_id('volume-data-1')
BOOT = seed.stable_id(f'volume-{seed.BOOT_VOLUME}')


def copied(name, image_id, data, properties):
    """What Cinder keeps of a seeded image with a volume made from it
    (volume_image_metadata): strings, as Cinder's database holds them."""
    return dict(properties, image_id=image_id, image_name=name,
                checksum=hashlib.md5(data).hexdigest(), size=str(len(data)),
                disk_format='raw', container_format='bare', min_disk='0',
                min_ram='0')


DPM_COPY = copied(seed.DPM_IMAGE_NAME, seed.DPM_IMAGE_ID,
                  seed.DPM_IMAGE_DATA, seed.DPM_IMAGE_PROPERTIES)
ZVM_COPY = copied(seed.IMAGE_NAME, seed.IMAGE_ID, seed.IMAGE_DATA,
                  seed.IMAGE_PROPERTIES)


# -- Nova's API, where the stand-in posts volume-reimaged ---------------------

@pytest.fixture
def fake_nova():
    with stub_nova.serve() as server:
        yield server


def posted(nova, count=1):
    """What the stand-in posted to Nova, once it has posted count times."""
    deadline = time.monotonic() + 10
    while len(nova.posts) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return nova.posts


# -- Glance, with the sandbox's images ---------------------------------------

@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """A real Glance (.url) with the seeded images, a DPM image with one
    more property (.tagged: its id) and one whose data never came
    (.queued)."""
    with glance.Glance(tmp_path_factory.mktemp('glance'),
                       PROJECT_ID) as server:
        glance.seed_image(server.url)
        server.tagged = glance.upload_image(
            server.url, 'rhel-dpm-tagged', seed.DPM_IMAGE_DATA,
            dict(seed.DPM_IMAGE_PROPERTIES, os_version='8.6'))['id']
        server.queued = glance.request(server.url, 'POST', '/v2/images', json={
            'name': 'no-data', 'disk_format': 'raw',
            'container_format': 'bare'}).json()['id']
        yield server


# -- the stand-in ----------------------------------------------------------

def _under(prefix, app):
    """app mounted at prefix, as a WSGI dispatcher mounts it."""
    def mounted(environ, start_response):
        path = environ['PATH_INFO']
        if not (path + '/').startswith(prefix + '/'):
            start_response('404 Not Found', [('Content-Length', '0')])
            return [b'']
        environ['SCRIPT_NAME'], environ['PATH_INFO'] = (
            prefix, path[len(prefix):])
        return app(environ, start_response)
    return mounted


@pytest.fixture
def standin(tmp_path, fake_nova, images):
    """The stand-in with the sandbox's volumes, under /volume of a server
    in a thread, reading images from the Glance; .url is where Cinder's
    versions are."""
    app = cinder.CinderStandIn(tmp_path / 'cinder.json', fake_nova.endpoint,
                               glance_url=images.url)
    app.seed()
    server = simple_server.make_server(
        '127.0.0.1', 0, _under('/volume', app),
        server_class=cinder._Server, handler_class=cinder._Logged)
    threading.Thread(target=server.serve_forever, args=(0.05,),
                     daemon=True).start()
    app.url = f'http://127.0.0.1:{server.server_port}/volume'
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture
def nova_on():
    """Nova's cinder.API on the Cinder at a url, through the [cinder]
    options a nova.conf would set."""
    def point(url):
        CONF.set_override('endpoint_template', f'{url}/v3/%(project_id)s',
                          group='cinder')
        # For callers without a token: Nova's periodic tasks, the delete
        # of a server's volumes.
        CONF.set_override('auth_type', 'none', group='cinder')
        service_auth.reset_globals()
        return nova_cinder.API()
    yield point
    for option in ('endpoint_template', 'auth_type'):
        CONF.clear_override(option, group='cinder')
    service_auth.reset_globals()


@pytest.fixture
def api(standin, nova_on):
    return nova_on(standin.url)


@pytest.fixture
def user():
    return context.RequestContext('admin', PROJECT_ID, auth_token=TOKEN,
                                  is_admin=True)


def attach(api, user, volume_id, server=SERVER, connector=CONNECTOR):
    """Nova's attach: reserve, connect from the host, complete.  Returns
    the attachment and its connection_info."""
    attachment_id = api.attachment_create(user, volume_id, server)['id']
    info = api.attachment_update(user, attachment_id, connector,
                                 mountpoint='/dev/sdb')['connection_info']
    api.attachment_complete(user, attachment_id)
    return attachment_id, info


# -- Nova's calls ------------------------------------------------------------

def test_nova_attaches_a_volume_over_fibre_channel_and_detaches_it(api, user):
    volume = api.get(user, DATA_1, microversion='3.69')
    assert (volume['status'], volume['attach_status'], volume['bootable'],
            volume['shared_targets']) == ('available', 'detached', False,
                                          False)
    reserved = api.attachment_create(user, DATA_1, SERVER)
    assert (reserved['status'], reserved['connection_info']) == (
        'reserved', {})
    assert api.get(user, DATA_1)['status'] == 'reserved'

    updated = api.attachment_update(user, reserved['id'], CONNECTOR,
                                    mountpoint='/dev/sdb')
    info = updated['connection_info']
    assert info['driver_volume_type'] == 'fibre_channel'
    assert info['data']['target_wwn'] == list(seed.STORAGE_TARGETS)
    assert info['data']['target_lun'] == 1
    assert info['data']['initiator_target_map'] == {
        wwpn: list(seed.STORAGE_TARGETS) for wwpn in WWPNS}
    assert api.get(user, DATA_1)['status'] == 'attaching'

    api.attachment_complete(user, reserved['id'])
    volume = api.get(user, DATA_1)
    assert (volume['status'], volume['attach_status']) == ('in-use',
                                                           'attached')
    assert volume['attachments'] == {SERVER: {
        'attachment_id': reserved['id'], 'mountpoint': '/dev/sdb'}}
    assert api.attachment_get(user, reserved['id'])['connection_info'][
        'status'] == 'attached'
    assert [a['id'] for a in api.attachment_get_all(
        user, instance_id=SERVER)] == [reserved['id']]

    # The API's detach: in-use -> detaching (and back if the guest refuses).
    api.begin_detaching(user, DATA_1)
    assert api.get(user, DATA_1)['status'] == 'detaching'
    api.roll_detaching(user, DATA_1)
    assert api.get(user, DATA_1)['status'] == 'in-use'
    api.begin_detaching(user, DATA_1)
    api.attachment_delete(user, reserved['id'])
    volume = api.get(user, DATA_1)
    assert (volume['status'], volume['attach_status']) == ('available',
                                                           'detached')
    assert 'attachments' not in volume
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.attachment_get(user, reserved['id'])


def test_an_attached_volume_is_not_deleted(api, user):
    attachment_id, _ = attach(api, user, DATA_1)
    with pytest.raises(exception.InvalidInput) as refused:
        api.delete(user, DATA_1)
    assert DATA_1 in str(refused.value)
    assert attachment_id in str(refused.value)
    assert api.get(user, DATA_1)['status'] == 'in-use'
    # A reserved volume is attached too, for Cinder.
    api.attachment_delete(user, attachment_id)
    reserved = api.attachment_create(user, DATA_1, SERVER)['id']
    with pytest.raises(exception.InvalidInput):
        api.delete(user, DATA_1)

    # delete_on_termination: Nova's compute deletes as the admin, with no
    # token, through [cinder] auth_type.
    api.attachment_delete(user, reserved)
    admin = context.get_admin_context()
    api.delete(admin, DATA_1)
    with pytest.raises(exception.VolumeNotFound):
        api.get(admin, DATA_1)


def test_a_connector_without_wwpns_is_refused(api, user):
    iscsi = {'host': 'zvm-1', 'initiator': 'iqn.1994-05.com.redhat:zvm-1'}
    attachment_id = api.attachment_create(user, DATA_1, SERVER)['id']
    with pytest.raises(exception.InvalidInput) as refused:
        api.attachment_update(user, attachment_id, iscsi)
    assert 'wwpns' in str(refused.value)
    assert attachment_id in str(refused.value)
    assert api.get(user, DATA_1)['status'] == 'reserved'
    with pytest.raises(exception.InvalidInput, match='wwpns'):
        api.attachment_create(user, seed.stable_id('volume-data-2'), SERVER,
                              connector=iscsi)


def test_another_server_cannot_take_an_attached_volume(api, user):
    attach(api, user, DATA_1)
    with pytest.raises(exception.InvalidInput) as refused:
        api.attachment_create(user, DATA_1, OTHER_SERVER)
    assert DATA_1 in str(refused.value)
    # The same server may (a live migration's second attachment).
    api.attachment_create(user, DATA_1, SERVER)


def test_unknown_volumes_and_attachments_in_cinders_error_shape(
        api, user, standin):
    with pytest.raises(exception.VolumeNotFound):
        api.get(user, 'no-such-volume')
    with pytest.raises(exception.VolumeAttachmentNotFound):
        api.attachment_update(user, 'no-such-attachment', CONNECTOR)
    answer = requests.get(f'{standin.url}/v3/{PROJECT_ID}/volumes/nope')
    assert (answer.status_code, answer.json()) == (404, {'itemNotFound': {
        'code': 404, 'message': 'Volume nope could not be found.'}})
    answer = requests.put(
        f'{standin.url}/v3/attachments/nope', json={'attachment': {
            'connector': CONNECTOR}},
        headers={'OpenStack-API-Version': 'volume 3.44'})
    assert answer.json()['itemNotFound']['message'] == (
        'Attachment nope could not be found.')


def test_a_volume_backed_rebuild_reimages_the_volume_and_tells_nova(
        api, user, fake_nova):
    assert api.get(user, BOOT)['volume_image_metadata'] == (
        seed.BOOT_VOLUME_METADATA)
    old, _ = attach(api, user, BOOT)
    with pytest.raises(exception.InvalidInput, match='status must be'):
        api.reimage_volume(user, BOOT, seed.IMAGE_ID, reimage_reserved=True)
    # Nova's _rebuild_volume_backed_instance: a new attachment keeps the
    # volume reserved once the old one is gone.
    new = api.attachment_create(user, BOOT, SERVER)['id']
    api.attachment_delete(user, old)
    assert api.get(user, BOOT)['status'] == 'reserved'
    with pytest.raises(exception.InvalidInput):
        api.reimage_volume(user, BOOT, seed.IMAGE_ID, reimage_reserved=False)
    assert fake_nova.posts == []

    api.reimage_volume(user, BOOT, seed.IMAGE_ID, reimage_reserved=True)
    [post] = posted(fake_nova)
    assert post['path'] == stub_nova.EVENTS_PATH
    assert post['headers']['OpenStack-API-Version'] == 'compute 2.93'
    assert post['body'] == {'events': [{
        'name': 'volume-reimaged', 'server_uuid': SERVER, 'tag': BOOT}]}
    volume = api.get(user, BOOT)
    assert volume['status'] == 'reserved'
    # The new image's properties, name and id, none of the old one's.
    assert volume['volume_image_metadata'] == ZVM_COPY
    # The rebuilt server attaches it again.
    api.attachment_update(user, new, CONNECTOR)
    api.attachment_complete(user, new)
    assert api.get(user, BOOT)['status'] == 'in-use'


def test_a_volume_made_from_an_image_carries_its_properties(api):
    """Nova's create of a boot volume from an image: the volume shows the
    image's properties, id, name, checksum, formats, size and minimums,
    as Cinder copies them, and Nova reads the hypervisor type from them
    for the scheduler's ImagePropertiesFilter."""
    admin = context.get_admin_context()
    volume = api.create(admin, 2, 'lpar1-root', '',
                        image_id=seed.DPM_IMAGE_ID)
    assert (volume['status'], volume['size'], volume['bootable']) == (
        'available', 2, True)
    shown = api.get(admin, volume['id'])
    assert shown['volume_image_metadata'] == DPM_COPY
    objects.register_all()
    image_meta = objects.ImageMeta.from_dict(
        block_device.get_image_metadata_from_volume(shown))
    assert (image_meta.properties.img_hv_type,
            image_meta.properties.os_distro) == ('prsm', seed.OS_DISTRO)
    # By href too, as Nova may give it.
    href = api.create(admin, 1, 'by-href', '', image_id=(
        f'http://glance.example/v2/images/{seed.IMAGE_ID}'))
    assert api.get(admin, href['id'])['volume_image_metadata'] == ZVM_COPY
    with pytest.raises(exception.InvalidInput, match='size'):
        api.create(admin, 0, 'empty', '')


def test_a_reimage_replaces_what_the_volume_kept_of_its_image(
        api, images, fake_nova):
    """Cinder replaces a volume's volume_image_metadata with the new
    image's once the image is written: nothing of the old one stays."""
    admin = context.get_admin_context()
    volume = api.create(admin, 1, 'tagged', '', image_id=images.tagged)
    assert api.get(admin, volume['id'])['volume_image_metadata'][
        'os_version'] == '8.6'
    api.reimage_volume(admin, volume['id'], seed.IMAGE_ID)

    def reimaged():
        shown = api.get(admin, volume['id'])
        return shown['status'] == 'available' and shown
    deadline = time.monotonic() + 10
    while not reimaged() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reimaged()['volume_image_metadata'] == ZVM_COPY
    # No server has it: Nova is not told.
    time.sleep(0.2)
    assert fake_nova.posts == []


def test_an_image_glance_does_not_have_is_refused(api, standin, images):
    admin = context.get_admin_context()
    before = sorted(standin.store.volumes)
    with pytest.raises(exception.InvalidInput, match=NO_IMAGE):
        api.create(admin, 2, 'vm1-root', '', image_id=NO_IMAGE)
    answer = requests.post(f'{standin.url}/v3/{PROJECT_ID}/volumes', json={
        'volume': {'size': 1, 'imageRef': NO_IMAGE}})
    assert (answer.status_code, answer.json()) == (400, {'badRequest': {
        'code': 400, 'message': 'Invalid image identifier or unable to '
        f'access requested image: {NO_IMAGE}.'}})
    answer = requests.post(f'{standin.url}/v3/volumes', json={
        'volume': {'size': 1, 'imageRef': images.queued}})
    assert answer.json() == {'badRequest': {'code': 400, 'message': (
        f'Invalid input received: Image {images.queued} is not active.')}}
    assert sorted(standin.store.volumes) == before

    # A re-image with it: 404, the volume untouched.
    answer = requests.post(
        f'{standin.url}/v3/volumes/{BOOT}/action',
        json={'os-reimage': {'image_id': NO_IMAGE}},
        headers={'OpenStack-API-Version': 'volume 3.68'})
    assert (answer.status_code, answer.json()) == (404, {'itemNotFound': {
        'code': 404, 'message': f'Image {NO_IMAGE} could not be found.'}})
    boot = api.get(admin, BOOT)
    assert (boot['status'], boot['volume_image_metadata']) == (
        'available', seed.BOOT_VOLUME_METADATA)


def test_without_a_glance_no_volume_is_made_from_an_image(tmp_path):
    app = cinder.CinderStandIn(tmp_path / 'cinder.json')
    server = app.serve()
    try:
        answer = requests.post(f'{server.url}/v3/volumes', json={
            'volume': {'size': 1, 'imageRef': seed.DPM_IMAGE_ID}})
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 400
    message = answer.json()['badRequest']['message']
    assert seed.DPM_IMAGE_ID in message and '--glance-url' in message
    assert app.store.volumes == {}


def test_glances_base_properties_are_those_of_the_glance_installed():
    """What the stand-in does not copy as an image's own properties.  In a
    process of its own: glance registers options on the CONF Nova's
    use."""
    shown = subprocess.run(
        [sys.executable, '-c', 'import json; from glance.api.v2 import '
         'images; print(json.dumps(sorted(images.get_base_properties())))'],
        capture_output=True, text=True, check=True, timeout=120)
    assert glance.BASE_PROPERTIES == set(json.loads(shown.stdout))


def test_versions_under_the_prefix_and_microversions(standin):
    answer = requests.get(f'{standin.url}/')
    assert answer.status_code == 300
    [version] = answer.json()['versions']
    assert (version['id'], version['version'], version['min_version']) == (
        'v3.0', '3.70', '3.0')
    assert version['links'][0]['href'] == f'{standin.url}/v3/'
    for path in ('/v3', f'/v3/{PROJECT_ID}'):
        answer = requests.get(standin.url + path)
        assert answer.json()['version']['version'] == '3.70', path
    # Attachments are 3.27 on; beyond 3.70 nothing is served.
    assert requests.get(f'{standin.url}/v3/attachments').status_code == 404
    answer = requests.get(f'{standin.url}/v3/attachments', headers={
        'OpenStack-API-Version': 'volume 3.27'})
    assert (answer.status_code, answer.headers['OpenStack-API-Version']) == (
        200, 'volume 3.27')
    answer = requests.get(f'{standin.url}/v3/volumes', headers={
        'OpenStack-API-Version': 'volume 3.99'})
    assert answer.status_code == 406
    assert '3.99' in answer.json()['computeFault']['message']
    # What it does not serve is not found, in Cinder's shape.
    answer = requests.get(f'{standin.url}/v3/{PROJECT_ID}/types')
    assert (answer.status_code, list(answer.json())) == (404,
                                                         ['itemNotFound'])


# -- the clients' view -----------------------------------------------------

def test_openstacksdk_lists_and_finds_volumes(standin, api, user):
    attach(api, user, DATA_1)
    conn = openstack.connect(
        auth_type='none', auth={'endpoint': 'http://unused'},
        block_storage_endpoint_override=f'{standin.url}/v3/')
    volumes = {v.name: v for v in conn.block_storage.volumes()}
    assert sorted(volumes) == sorted([seed.BOOT_VOLUME, *seed.DATA_VOLUMES])
    assert [a['server_id'] for a in volumes['data-1'].attachments] == [
        SERVER]
    boot = conn.block_storage.find_volume(seed.BOOT_VOLUME)
    assert (boot.id, boot.is_bootable, boot.size) == (
        BOOT, True, seed.BOOT_VOLUME_GB)
    assert boot.volume_image_metadata == seed.BOOT_VOLUME_METADATA
    assert conn.block_storage.find_volume(DATA_1).name == 'data-1'
    assert conn.block_storage.find_volume('no-such-volume') is None
    made = conn.block_storage.create_volume(size=1, name='x')
    assert conn.block_storage.get_volume(made.id).status == 'available'


def test_the_openstack_client_creates_and_lists_volumes(standin):
    def run(*args):
        return subprocess.run(
            [str(ROOT / '.venv/bin/openstack'), '--os-auth-type', 'none',
             '--os-endpoint', f'{standin.url}/v3', '--os-volume-api-version',
             '3', *args, '-f', 'json'], capture_output=True, text=True,
            check=True, timeout=60)
    created = json.loads(run('volume', 'create', '--size', '1', 'x').stdout)
    assert (created['name'], created['status']) == ('x', 'available')
    listed = json.loads(run('volume', 'list').stdout)
    assert sorted(v['Name'] for v in listed) == sorted(
        [seed.BOOT_VOLUME, *seed.DATA_VOLUMES, 'x'])
    shown = json.loads(run('volume', 'show', seed.BOOT_VOLUME).stdout)
    assert shown['id'] == BOOT


# -- the process -------------------------------------------------------------

def start(tmp_path, nova_url):
    process = subprocess.Popen(
        [sys.executable, '-m', 'nova_ibmz.sandbox.cinder', '--port', '0',
         '--state-file', str(tmp_path / 'cinder.json'), '--nova-url',
         nova_url, '--seed', '--log-file', str(tmp_path / 'cinder.log')],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    line = process.stdout.readline()
    assert line.startswith('cinder stand-in ready: http://127.0.0.1:'), line
    return process, line.split(': ', 1)[1].strip()


def stop(process, signum):
    process.send_signal(signum)
    assert process.wait(timeout=10) == 0


def test_the_process_keeps_its_state_across_restarts(tmp_path, fake_nova,
                                                     nova_on, user):
    process, url = start(tmp_path, fake_nova.endpoint)
    try:
        api = nova_on(url)
        attachment_id, _ = attach(api, user, DATA_1)
        made = requests.post(f'{url}/v3/volumes', json={
            'volume': {'size': 1, 'name': 'x'}}).json()['volume']
    finally:
        stop(process, signal.SIGTERM)
    log = (tmp_path / 'cinder.log').read_text()
    assert f'"POST /v3/{PROJECT_ID}/attachments HTTP/1.1" 200' in log
    assert TOKEN not in log

    process, url = start(tmp_path, fake_nova.endpoint)
    try:
        api = nova_on(url)
        volume = api.get(user, DATA_1)
        assert volume['status'] == 'in-use'
        assert volume['attachments'][SERVER]['attachment_id'] == (
            attachment_id)
        # Seeding again added nothing.
        names = sorted(v['name'] for v in requests.get(
            f'{url}/v3/volumes/detail').json()['volumes'])
        assert names == sorted([seed.BOOT_VOLUME, *seed.DATA_VOLUMES, 'x'])
        assert api.get(user, made['id'])['display_name'] == 'x'
        api.attachment_delete(user, attachment_id)
        assert api.get(user, DATA_1)['status'] == 'available'
    finally:
        stop(process, signal.SIGINT)


def test_seeded_ids_are_those_of_the_in_process_stand_in(tmp_path):
    in_process = services.FCCinder(None, seed.STORAGE_TARGETS)
    standin = cinder.CinderStandIn(tmp_path / 'cinder.json')
    ids = standin.seed()
    assert ids == {name: in_process.add_volume(name, 1)
                   for name in (seed.BOOT_VOLUME, *seed.DATA_VOLUMES)}
    assert standin.seed() == ids
    assert len(standin.store.volumes) == 3
    boot = standin.store.volumes[ids[seed.BOOT_VOLUME]]
    assert (boot['bootable'], boot['size'], boot['volume_image_metadata']) == (
        True, seed.BOOT_VOLUME_GB, seed.BOOT_VOLUME_METADATA)
