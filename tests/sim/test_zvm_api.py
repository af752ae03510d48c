# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator's protocol and its guest and host routes.

Each expected answer is the real server's (zVMCloudConnector 1.6.3): the
codes and messages of the connector's own errors are read from
zvmsdk.returncode (tests.zvmsim.sdk_error), the web layer's from
zvmsdk.sdkwsgi (webob's pages for routing, the envelope with modID 120 for
what its handlers refuse); SMAPI's and the SMT layer's from smtLayer.
"""

import datetime
import json
import time

import jwt
import pytest
import requests

from tests import zvmsim
from tests.zvmsim import codes
from tests.zvmsim import ok
from tests.zvmsim import sdk_error
from tests.zvmsim import web_error

JSON = {'Accept': 'application/json'}


def not_found(userid):
    return sdk_error('notExist', 1, 'guest', obj_desc=f"Guest '{userid}'")


def guest_spec(userid='G1', **more):
    return {'guest': dict({'userid': userid, 'vcpus': 1, 'memory': 1024},
                          **more)}


def state(controls, userid=None):
    """The model as GET /_sim/state has it, or one guest of it."""
    model = controls.call('GET', '/state')
    if userid is None:
        return model
    return {g['userid']: g for g in model['guests']}.get(userid)


def power(zvm, userid):
    return zvm.ok('GET', f'/guests/{userid}/power_state')


def host(zvm):
    return zvm.ok('GET', '/host')


# -- the protocol -------------------------------------------------------------

def test_success_is_an_envelope_in_http_200(zvm):
    assert zvm.call('GET', '/guests') == (200, ok([]))


def test_guest_not_found(zvm):
    assert zvm.call('GET', '/guests/NOSUCH/power_state') == \
        (404, not_found('NOSUCH'))


@pytest.mark.parametrize('method, path, body', [
    ('GET', '/guests/nosuch', None),
    ('GET', '/guests/NOSUCH/info', None),
    ('GET', '/guests/NOSUCH/user_direct', None),
    ('GET', '/guests/stats?userid=NOSUCH', None),
    ('POST', '/guests/NOSUCH/action', {'action': 'start'}),
    ('POST', '/guests/NOSUCH/action', {'action': 'pause'}),
    ('POST', '/guests/NOSUCH/action',
     {'action': 'resize_cpus', 'cpu_cnt': 2}),
])
def test_guest_not_found_on_every_route(zvm, method, path, body):
    """Userids are folded to upper case before the database is asked."""
    assert zvm.call(method, path, body) == (404, not_found('NOSUCH'))


def test_guest_exists(zvm):
    zvm.create_guest('G1')
    status, envelope = zvm.call('POST', '/guests', guest_spec('g1'))
    # SMAPI's Image_Create_DM "already defined", which the create route's
    # status rule (handle_already_exists) makes a 409.
    assert (status, codes(envelope)) == (409, (8, 400, 8, 1))
    assert "G1" in envelope['errmsg']


def test_create_answers_the_disks_with_their_vdevs(zvm):
    body = guest_spec(disk_list=[
        {'size': '2g', 'is_boot_disk': True},
        {'size': '1g', 'format': 'ext4', 'disk_pool': 'FBA:POOLF1'}])
    assert zvm.call('POST', '/guests', body) == (200, ok([
        {'size': '2g', 'is_boot_disk': True, 'format': 'none',
         'vdev': '0100', 'disk_pool': 'ECKD:POOL1'},
        {'size': '1g', 'format': 'ext4', 'disk_pool': 'FBA:POOLF1',
         'vdev': '0101'}]))
    assert zvm.ok('GET', '/guests') == ['G1']


def test_delete_of_a_guest_unknown_to_connector_and_cp(zvm):
    assert zvm.call('DELETE', '/guests/NOSUCH') == (200, ok())


def test_delete_twice(zvm, zvm_controls):
    zvm.create_guest('G1')
    assert zvm.call('DELETE', '/guests/G1') == (200, ok())
    assert zvm.call('DELETE', '/guests/G1') == (200, ok())
    assert (zvm.ok('GET', '/guests'), state(zvm_controls, 'G1')) == \
        ([], None)


@pytest.fixture
def foreign(zvm_controls):
    """FOREIGN1, defined and logged on by someone else."""
    zvm_controls.call('POST', '/guests', {'userid': 'FOREIGN1'})
    return state(zvm_controls, 'FOREIGN1')


def test_delete_of_a_foreign_guest_is_refused(zvm, zvm_controls, foreign):
    assert zvm.call('DELETE', '/guests/FOREIGN1') == \
        (404, not_found('FOREIGN1'))
    assert state(zvm_controls, 'FOREIGN1') == foreign


@pytest.mark.parametrize('action, args', [
    ('start', {}), ('stop', {}), ('softstop', {}), ('pause', {}),
    ('unpause', {}), ('reboot', {}), ('reset', {}),
    ('get_console_output', {}),
    ('resize_cpus', {'cpu_cnt': 2}), ('live_resize_cpus', {'cpu_cnt': 2}),
    ('resize_mem', {'size': '2G'}), ('live_resize_mem', {'size': '2G'}),
])
def test_every_action_on_a_foreign_guest_is_refused(
        zvm, zvm_controls, foreign, action, args):
    assert zvm.action('FOREIGN1', action, **args) == \
        (404, not_found('FOREIGN1'))
    assert state(zvm_controls, 'FOREIGN1') == foreign


def test_deregister_of_a_foreign_guest_touches_nothing(
        zvm, zvm_controls, foreign):
    """The SDK deletes the database record without looking: nothing to
    delete, nothing refused."""
    assert zvm.action('FOREIGN1', 'deregister_vm') == (200, ok())
    assert state(zvm_controls, 'FOREIGN1') == foreign


def test_foreign_guest_is_known_to_cp_only(zvm, foreign):
    """The connector's routes refuse it; CP's power state (_real) sees it."""
    for path in ('/guests/FOREIGN1', '/guests/FOREIGN1/info',
                 '/guests/FOREIGN1/power_state'):
        assert zvm.call('GET', path) == (404, not_found('FOREIGN1')), path
    assert (zvm.ok('GET', '/guests'),
            zvm.ok('GET', '/guests/FOREIGN1/power_state_real')) == ([], 'on')


def test_user_direct_of_any_guest_with_its_comments(zvm, foreign):
    """Image_Query_DM answers for every guest of the directory, foreign
    ones too (the SDK skips its database there); makevm writes each
    comment as a comment line in upper case."""
    zvm.create_guest('G1', comments=['nova-ibmz instance 1234', 'two'])
    assert [line for line in zvm.ok('GET', '/guests/G1/user_direct')[
        'user_direct'] if line.startswith('*')] == [
        '* NOVA-IBMZ INSTANCE 1234', '* TWO']
    assert zvm.ok('GET', '/guests/FOREIGN1/user_direct')[
        'user_direct'][0].startswith('USER FOREIGN1 ')


def test_start_when_on_and_stop_when_off_succeed(zvm):
    zvm.create_guest('G1')
    assert [zvm.action('G1', 'stop'), power(zvm, 'G1'),
            zvm.action('G1', 'start'), zvm.action('G1', 'start'),
            power(zvm, 'G1'),
            zvm.action('G1', 'softstop'), zvm.action('G1', 'stop'),
            power(zvm, 'G1')] == [
        (200, ok()), 'off', (200, ok()), (200, ok()), 'on',
        (200, ok()), (200, ok()), 'off']


@pytest.mark.parametrize('action', ['pause', 'unpause'])
def test_pause_when_off(zvm, action):
    zvm.create_guest('G1')
    # The SDK checks the power state itself and reuses the capture
    # message (rs 5); the action route's status rule makes it a 409.
    assert zvm.action('G1', action) == (409, sdk_error(
        'guest', 5, userid='G1',
        msg=f'The vm G1 is powered off, please start up it before '
        f'{action}'))


def test_paused_guest_stays_on(zvm):
    zvm.create_guest('G1')
    zvm.action('G1', 'start')
    assert [zvm.action('G1', 'pause'), power(zvm, 'G1'),
            zvm.action('G1', 'unpause'), power(zvm, 'G1')] == [
        (200, ok()), 'on', (200, ok()), 'on']


# -- what the web layer refuses -----------------------------------------------

@pytest.mark.parametrize('spec, errmsg', [
    ({'userid': 'ABCDEFGHI', 'vcpus': 1, 'memory': 1024},
     "Invalid input for field/attribute userid. Value: ABCDEFGHI. "
     "'ABCDEFGHI' is too long"),
    ({'userid': 'ABC', 'memory': 1024},
     "Invalid input for field/attribute guest. Value: {'userid': 'ABC', "
     "'memory': 1024}. 'vcpus' is a required property"),
    ({'userid': 'ABC', 'vcpus': 1, 'memory': 1024, 'bogus': 1},
     "Invalid input for field/attribute guest. Value: {'userid': 'ABC', "
     "'vcpus': 1, 'memory': 1024, 'bogus': 1}. Additional properties are "
     "not allowed ('bogus' was unexpected)"),
])
def test_validation(zvm, spec, errmsg):
    # Messages as the real pipeline (zvmsdk.sdkwsgi.deploy) writes them.
    assert zvm.call('POST', '/guests', {'guest': spec}) == \
        (400, web_error(400, f'ValidationError: Validation error: {errmsg}'))
    assert zvm.ok('GET', '/guests') == []


@pytest.mark.parametrize('path, data, error', [
    ('/guests', b'{"guest":', 'Expecting value: line 1 column 10 (char 9)'),
    ('/guests/G1/action', b'', 'Expecting value: line 1 column 1 (char 0)'),
    ('/guests', b'', 'Expecting value: line 1 column 1 (char 0)'),
])
def test_malformed_json(zvm, path, data, error):
    reply = zvm.raw('POST', path, data=data,
                    headers={'Content-Type': 'application/json'})
    assert (reply.status_code, reply.json()) == \
        (400, web_error(400, f'Malformed JSON: {error}'))


def test_body_without_content_type(zvm):
    """webob's own page, not an envelope, negotiated on Accept."""
    reply = zvm.raw('POST', '/guests', data=json.dumps(guest_spec()),
                    headers=JSON)
    assert (reply.status_code, reply.headers['Content-Type'],
            reply.json()) == (400, 'application/json', {'errors': [{
                'status': 400, 'title': 'Bad Request',
                'detail': 'The server could not comply with the request '
                'since it is either malformed or otherwise incorrect.\n\n '
                'content-type header required when content-length > 0  '}]})
    assert zvm.ok('GET', '/guests') == []


def test_unknown_path(zvm):
    """Routing comes before the token check: no token needed for a 404."""
    json_page = zvm.raw('GET', '/nothing', token=False, headers=JSON)
    html_page = zvm.raw('GET', '/nothing', token=False)   # Accept: */*
    assert (json_page.status_code, json_page.json()) == (404, {'errors': [{
        'status': 404, 'title': 'Not Found',
        'detail': 'The resource could not be found.\n\n   '}]})
    assert (html_page.status_code, html_page.headers['Content-Type'],
            html_page.text) == (404, 'text/html; charset=UTF-8', (
                '<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n'
                ' <body>\n  <h1>404 Not Found</h1>\n  The resource could not '
                'be found.<br /><br />\n\n\n\n </body>\n</html>'))


@pytest.mark.parametrize('method, path, allow', [
    ('PUT', '/guests', 'POST, GET'),
    # The first path that matches decides: no guest STATS is deleted.
    ('DELETE', '/guests/stats', 'GET'),
    ('GET', '/token', 'POST'),
    ('GET', '/guests/G1/action', 'POST'),
])
def test_wrong_method(zvm, method, path, allow):
    reply = zvm.raw(method, path, headers=JSON)
    assert (reply.status_code, reply.headers['Allow'], reply.json()) == (
        405, allow, {'errors': [{
            'status': 405, 'title': 'Method Not Allowed',
            'detail': f'The method {method} is not allowed for this '
            f'resource. \n\n The method specified is not allowed for this '
            f'resource.'}]})


@pytest.mark.parametrize('body, errmsg', [
    ({'action': 'fly'}, 'action fly is invalid'),
    ({'action': ''}, 'action  is invalid'),
    ({'start': True}, 'action not exist or is empty'),
    ({}, 'action not exist or is empty'),
])
def test_unknown_or_missing_action(zvm, body, errmsg):
    zvm.create_guest('G1')
    assert zvm.call('POST', '/guests/G1/action', body) == \
        (400, web_error(400, errmsg))


# -- auth ---------------------------------------------------------------------

UNAUTHORIZED = web_error(401, zvmsim.UNAUTHORIZED)


def test_no_token(zvm):
    assert zvm.call('GET', '/guests', token=False) == (401, UNAUTHORIZED)


def test_token_is_checked_before_the_body_is_read(zvm):
    reply = zvm.raw('POST', '/guests', token=False, data=b'{nope',
                    headers={'Content-Type': 'application/json'})
    assert (reply.status_code, reply.json()) == (401, UNAUTHORIZED)


def test_bad_admin_token(connectors):
    zvm = zvmsim.Client(connectors[0], admin_token='not-the-secret')
    reply = zvm.new_token()
    assert (reply.status_code, reply.json(), zvm.token) == \
        (401, UNAUTHORIZED, None)


def test_wrong_tokens(zvm):
    """Garbage, and a JWT that another admin token signed."""
    expires = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(hours=1)
    foreign = jwt.encode({'exp': expires, 'gen': 0},
                         'another-admin-token-of-32-characters',
                         algorithm='HS256')
    for token in ('garbage', foreign):
        zvm.token = token
        assert zvm.call('GET', '/guests') == (401, UNAUTHORIZED), token


def test_token_from_post_token_works(zvm):
    reply = zvm.new_token()
    assert (reply.status_code, reply.content) == (200, b'')
    assert zvm.call('GET', '/guests') == (200, ok([]))


def test_auth_none(tmp_path):
    with zvmsim.serve(tmp_path, auth='none') as servers:
        zvm = zvmsim.Client(servers[0])
        reply = zvm.new_token()
        assert (reply.status_code, reply.headers['X-Auth-Token']) == \
            (200, 'server-auth-closed')
        assert zvm.call('GET', '/guests', token=False) == (200, ok([]))


def test_token_expires_then_a_new_one_works(tmp_path):
    with zvmsim.serve(tmp_path, token_ttl=1) as servers:
        zvm = zvmsim.Client(servers[0])
        # A token's expiry is a whole second: start just after one, so the
        # first token lives for about a second.
        time.sleep(1.02 - time.time() % 1)
        zvm.new_token()
        first = zvm.call('GET', '/guests')
        time.sleep(1.05)
        expired = zvm.call('GET', '/guests')
        zvm.new_token()
        assert [first, expired, zvm.call('GET', '/guests')] == \
            [(200, ok([])), (401, UNAUTHORIZED), (200, ok([]))]


def test_tokens_expired_by_the_control(zvm, zvm_controls):
    zvm.new_token()
    old = zvm.token
    zvm_controls.call('POST', '/tokens/expire')
    expired = zvm.call('GET', '/guests')
    zvm.new_token()
    assert (expired, zvm.call('GET', '/guests'), zvm.token != old) == \
        ((401, UNAUTHORIZED), (200, ok([])), True)


# -- SMAPI down ---------------------------------------------------------------

def test_smapi_down_for_a_second(zvm, zvm_controls):
    zvm.create_guest('G1')
    zvm_controls.call('POST', '/smapi-down', {'seconds': 1})
    back = time.time() + 1
    start = zvm.action('G1', 'start')
    create = zvm.call('POST', '/guests', guest_spec('G2'))
    database = zvm.call('GET', '/guests')
    cp = zvm.call('GET', '/guests/G1/power_state')
    healthy = zvm.call('GET', '/smapi-healthy')
    assert time.time() < back, 'too slow to observe the outage'
    # smcli's socket error, overallRC 25 in the SMT layer, which the SDK
    # makes its internal error: overallRC 500 with SMT's rc and modID 1.
    for status, envelope in (start, create):
        assert (status, codes(envelope)) == (500, (500, -108, 0, 1))
        assert envelope['errmsg'].startswith(
            'Unexpected internal error in ZVM SDK, error: SMT internal '
            'error.')
        assert envelope['errmsg'].endswith(
            'This is likely to be caused by temporary z/VM SMAPI down '
            'issue, Contact with your z/VM administrators for further help')
    # The database and CP still answer; /smapi-healthy of 1.6.3 always
    # says healthy (and answers no envelope).
    assert (database, cp, healthy) == ((200, ok(['G1'])), (200, ok('off')),
                                       (200, {'SMAPI': {
                                           'totalSuccess': 0, 'totalFail': 0,
                                           'lastSuccess': '', 'lastFail': '',
                                           'continueousFail': 0,
                                           'healthy': True}}))
    time.sleep(back - time.time() + 0.05)
    assert [zvm.action('G1', 'start'), power(zvm, 'G1'),
            zvm.ok('GET', '/guests')] == [(200, ok()), 'on', ['G1']]


# -- CPUs and memory (disks: test_zvm_disks.py) -------------------------------

def test_more_vcpus_than_max_cpu(zvm):
    """The directory takes the entry; CP defines max_cpu CPUs at logon."""
    assert zvm.call('POST', '/guests', guest_spec(vcpus=4, max_cpu=2)) == \
        (200, ok([]))
    zvm.action('G1', 'start')
    stats = zvm.ok('GET', '/guests/stats?userid=G1')['G1']
    assert (stats['guest_cpus'], host(zvm)['vcpus_used']) == (2, 2)


def test_more_memory_than_max_mem(zvm):
    status, envelope = zvm.call('POST', '/guests', guest_spec(
        memory=2048, max_mem='1G'))
    # The SMT layer's makevm refuses (ULTMVM0206E); no status rule maps
    # its 4/4/206, so HTTP 500.
    assert (status, codes(envelope)) == (500, (4, 4, 206, 1))
    assert 'ULTMVM0206E Max memory size 1G specified is less than ' \
        'initial memory size 2048M.' in envelope['errmsg']
    assert zvm.ok('GET', '/guests') == []


@pytest.fixture
def resizable(zvm):
    """G1: 2 CPUs of at most 4, 1024 MB of at most 4 GB; logged off."""
    zvm.create_guest('G1', vcpus=2, memory=1024, max_cpu=4, max_mem='4G')
    return 'G1'


def conflict(rs, **fields):
    return sdk_error('conflict', rs, 'guest', userid='G1', **fields)


def test_resize_cpus(zvm, resizable):
    assert [zvm.action('G1', 'resize_cpus', cpu_cnt=3),
            zvm.ok('GET', '/guests/G1')['user_direct'][2],
            zvm.action('G1', 'resize_cpus', cpu_cnt=5)] == [
        (200, ok()), 'COMMAND DEFINE CPU 00-02',
        (409, conflict(4, req=5, max=4))]
    zvm.action('G1', 'start')
    assert zvm.ok('GET', '/guests/stats?userid=G1')['G1']['guest_cpus'] == 3


def test_live_resize_cpus(zvm, resizable):
    off = zvm.action('G1', 'live_resize_cpus', cpu_cnt=3)
    zvm.action('G1', 'start')
    assert [off,
            zvm.action('G1', 'live_resize_cpus', cpu_cnt=1),
            zvm.action('G1', 'live_resize_cpus', cpu_cnt=5),
            zvm.action('G1', 'live_resize_cpus', cpu_cnt=4),
            zvm.ok('GET', '/guests/stats?userid=G1')['G1']['guest_cpus']] == [
        (409, conflict(1)),
        (409, conflict(2, active=2, req=1)),
        (409, conflict(4, req=5, max=4)),
        (200, ok()), 4]


def test_resize_mem(zvm, resizable):
    assert [zvm.action('G1', 'resize_mem', size='8G'),
            zvm.action('G1', 'resize_mem', size='2048m'),
            zvm.ok('GET', '/guests/G1')['user_direct'][0]] == [
        (409, conflict(20, req=8192, max=4096)), (200, ok()),
        'USER G1 NOLOG 2048M 4096M G']


def test_live_resize_mem(zvm, resizable):
    off = zvm.action('G1', 'live_resize_mem', size='2G')
    zvm.action('G1', 'start')
    assert [off,
            zvm.action('G1', 'live_resize_mem', size='512M'),
            zvm.action('G1', 'live_resize_mem', size='8G'),
            zvm.action('G1', 'live_resize_mem', size='2G'),
            host(zvm)['memory_mb_used']] == [
        (409, conflict(1)),
        (409, conflict(18, active=1024, req=512)),
        (409, conflict(20, req=8192, max=4096)),
        (200, ok()), 2048.0]


def test_live_resize_mem_beyond_the_reserved_maximum(zvm):
    """An increase above [zvm] user_default_max_reserved_memory (64G)."""
    zvm.create_guest('G1', max_mem='100G')
    zvm.action('G1', 'start')
    assert zvm.action('G1', 'live_resize_mem', size='80G') == \
        (409, conflict(21, inc=80 * 1024 - 1024, max=65536))


# -- what the connector reports of a guest ------------------------------------

def test_info_on_and_off(zvm):
    zvm.create_guest('G1', vcpus=2, memory=2048, max_mem='8G')
    off = zvm.ok('GET', '/guests/G1/info')
    zvm.action('G1', 'start')
    on = zvm.ok('GET', '/guests/G1/info')
    assert isinstance(on.pop('cpu_time_us'), int)
    common = {'max_mem_kb': 8 * 1024 ** 2, 'num_cpu': 2, 'os_distro': '',
              'kernel_info': ''}
    assert (off, on) == (
        dict(common, power_state='off', mem_kb=0, cpu_time_us=0,
             online_cpu_num=0),
        dict(common, power_state='on', mem_kb=2048 * 1024, online_cpu_num=2))


def test_stats_of_logged_on_guests_only(zvm):
    for userid in ('G1', 'G2'):
        zvm.create_guest(userid, vcpus=2, memory=2048, max_cpu=8,
                         max_mem='8G')
    zvm.action('G2', 'start')
    stats = zvm.ok('GET', '/guests/stats?userid=G1,g2')
    assert list(stats) == ['G2']
    g2 = stats['G2']
    assert {k: g2[k] for k in ('guest_cpus', 'used_mem_kb', 'max_mem_kb',
                               'max_cpu_limit')} == {
        'guest_cpus': 2, 'used_mem_kb': 2048 * 1024,
        'max_mem_kb': 8 * 1024 ** 2, 'max_cpu_limit': 800}


def console(zvm, userid):
    """The console's lines without their time stamps (HH:MM:SS)."""
    output = zvm.ok('POST', f'/guests/{userid}/action',
                    {'action': 'get_console_output'})
    return [line[9:] for line in output.splitlines()]


def test_console_output_after_start_and_stop(zvm):
    zvm.create_guest('G1')
    empty = console(zvm, 'G1')
    zvm.action('G1', 'start')
    zvm.action('G1', 'stop')
    assert (empty, console(zvm, 'G1')) == ([], [
        'LOGON G1 AT ZVMSIM1', 'IPL 0100',
        'HCPGIR450W CP entered; disabled wait PSW 00020000 80000000 '
        '00000000 00000000',
        'USER DSCONNECT LOGOFF AS G1'])


def test_reboot_of_a_logged_off_guest(zvm):
    """The SMT layer's reboot is "shutdown -r now" through IUCV, which
    cannot reach a guest that is not logged on (iucvclnt rc 4, errno
    ENETUNREACH): overallRC 2, HTTP 500."""
    zvm.create_guest('G1')
    status, envelope = zvm.action('G1', 'reboot')
    assert (status, codes(envelope), power(zvm, 'G1')) == \
        (500, (2, 4, 101, 1), 'off')
    assert envelope['errmsg'].startswith(
        "SMT error: SMT request failed. RequestData: 'PowerVM G1 reboot'")


def test_reset_of_a_logged_off_guest_logs_it_on(zvm):
    zvm.create_guest('G1')
    assert (zvm.action('G1', 'reset'), power(zvm, 'G1')) == \
        ((200, ok()), 'on')


# -- the host -----------------------------------------------------------------

def test_host_totals(zvm, zvm_controls):
    zvm.create_guest('G1', vcpus=2, memory=2048, root='10g')
    zvm.create_guest('G2', vcpus=3, memory=4096, root='5g')
    zvm.create_guest('G3', vcpus=4, memory=8192, root='1g')
    zvm.action('G1', 'start')
    zvm.action('G3', 'start')
    zvm.action('G3', 'pause')       # paused still holds its memory
    info = host(zvm)
    assert info.pop('ipl_time').startswith('IPL at ')
    # 400,000 cylinders of 1457 per GB; 14,564 + 7,282 + 1,457 cylinders.
    assert info == {
        'zcc_userid': 'OPNCLOUD', 'zvm_host': 'ZVMSIM1',
        'vcpus': 16, 'vcpus_used': 6,
        'cpu_info': {'architecture': 's390x', 'cec_model': '8561'},
        'memory_mb': 262144.0, 'memory_mb_used': 10240.0,
        'hypervisor_type': 'zvm', 'hypervisor_version': 730,
        'hypervisor_hostname': 'ZVMSIM1',
        'disk_total': 274, 'disk_used': 16, 'disk_available': 258}


def test_host_diskpool(zvm):
    zvm.create_guest('G1', root='10g')
    assert [zvm.call('GET', '/host/diskpool'),
            zvm.call('GET', '/host/diskpool?poolname=FBA:POOLF1'),
            zvm.call('GET', '/host/diskpool?poolname=POOLF1'),
            zvm.call('GET', '/host/diskpool?poolname=XYZ:POOLF1')] == [
        (200, ok({'disk_total': 274, 'disk_used': 10,
                  'disk_available': 264})),
        (200, ok({'disk_total': 23, 'disk_used': 0, 'disk_available': 23})),
        (400, web_error(400, r"ValidationError: Validation error: Invalid "
                        r"input for query parameters 0. Value: POOLF1. "
                        r"'POOLF1' does not match '^\\w+:\\w+$'")),
        (400, sdk_error('input', 3, msg='Invalid disk pool type found in '
                        'disk_pool, expectdisk_pool like ECKD:eckdpool or '
                        'FBA:fbapool'))]


def test_host_diskpool_not_defined(zvm):
    status, envelope = zvm.call('GET', '/host/diskpool?poolname=ECKD:NOPE')
    # The SMT layer's "disk pool not defined", which the route's status
    # rule (handle_not_found) makes a 404.
    assert (status, codes(envelope)) == (404, (4, 5, 402, 1))


def test_host_ssi_of_a_single_system(zvm):
    assert zvm.call('GET', '/host/ssi') == (200, ok([]))


def test_host_guests_lists_the_directory(zvm, foreign):
    zvm.create_guest('G1')
    assert zvm.ok('GET', '/host/guests') == ['FOREIGN1', 'G1']


def test_requests_without_envelope_are_logged_too(zvm, zvm_controls):
    seq = zvm_controls.last_seq()
    zvm.raw('GET', '/nothing', token=False, headers=JSON)
    with pytest.raises(requests.JSONDecodeError):
        zvm.raw('GET', '/nothing', token=False).json()
    assert [(e['method'], e['path'], e['status'])
            for e in zvm_controls.requests(seq)] == [
        ('GET', '/nothing', 404), ('GET', '/nothing', 404)]
