# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator's images: import, query, export, delete,
deploy and capture, with the codes and messages of zVMCloudConnector 1.6.3.
"""

import functools
import hashlib
import http.server
import math
import shutil
import subprocess
import threading

import pytest

from nova_ibmz.sim.zvm import images
from nova_ibmz.sim.zvm import model
from tests import zvmsim

DATA = b'linux root filesystem ' * 64
ROOT_CYL = math.ceil(5 * 1024 ** 3 / model.ECKD_UNIT_BYTES)   # '5g' root


def codes(envelope):
    return (envelope['overallRC'], envelope['rc'], envelope['rs'],
            envelope['modID'])


def image_file(tmp_path, name='src.img', units=3338, kind='ECKD',
               data=DATA):
    path = tmp_path / name
    path.write_bytes(images.header(units, kind) + data)
    return path


def import_image(zvm, path, name='img1', remote_host=None, **meta):
    spec = {'image_name': name, 'url': f'file://{path}',
            'image_meta': dict({'os_version': 'rhel8.6'}, **meta)}
    if remote_host:
        spec['remote_host'] = remote_host
    return zvm.call('POST', '/images', {'image': spec})


def guest_state(zvm_controls, userid):
    state = zvm_controls.call('GET', '/state')
    return next(g for g in state['guests'] if g['userid'] == userid)


def export(zvm, name, dest):
    return zvm.call('PUT', f'/images/{name}',
                    {'location': {'dest_url': f'file://{dest}'}})


@pytest.fixture
def deployed(zvm, tmp_path):
    """Guest G1 (5g ECKD root, logged off) with img1 deployed on it."""
    assert import_image(zvm, image_file(tmp_path))[0] == 200
    zvm.create_guest('G1')
    assert zvm.action('G1', 'deploy', image='img1')[0] == 200
    return 'G1'


# -- the header --------------------------------------------------------

@pytest.mark.skipif(not shutil.which('hexdump'), reason='no hexdump')
@pytest.mark.parametrize('kind,units,unit', [('ECKD', 3338, 'CYL'),
                                             ('FBA', 4194304, 'BLK')])
def test_header_lies_where_the_connectors_hexdump_slices_fall(
        tmp_path, kind, units, unit):
    path = image_file(tmp_path, units=units, kind=kind)
    text = subprocess.run(['hexdump', '-n', '48', '-C', str(path)],
                          capture_output=True, text=True, check=True).stdout
    assert (int(text[144:156]), text[220:223]) == (units, unit)
    assert len(images.header(units, kind)) == 512


# -- import and query ----------------------------------------------------

def test_import_records_the_image_as_the_database_lists_it(zvm, tmp_path):
    path = image_file(tmp_path)
    status, envelope = import_image(zvm, path, os_version='RHEL8.6')
    assert (status, envelope['output']) == (200, '')
    record = zvm.ok('GET', '/images?imagename=img1')[0]
    assert record.pop('last_access_time') > 0
    assert record == {
        'imagename': 'img1', 'imageosdistro': 'rhel8.6',
        'md5sum': hashlib.md5(path.read_bytes()).hexdigest(),
        'disk_size_units': '3338:CYL',
        'image_size_in_bytes': str(path.stat().st_size),
        'type': 'rootonly', 'comments': None}
    # The database compares names without case.
    assert zvm.ok('GET', '/images?imagename=IMG1')[0]['imagename'] == 'img1'
    assert zvm.ok('GET', '/images/img1/root_disk_size') == '3338'


def test_import_of_an_fba_image_records_blocks(zvm, tmp_path):
    import_image(zvm, image_file(tmp_path, units=4194304, kind='FBA'))
    assert zvm.ok('GET', '/images')[0]['disk_size_units'] == '4194304:BLK'
    assert zvm.ok('GET', '/images/img1/root_disk_size') == '4194304'


@pytest.mark.parametrize('name', ['img1', 'IMG1'])
def test_import_of_a_taken_name_is_409(zvm, tmp_path, name):
    path = image_file(tmp_path)
    import_image(zvm, path)
    status, envelope = import_image(zvm, path, name=name)
    assert (status, codes(envelope)) == (409, (300, 300, 13, 40))
    assert envelope['errmsg'] == (f'Image import error: image name {name} '
                                  f'already exist in image database')


def test_import_of_a_missing_file_is_rs12_and_leaves_nothing(
        zvm, tmp_path):
    missing = tmp_path / 'missing.img'
    status, envelope = import_image(zvm, missing)
    assert (status, codes(envelope)) == (500, (300, 300, 12, 40))
    assert envelope['errmsg'] == (
        f'Import image from local file system failed with error [Errno 2] '
        f"No such file or directory: '{missing}'")
    assert zvm.ok('GET', '/images') == []


def test_import_from_a_remote_host_copies_by_scp(zvm, tmp_path):
    host = 'nova@192.168.99.1'
    assert import_image(zvm, image_file(tmp_path), remote_host=host)[0] \
        == 200
    missing = tmp_path / 'missing.img'
    status, envelope = import_image(zvm, missing, name='img2',
                                    remote_host=host)
    assert (status, codes(envelope)) == (500, (300, 300, 10, 40))
    assert envelope['errmsg'] == (
        f'Image import error: Copying image file from remote filesystem '
        f'failed with error scp: {missing}: No such file or directory\n')


def test_import_checks_the_md5sum_it_is_given(zvm, tmp_path):
    path = image_file(tmp_path)
    status, envelope = import_image(zvm, path, md5sum='0' * 32)
    assert (status, codes(envelope)) == (500, (300, 300, 4, 40))
    assert envelope['errmsg'].startswith('Image import error: The md5sum '
                                         'after import is not same')
    assert list((tmp_path / 'images').iterdir()) == []
    md5sum = hashlib.md5(path.read_bytes()).hexdigest()
    assert import_image(zvm, path, md5sum=md5sum)[0] == 200


@pytest.mark.parametrize('content', [
    b'\0' * 4096,                           # no header at all
    b'xCAT CKD Disk Image:    3338',        # too short for the size field
    b'xCAT CKD Disk Image:    3338 CYL'.replace(b'3338', b'33x8')])
def test_import_of_a_file_without_size_header_is_rs6(zvm, tmp_path,
                                                     content):
    path = tmp_path / 'raw.img'
    path.write_bytes(content)
    status, envelope = import_image(zvm, path)
    assert (status, codes(envelope)) == (500, (300, 300, 6, 40))
    assert envelope['errmsg'] == ('Image import error: The header of image '
                                  'does not contain built-in disk size units')


def test_import_of_a_neither_ckd_nor_fba_image_is_rs7(zvm, tmp_path):
    path = tmp_path / 'odd.img'
    path.write_bytes(images.header(3338).replace(b'CKD', b'XYZ'))
    status, envelope = import_image(zvm, path)
    assert (status, codes(envelope)) == (500, (300, 300, 7, 40))


def test_import_over_http_but_not_https(zvm, tmp_path):
    path = image_file(tmp_path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tmp_path))
    handler.log_message = lambda *args: None
    web = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        url = f'http://127.0.0.1:{web.server_port}/src.img'
        status, _ = zvm.call('POST', '/images', {'image': {
            'image_name': 'web', 'url': url,
            'image_meta': {'os_version': 'sles15sp4'}}})
    finally:
        web.shutdown()
        web.server_close()
    assert status == 200
    record = zvm.ok('GET', '/images?imagename=web')[0]
    assert record['md5sum'] == hashlib.md5(path.read_bytes()).hexdigest()
    status, envelope = zvm.call('POST', '/images', {'image': {
        'image_name': 'tls', 'url': url.replace('http', 'https'),
        'image_meta': {'os_version': 'sles15sp4'}}})
    assert (status, codes(envelope)) == (500, (300, 300, 2, 40))
    assert envelope['errmsg'] == 'No image schema found for https'


@pytest.mark.parametrize('meta', [{}, {'os_version': 'windows10'}])
def test_import_needs_a_known_os_version(zvm, tmp_path, meta):
    status, envelope = zvm.call('POST', '/images', {'image': {
        'image_name': 'img1', 'url': f'file://{image_file(tmp_path)}',
        'image_meta': meta}})
    assert (status, codes(envelope)) == (400, (400, 400, 400, 120))


def test_query_of_an_unknown_image_is_404_and_of_none_lists_all(
        zvm, tmp_path):
    assert zvm.ok('GET', '/images') == []
    status, envelope = zvm.call('GET', '/images?imagename=nope')
    assert (status, codes(envelope)) == (404, (404, 404, 1, 40))
    assert envelope['errmsg'] == 'Image with name: nope does not exist.'
    status, envelope = zvm.call('GET', '/images/nope/root_disk_size')
    assert (status, codes(envelope)) == (404, (404, 404, 1, 40))
    path = image_file(tmp_path)
    import_image(zvm, path, name='a')
    import_image(zvm, path, name='b')
    assert [i['imagename'] for i in zvm.ok('GET', '/images')] == ['a', 'b']


def test_image_routes_do_not_need_smapi(zvm, zvm_controls, tmp_path):
    zvm.create_guest('G1')
    zvm_controls.call('POST', '/smapi-down', {'seconds': 30})
    assert import_image(zvm, image_file(tmp_path))[0] == 200
    assert zvm.ok('GET', '/images')[0]['imagename'] == 'img1'
    status, _ = zvm.action('G1', 'deploy', image='img1')
    assert status == 500


# -- delete and export -----------------------------------------------------

def test_delete_removes_record_and_file_and_is_idempotent(zvm, tmp_path):
    import_image(zvm, image_file(tmp_path))
    assert zvm.ok('DELETE', '/images/IMG1') == ''
    assert zvm.call('GET', '/images?imagename=img1')[0] == 404
    assert list((tmp_path / 'images').iterdir()) == []
    assert zvm.call('DELETE', '/images/img1')[0] == 200


def test_export_copies_the_file_and_describes_it(zvm, tmp_path):
    path = image_file(tmp_path)
    import_image(zvm, path)
    accessed = zvm.ok('GET', '/images')[0]['last_access_time']
    dest = tmp_path / 'out.img'
    status, envelope = export(zvm, 'img1', dest)
    assert status == 200
    assert zvm.ok('GET', '/images')[0]['last_access_time'] > accessed
    assert envelope['output'] == {
        'image_name': 'img1', 'image_path': f'file://{dest}',
        'os_version': 'rhel8.6',
        'md5sum': hashlib.md5(path.read_bytes()).hexdigest(),
        'comments': None}
    assert dest.read_bytes() == path.read_bytes()


def test_export_errors(zvm, tmp_path):
    status, envelope = export(zvm, 'nope', tmp_path / 'out.img')
    assert (status, codes(envelope)) == (404, (404, 404, 1, 40))
    import_image(zvm, image_file(tmp_path))
    dest = tmp_path / 'no-such-dir' / 'out.img'
    status, envelope = export(zvm, 'img1', dest)
    assert (status, codes(envelope)) == (500, (300, 300, 22, 40))
    assert envelope['errmsg'] == (
        f'Export image to local file system failed: [Errno 2] No such file '
        f"or directory: '{dest}'")
    status, envelope = zvm.call('PUT', '/images/img1', {'location': {
        'dest_url': f'file://{dest}', 'remote_host': 'nova@192.168.99.1'}})
    assert (status, codes(envelope)) == (500, (300, 300, 21, 40))
    assert envelope['errmsg'] == (
        f'Image Export error: Failed to copy image file to remote host with '
        f'reason: scp: {dest}: No such file or directory\n')
    status, envelope = zvm.call('PUT', '/images/img1', {'location': {
        'dest_url': 'http://127.0.0.1/out.img'}})
    assert (status, codes(envelope)) == (500, (500, 500, 1, 100))
    assert "has no attribute 'image_export'" in envelope['errmsg']


# -- deploy ----------------------------------------------------------------

def test_deploy_writes_the_disk_and_punches_the_reader(
        zvm, zvm_controls, tmp_path):
    import_image(zvm, image_file(tmp_path))
    accessed = zvm.ok('GET', '/images')[0]['last_access_time']
    zvm.create_guest('G1')
    drive = tmp_path / 'cfgdrive.iso'
    drive.write_bytes(b'config drive' * 10)
    status, envelope = zvm.action('G1', 'deploy', image='img1',
                                  transportfiles=str(drive),
                                  remotehost='nova@192.168.99.1')
    assert (status, envelope['output']) == (200, '')
    guest = guest_state(zvm_controls, 'G1')
    assert guest['disks']['0100']['image'] == 'img1'
    assert guest['os_version'] == 'rhel8.6'
    assert zvm.ok('GET', '/images')[0]['last_access_time'] > accessed
    iucv = len('#!/bin/bash\necho -n OPNCLOUD > /etc/iucv_authorized_userid\n')
    assert guest['reader'] == [
        {'file': 'cfgdrive.iso', 'class': 'X', 'size': 120},
        {'file': 'iucvauth.sh', 'class': 'X', 'size': iucv}]
    zvm.action('G1', 'start')
    assert zvm.ok('GET', '/guests/G1/info')['os_distro'] == 'rhel8.6'
    console = zvm.action('G1', 'get_console_output')[1]['output']
    assert 'Linux version (img1)' in console


def test_deploy_with_a_hostname_punches_its_script(zvm, zvm_controls,
                                                   deployed):
    assert zvm.action('G1', 'deploy', image='img1', hostname='vm1')[0] == 200
    reader = guest_state(zvm_controls, 'G1')['reader']
    assert [f['file'] for f in reader] == ['iucvauth.sh', 'hostname.sh']
    zvm.action('G1', 'start')
    console = zvm.action('G1', 'get_console_output')[1]['output']
    assert 'vm1 login:' in console


def test_deploy_of_unknown_guest_or_image_is_404(zvm, deployed):
    status, envelope = zvm.action('NOPE', 'deploy', image='img1')
    assert (status, codes(envelope)) == (404, (404, 404, 1, 10))
    status, envelope = zvm.action('G1', 'deploy', image='nope')
    assert (status, codes(envelope)) == (404, (404, 404, 1, 40))
    assert envelope['errmsg'] == 'Image with name: nope does not exist.'


def test_deploy_to_a_missing_vdev_is_404(zvm, deployed):
    status, envelope = zvm.action('G1', 'deploy', image='img1', vdev='101')
    assert (status, codes(envelope)) == (404, (300, 300, 3, 10))
    assert envelope['errmsg'] == (
        "Failed to deploy image to userid: 'G1', unpackdiskimage failed "
        "with rc: 3, error: \\nERROR: Unable to link G1 101 disk. "
        "HCPLNM040E G1 0101 not linked; not in CP directory"
        "\\nERROR: Failed to connect disk: G1:101")


def unpack_error(zvm, image, userid='G1'):
    status, envelope = zvm.action(userid, 'deploy', image=image)
    assert (status, codes(envelope)) == (500, (300, 300, 3, 10))
    prefix = (f"Failed to deploy image to userid: '{userid}', "
              f"unpackdiskimage failed with rc: 3, error: \\nERROR: ")
    assert envelope['errmsg'].startswith(prefix)
    return envelope['errmsg'][len(prefix):]


def test_deploy_to_a_smaller_disk_fails(zvm, tmp_path, deployed):
    import_image(zvm, image_file(tmp_path, units=ROOT_CYL + 1), name='big')
    assert unpack_error(zvm, 'big') == \
        'Target disk is too small for specified image.'
    import_image(zvm, image_file(tmp_path, units=ROOT_CYL), name='fits')
    assert zvm.action('G1', 'deploy', image='fits')[0] == 200


def test_deploy_of_an_fba_image_to_an_eckd_disk_fails(zvm, tmp_path,
                                                      deployed):
    import_image(zvm, image_file(tmp_path, units=1000, kind='FBA'),
                 name='fba')
    assert unpack_error(zvm, 'fba') == (
        'Specified image is of a fixed-block volume, but specified disk is '
        'not a fixed-block volume.')


def test_deploy_to_a_logged_on_guest_fails(zvm, deployed):
    zvm.action('G1', 'start')
    assert unpack_error(zvm, 'img1') == \
        'The specified target system is currently running.'


def test_deploy_with_a_missing_config_drive_is_rs4(zvm, zvm_controls,
                                                   deployed):
    zvm.action('G1', 'deploy', image='img1', hostname='vm1')
    status, envelope = zvm.action('G1', 'deploy', image='img1',
                                  transportfiles='/no/cfgdrive.iso')
    assert (status, codes(envelope)) == (500, (300, 300, 4, 10))
    assert "with command ['/usr/bin/cp', '/no/cfgdrive.iso', '/tmp/tmp" in \
        envelope['errmsg']
    assert envelope['errmsg'].endswith(
        "failed with output: /usr/bin/cp: cannot stat '/no/cfgdrive.iso': "
        "No such file or directory\n")
    # The disk was written and the reader purged before the copy.
    assert guest_state(zvm_controls, 'G1')['reader'] == []


@pytest.mark.parametrize('remotehost,drive,output', [
    (None, '{tmp}', "/usr/bin/cp: -r not specified; omitting directory "
                    "'{tmp}'\n"),
    ('nova@192.168.99.1', '/no/cfg.iso',
     'scp: /no/cfg.iso: No such file or directory\n')])
def test_deploy_config_drive_copy_failures(zvm, tmp_path, deployed,
                                           remotehost, drive, output):
    drive = drive.format(tmp=tmp_path)
    body = {'remotehost': remotehost} if remotehost else {}
    status, envelope = zvm.action('G1', 'deploy', image='img1',
                                  transportfiles=drive, **body)
    assert (status, codes(envelope)) == (500, (300, 300, 4, 10))
    assert envelope['errmsg'].endswith(
        'failed with output: ' + output.format(tmp=tmp_path))


def test_deploy_needs_the_image_file_and_its_tag(zvm, tmp_path, deployed):
    path = tmp_path / 'odd.img'
    path.write_bytes(images.header(3338).replace(b'xCAT CKD Disk Image:',
                                                 b'My CKD disk image:  '))
    import_image(zvm, path, name='odd')     # CKD is all the import needs
    assert unpack_error(zvm, 'odd') == 'Disk image type not recognized'
    (tmp_path / 'images' / 'img1').unlink()
    assert zvm.ok('GET', '/images?imagename=img1')[0][
        'last_access_time'] == -1
    assert unpack_error(zvm, 'img1') == \
        'The specified image file was not found.'


def test_deploy_and_capture_refuse_a_guest_running_on_another_member(
        ssi, tmp_path):
    zvm = zvmsim.Client(ssi[0])
    import_image(zvm, image_file(tmp_path))
    zvm.create_guest('G1')
    zvmsim.Controls(ssi[1]).call('POST', '/guest-state',
                                 {'userid': 'G1', 'state': 'on'})
    assert unpack_error(zvm, 'img1') == \
        'The specified target system is currently running.'
    status, envelope = zvm.action('G1', 'capture', image='snap')
    assert (status, codes(envelope)) == (409, (300, 300, 5, 10))
    assert envelope['errmsg'].endswith(
        '\\nERROR: The specified source system is currently running.')


def test_deploy_skipping_the_disk_copy_names_the_os(zvm, zvm_controls):
    zvm.create_guest('G1')
    status, _ = zvm.action('G1', 'deploy', image='rhel9.2',
                           skipdiskcopy=True)
    assert status == 200
    guest = guest_state(zvm_controls, 'G1')
    assert (guest['os_version'], guest['disks']['0100']['image']) == \
        ('rhel9.2', '')


# -- capture ---------------------------------------------------------------

def test_capture_of_a_running_guest_round_trips(zvm, tmp_path, deployed):
    zvm.action('G1', 'start')
    assert zvm.action('G1', 'capture', image='snap') == (200, {
        'overallRC': 0, 'rc': 0, 'rs': 0, 'modID': None, 'errmsg': '',
        'output': ''})
    # Shut down for the copy, started again after it.
    assert zvm.ok('GET', '/guests/G1/power_state') == 'on'
    console = zvm.action('G1', 'get_console_output')[1]['output']
    assert 'Received signal SHUTDOWN' in console
    record = zvm.ok('GET', '/images?imagename=snap')[0]
    assert (record['imageosdistro'], record['disk_size_units'],
            record['type']) == ('rhel8.6', f'{ROOT_CYL}:CYL', 'rootonly')
    dest = tmp_path / 'snap.img'
    assert export(zvm, 'snap', dest)[1]['output']['md5sum'] == \
        hashlib.md5(dest.read_bytes()).hexdigest() == record['md5sum']
    assert dest.read_bytes() == images.header(ROOT_CYL) + DATA


def test_capture_of_a_logged_off_guest_takes_the_os_from_the_database(
        zvm, tmp_path, deployed):
    assert zvm.action('G1', 'capture', image='snap', compress_level=0)[0] \
        == 200
    assert zvm.ok('GET', '/guests/G1/power_state') == 'off'
    assert zvm.ok('GET', '/images?imagename=snap')[0]['imageosdistro'] == \
        'RHEL8.6'
    zvm.create_guest('G2')
    zvm.action('G2', 'capture', image='blank')
    assert zvm.ok('GET', '/images?imagename=blank')[0]['imageosdistro'] \
        == 'UNKNOWN'
    dest = tmp_path / 'blank.img'
    export(zvm, 'blank', dest)
    assert dest.read_bytes() == images.header(ROOT_CYL) + bytes(512)


def test_capture_of_all_disks_is_not_implemented(zvm, deployed):
    status, envelope = zvm.action('G1', 'capture', image='snap',
                                  capture_type='alldisks')
    assert (status, codes(envelope)) == (501, (501, 501, 1, 'guest'))
    assert envelope['errmsg'] == (
        'The requested function: Capture guest with type: alldisks has not '
        'been implemented in current release')


def test_capture_refusals_are_rs5_and_409(zvm, deployed):
    status, envelope = zvm.action('G1', 'capture', image='snap',
                                  compress_level=10)
    assert (status, codes(envelope)) == (409, (300, 300, 5, 10))
    assert envelope['errmsg'] == (
        'Failed to capture userid G1 to generate image, error: \\nERROR: '
        'Compression operand is not between 0 and 9, inclusive: 10')
    zvm.ok('POST', '/guests', {'guest': {'userid': 'BARE', 'vcpus': 1,
                                         'memory': 512}})
    status, envelope = zvm.action('BARE', 'capture', image='snap')
    assert (status, codes(envelope)) == (409, (300, 300, 5, 10))
    assert envelope['errmsg'].endswith(
        'getting the devices for get vm disk information on source vm BARE ')


def test_capture_to_a_taken_name_fails_after_stopping_the_guest(
        zvm, deployed):
    zvm.action('G1', 'start')
    status, envelope = zvm.action('G1', 'capture', image='IMG1')
    assert (status, codes(envelope)) == (500, (500, 500, 1, 100))
    assert envelope['errmsg'].endswith(
        'SDK server got exception without results defined, error: SDK '
        'database error: UNIQUE constraint failed: image.imagename')
    assert zvm.ok('GET', '/guests/G1/power_state') == 'off'
    assert [i['imagename'] for i in zvm.ok('GET', '/images')] == ['img1']


def test_deploy_and_capture_beyond_the_limit_are_503(tmp_path):
    path = image_file(tmp_path)
    with zvmsim.serve(tmp_path, copy_seconds=0.3,
                      max_concurrent=1) as servers:
        zvm = zvmsim.Client(servers[0])
        import_image(zvm, path)
        for userid in ('G1', 'G2'):
            zvm.create_guest(userid)
        answers = {}

        def deploy(userid):
            answers[userid] = zvmsim.Client(servers[0]).action(
                userid, 'deploy', image='img1')

        threads = [threading.Thread(target=deploy, args=(u,))
                   for u in ('G1', 'G2')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    statuses = sorted((status, codes(envelope))
                      for status, envelope in answers.values())
    assert statuses == [(200, (0, 0, 0, None)), (503, (503, 503, 1, 120))]
