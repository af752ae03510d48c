# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator's test controls: fault rules, outages,
reset and the request log, observed through REST calls as a driver makes
them."""

import time

import pytest
import requests

from nova_ibmz.sim.httpserver import DROPPED
from tests.zvmsim import ok

INJECTED = 'Fault injected by the simulator'


def calls(entries):
    return [(e['method'], e['path'], e['status']) for e in entries]


def test_status_fault_with_envelope_defaults(zvm, zvm_controls):
    """overallRC and rc the status, rs 1, modID 120 (the web layer)."""
    zvm_controls.fault(method='GET', path='^/guests$', status=503, times=1)
    assert [zvm.call('GET', '/guests'), zvm.call('GET', '/guests')] == [
        (503, {'overallRC': 503, 'rc': 503, 'rs': 1, 'modID': 120,
               'errmsg': INJECTED, 'output': ''}),
        (200, ok([]))]


def test_status_fault_with_envelope_given(zvm, zvm_controls):
    """An error the connector could give, answered instead of the route:
    the guest is not created."""
    zvm_controls.fault(method='POST', path='^/guests$', status=409,
                       overallRC=8, rc=400, rs=8, modID=1,
                       errmsg='G1 is already defined')
    zvm_controls.fault(method='GET', path='/host$', status=500, rc=-108,
                       rs=0, modID=1)
    assert [zvm.call('POST', '/guests', {'guest': {
                'userid': 'G1', 'vcpus': 1, 'memory': 1024}}),
            zvm.call('GET', '/host'), zvm.call('GET', '/guests')] == [
        (409, {'overallRC': 8, 'rc': 400, 'rs': 8, 'modID': 1,
               'errmsg': 'G1 is already defined', 'output': ''}),
        (500, {'overallRC': 500, 'rc': -108, 'rs': 0, 'modID': 1,
               'errmsg': INJECTED, 'output': ''}),
        (200, ok([]))]


def test_after_and_times(zvm, zvm_controls):
    """The first `after` requests pass, the next `times` get the fault,
    then the rule is gone."""
    zvm_controls.fault(method='GET', path='^/host$', status=500, after=1,
                       times=2)
    statuses = [zvm.call('GET', '/host')[0] for _ in range(4)]
    assert (statuses, zvm_controls.call('GET', '/faults')) == \
        ([200, 500, 500, 200], {'faults': []})


def test_without_times_a_rule_stays(zvm, zvm_controls):
    zvm_controls.fault(method='GET', path='^/host$', status=500)
    statuses = [zvm.call('GET', '/host')[0] for _ in range(3)]
    [rule] = zvm_controls.call('GET', '/faults')['faults']
    zvm_controls.call('DELETE', '/faults')
    assert (statuses, rule['times'], zvm.call('GET', '/host')[0]) == \
        ([500, 500, 500], None, 200)


def test_method_and_path_matching(zvm, zvm_controls):
    """The method exactly (any case, or '*'), the path as a regular
    expression searched in the path with its query string."""
    for userid in ('G1', 'G2'):
        zvm.create_guest(userid)
    zvm_controls.fault(method='post', path='/guests/G1/action', status=500)
    zvm_controls.fault(method='*', path=r'userid=G2\b', status=503)
    assert [zvm.action('G1', 'start')[0], zvm.action('G2', 'start')[0],
            zvm.call('GET', '/guests/G1/power_state')[0],
            zvm.call('GET', '/guests/stats?userid=G1')[0],
            zvm.call('GET', '/guests/stats?userid=G2')[0],
            zvm.call('GET', '/guests/stats?userid=G1,G2')[0]] == \
        [500, 200, 200, 200, 503, 200]


def test_latency(zvm, zvm_controls):
    zvm.call('GET', '/host')    # the token, before the clock runs
    zvm_controls.fault(method='GET', path='^/host$', latency_ms=300,
                       times=1)
    started = time.monotonic()
    slow = zvm.call('GET', '/host')
    slow_seconds = time.monotonic() - started
    started = time.monotonic()
    zvm.call('GET', '/host')
    fast_seconds = time.monotonic() - started
    # Then answered as usual.
    assert (slow[0], slow[1]['output']['zvm_host']) == (200, 'ZVMSIM1')
    assert 0.3 <= slow_seconds < 2.0
    assert fast_seconds < 0.25


def test_drop(zvm, zvm_controls):
    zvm.call('GET', '/host')
    seq = zvm_controls.last_seq()
    zvm_controls.fault(method='GET', path='^/host$', drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        zvm.call('GET', '/host')
    assert zvm.call('GET', '/host')[0] == 200
    assert calls(zvm_controls.requests(seq)) == [
        ('GET', '/host', DROPPED), ('GET', '/host', 200)]


@pytest.mark.parametrize('rule, field', [
    ({'method': 'GET', 'path': 'x', 'status': 500, 'colour': 'red'},
     'colour'),
    ({'path': 'x', 'status': 500}, 'method'),
    ({'method': 'GET', 'status': 500}, 'path'),
    ({'method': 'GET', 'path': '(unclosed', 'status': 500}, 'path'),
    ({'method': 'GET', 'path': 'x'}, 'status'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'drop': True}, 'drop'),
    ({'method': 'GET', 'path': 'x', 'status': 'abc'}, 'status'),
    ({'method': 'GET', 'path': 'x', 'status': 99}, 'status'),
    ({'method': 'GET', 'path': 'x', 'latency_ms': -5}, 'latency_ms'),
    ({'method': 'GET', 'path': 'x', 'drop': 'yes'}, 'drop'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'times': 0}, 'times'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'times': 'x'}, 'times'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'after': -1}, 'after'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'rs': 'x'}, 'rs'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'modID': 1.5}, 'modID'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'overallRC': '8'},
     'overallRC'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'errmsg': 42},
     'errmsg'),
])
def test_invalid_rule(zvm, zvm_controls, rule, field):
    """400 with a message that names the field; the rule is not added."""
    reply = zvm_controls.http.post(zvm_controls.url + '/faults', json=rule,
                                   timeout=10)
    assert reply.status_code == 400
    assert field in reply.json()['message']
    assert zvm_controls.call('GET', '/faults') == {'faults': []}
    assert zvm.call('GET', '/host')[0] == 200


def test_unavailable(zvm, zvm_controls):
    """Every connection dropped for that many seconds, the token exchange
    too; then all is well."""
    seq = zvm_controls.last_seq()
    zvm_controls.call('POST', '/unavailable', {'seconds': 0.5})
    back = time.monotonic() + 0.5
    with pytest.raises(requests.ConnectionError):
        zvm.call('GET', '/guests')      # POST /token first: no token yet
    assert zvm.token is None
    assert time.monotonic() < back, 'too slow to observe the outage'
    time.sleep(back - time.monotonic() + 0.05)
    assert zvm.call('GET', '/guests') == (200, ok([]))
    assert calls(zvm_controls.requests(seq)) == [
        ('POST', '/token', DROPPED), ('POST', '/token', 200),
        ('GET', '/guests', 200)]


def test_reset(zvm, zvm_controls):
    zvm.create_guest('G1')
    zvm_controls.call('POST', '/guests', {'userid': 'FOREIGN1'})
    zvm_controls.fault(method='GET', path='^/host$', status=500)
    zvm_controls.call('POST', '/smapi-down', {'seconds': 60})
    assert zvm_controls.call('POST', '/reset') == {}
    state = zvm_controls.call('GET', '/state')
    assert (state['guests'], zvm_controls.call('GET', '/faults'),
            zvm_controls.requests()) == ([], {'faults': []}, [])
    # The token still serves; SMAPI answers again.
    assert [zvm.call('GET', '/guests'), zvm.call('GET', '/host')[0],
            zvm.action('G1', 'start')[0]] == [(200, ok([])), 200, 404]


def test_request_log(zvm, zvm_controls):
    zvm.create_guest('G1')
    zvm.call('GET', '/guests/stats?userid=G1')
    zvm.call('GET', '/guests/NOSUCH/power_state')
    zvm.call('GET', '/guests', token=False)
    zvm_controls.call('GET', '/faults')      # controls are not logged
    entries = zvm_controls.requests()
    assert calls(entries) == [
        ('POST', '/token', 200), ('POST', '/guests', 200),
        ('GET', '/guests/stats?userid=G1', 200),
        ('GET', '/guests/NOSUCH/power_state', 404),
        ('GET', '/guests', 401)]
    assert [e['seq'] for e in entries] == \
        list(range(entries[0]['seq'], entries[0]['seq'] + 5))
    assert calls(zvm_controls.requests(entries[2]['seq'])) == \
        calls(entries[3:])
    zvm_controls.call('DELETE', '/requests')
    assert zvm_controls.requests() == []


def test_guest_state_control(zvm, zvm_controls):
    """A guest shut down from inside: CP logs it off behind the
    connector's back; an unknown userid is a 400 naming it."""
    zvm.create_guest('G1')
    zvm.action('G1', 'start')
    zvm_controls.call('POST', '/guest-state',
                      {'userid': 'g1', 'state': 'off'})
    assert zvm.ok('GET', '/guests/G1/power_state') == 'off'
    reply = zvm_controls.http.post(
        zvm_controls.url + '/guest-state',
        json={'userid': 'NOSUCH', 'state': 'off'}, timeout=10)
    assert reply.status_code == 400
    assert 'NOSUCH' in reply.json()['message']


@pytest.mark.parametrize('body, named', [
    ({'userid': 'BADROOT', 'root': 'lots'}, "root 'lots'"),
    ({'userid': 'BIGROOT', 'root': '9999g'}, "root '9999g'"),
    ({'userid': 'BADSTATE', 'state': 'asleep'}, "'asleep'"),
])
def test_foreign_guest_control_refuses_bad_input(zvm, zvm_controls, body,
                                                 named):
    """400 naming the value, and no guest left defined."""
    reply = zvm_controls.http.post(zvm_controls.url + '/guests', json=body,
                                   timeout=10)
    assert reply.status_code == 400
    assert named in reply.json()['message']
    assert body['userid'] not in zvm.ok('GET', '/host/guests')
