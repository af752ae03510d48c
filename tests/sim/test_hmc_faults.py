# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Faults injected through /_sim/faults and /_sim/unavailable.

Each fault is observed as a client sees it, through the real zhmcclient
over HTTPS, and in the simulator's request log.
"""

import time

import pytest
import zhmcclient

from tests import hmcsim

QUICK = zhmcclient.RetryTimeoutConfig(connect_timeout=5, connect_retries=0,
                                      read_timeout=5, read_retries=0)
DROPPED = 0     # the status the request log gives a dropped connection


@pytest.fixture
def partition(cpc):
    return cpc.partitions.create(hmcsim.partition_props('faulty-1'))


def calls(entries):
    """(method, path without query, status) of request log entries."""
    return [(e['method'], e['path'].split('?')[0], e['status'])
            for e in entries]


def test_http_error_returned_times_then_stops(cpc, controls):
    """A 500,3 rule with times=2 answers the next two matching requests
    with that HMC error, then the real answer comes back."""
    controls.fault(method='GET', path='/api/cpcs/[^/]+$', status=500,
                   reason=3, message='Injected: HMC internal error', times=2)
    seq = controls.last_seq()
    for _ in range(2):
        with pytest.raises(zhmcclient.HTTPError) as error:
            cpc.pull_full_properties()
        assert error.value.http_status == 500
        assert error.value.reason == 3
        assert error.value.message == 'Injected: HMC internal error'
    cpc.pull_full_properties()
    assert cpc.properties['name'] == hmcsim.CPC_NAME
    assert calls(controls.requests(seq)) == [
        ('GET', cpc.uri, 500), ('GET', cpc.uri, 500), ('GET', cpc.uri, 200)]
    assert controls.call('GET', '/faults') == {'faults': []}


def test_busy_retried_by_zhmcclient(session, partition, controls):
    """409,2 (busy) once on a partition update: session.post with
    busy_retries sends it again, and the update lands."""
    controls.fault(method='POST', path=partition.uri + '$', status=409,
                   reason=2, times=1)
    seq = controls.last_seq()
    session.post(partition.uri, body={'description': 'after busy'},
                 busy_retries=2, busy_wait=0)
    assert calls(controls.requests(seq)) == [
        ('POST', partition.uri, 409), ('POST', partition.uri, 204)]
    assert partition.get_property('description') == 'after busy'


def test_busy_without_retries_fails(session, partition, controls):
    """Without busy_retries the same 409,2 reaches the caller."""
    controls.fault(method='POST', path=partition.uri + '$', status=409,
                   reason=2, times=1)
    with pytest.raises(zhmcclient.HTTPError) as error:
        session.post(partition.uri, body={'description': 'lost'})
    assert (error.value.http_status, error.value.reason) == (409, 2)
    partition.pull_full_properties()
    assert partition.properties['description'] != 'lost'


def test_latency_fault(cpc, controls):
    """A latency rule delays the matching request by at least its ms;
    with times=1 the next one is not delayed."""
    controls.fault(method='GET', path='/api/cpcs/[^/]+$', latency_ms=200,
                   times=1)
    seq = controls.last_seq()
    cpc.pull_full_properties()
    cpc.pull_full_properties()
    slow, quick = controls.requests(seq)
    assert calls([slow, quick]) == [('GET', cpc.uri, 200)] * 2
    assert slow['duration_ms'] >= 200
    assert quick['duration_ms'] < 200


def test_drop_connection(session, partition, controls):
    """drop:true closes the connection without an answer: zhmcclient
    raises ConnectionError for the POST (not retried), and the next
    request works."""
    controls.fault(method='POST', path=partition.uri + '$', drop=True,
                   times=1)
    seq = controls.last_seq()
    with pytest.raises(zhmcclient.ConnectionError):
        partition.update_properties({'description': 'dropped'})
    partition.update_properties({'description': 'delivered'})
    assert partition.get_property('description') == 'delivered'
    assert calls(controls.requests(seq)) == [
        ('POST', partition.uri, DROPPED), ('POST', partition.uri, 204)]


def test_job_failure(partition, controls):
    """job_failure: the start answers 202, its job ends with the given
    status, reason and message, and the partition is stopped again."""
    controls.fault(method='POST', path='/operations/start$',
                   job_failure={'status': 409, 'reason': 131,
                                'message': 'Injected: no IFLs'})
    job = partition.start(wait_for_completion=False)
    assert hmcsim.status(partition) == 'starting'
    with pytest.raises(zhmcclient.HTTPError) as error:
        hmcsim.wait_job(job)
    assert error.value.http_status == 409
    assert error.value.reason == 131
    assert error.value.message == 'Injected: no IFLs'
    assert hmcsim.status(partition) == 'stopped'


def test_job_failure_with_wait_for_completion(certs_dir):
    """The same through zhmcclient's wait_for_completion (instant jobs),
    and only for the next start (times=1): the second start succeeds."""
    with hmcsim.serve(certs_dir, job_seconds=hmcsim.INSTANT_JOBS) as server:
        controls = hmcsim.Controls(server)
        hmc_session = hmcsim.session(server)
        try:
            partition = hmcsim.cpc(hmc_session).partitions.create(
                hmcsim.partition_props('faulty-2'))
            controls.fault(method='POST', path='/operations/start$',
                           times=1, job_failure={
                               'status': 500, 'reason': 263,
                               'message': 'Injected: firmware'})
            with pytest.raises(zhmcclient.HTTPError) as error:
                partition.start(wait_for_completion=True)
            assert (error.value.http_status, error.value.reason,
                    error.value.message) == (500, 263, 'Injected: firmware')
            assert hmcsim.status(partition) == 'stopped'
            partition.start(wait_for_completion=True)
            assert hmcsim.status(partition) == 'active'
        finally:
            hmc_session.logoff()


def test_job_failure_of_stop_only(partition, controls):
    """A job_failure rule fails only the jobs of the operations it
    matches: the start works, the 202 of the stop is no error, the stop
    job fails and the partition is active again; the rule (times=1) is
    then used up."""
    controls.fault(method='POST', path='/operations/stop$', times=1,
                   job_failure={'status': 409, 'reason': 1,
                                'message': 'Injected: stop refused'})
    assert hmcsim.wait_job(partition.start(wait_for_completion=False)) == {}
    assert len(controls.call('GET', '/faults')['faults']) == 1

    seq = controls.last_seq()
    job = partition.stop(wait_for_completion=False)
    assert calls(controls.requests(seq)) == [
        ('POST', partition.uri + '/operations/stop', 202)]
    with pytest.raises(zhmcclient.HTTPError) as error:
        hmcsim.wait_job(job)
    assert (error.value.http_status, error.value.reason,
            error.value.message) == (409, 1, 'Injected: stop refused')
    assert hmcsim.status(partition) == 'active'
    assert controls.call('GET', '/faults') == {'faults': []}


def test_unavailable_then_back(hmc_server, controls):
    """/_sim/unavailable: every request fails as a dropped connection for
    that many seconds, then the HMC answers again."""
    hmc_session = zhmcclient.Session(
        '127.0.0.1', hmcsim.USERID, hmcsim.PASSWORD, port=hmc_server.port,
        verify_cert=str(hmc_server.certs.ca_file),
        retry_timeout_config=QUICK)
    try:
        cpc = hmcsim.cpc(hmc_session)
        seq = controls.last_seq()
        back = time.monotonic() + 0.5
        controls.call('POST', '/unavailable', {'seconds': 0.5})
        with pytest.raises(zhmcclient.ConnectionError):
            cpc.pull_full_properties()
        with pytest.raises(zhmcclient.ConnectionError):
            cpc.partitions.create(hmcsim.partition_props('unavailable'))
        assert time.monotonic() < back, 'too slow to observe the outage'
        time.sleep(back - time.monotonic() + 0.05)
        cpc.pull_full_properties()
        assert cpc.properties['name'] == hmcsim.CPC_NAME
        assert calls(controls.requests(seq)) == [
            ('GET', cpc.uri, DROPPED),
            ('POST', cpc.uri + '/partitions', DROPPED),
            ('GET', cpc.uri, 200)]
    finally:
        hmc_session.logoff()


@pytest.mark.parametrize('rule, words', [
    ({'method': 'GET', 'path': 'x', 'status': 500, 'colour': 'red'},
     'colour'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'drop': True},
     'exactly one'),
    ({'method': 'GET', 'path': 'x'}, 'exactly one'),
    ({'method': 'GET', 'path': '(unclosed', 'status': 500},
     'regular expression'),
    ({'method': 'GET', 'status': 500}, 'path'),
    ({'path': 'x', 'status': 500}, 'method'),
    ({'method': 'GET', 'path': 'x', 'status': 500, 'times': 0}, 'times'),
    ({'method': 'GET', 'path': 'x', 'job_failure': {'status': 500}},
     'job_failure'),
    (['GET', 'x'], 'JSON object'),
])
def test_invalid_fault_rejected(hmc_server, controls, rule, words):
    """An invalid rule gets 400 with a message that says what is wrong,
    and is not added."""
    reply = controls.http.post(controls.url + '/faults', json=rule,
                               verify=controls.verify, timeout=10)
    assert reply.status_code == 400
    assert words in reply.json()['message']
    assert controls.call('GET', '/faults') == {'faults': []}


def test_fault_body_not_json(hmc_server, controls):
    """A body that is not JSON at all is a 400 too."""
    reply = controls.http.post(controls.url + '/faults', data=b'{nope',
                               verify=controls.verify, timeout=10)
    assert reply.status_code == 400
    assert reply.json()['message']


def test_fault_list_consumed_and_cleared(cpc, controls):
    """GET /_sim/faults lists the active rules; a times=1 rule goes away
    once used; DELETE /_sim/faults removes all of them."""
    controls.fault(method='get', path='/api/cpcs/[^/]+$', status=503,
                   reason=1, times=1)
    controls.fault(method='DELETE', path='/api/partitions/', drop=True)
    rules = controls.call('GET', '/faults')['faults']
    assert [(r['method'], r['path'], r['times'], r['status'], r['drop'])
            for r in rules] == [
        ('GET', '/api/cpcs/[^/]+$', 1, 503, False),
        ('DELETE', '/api/partitions/', None, None, True)]

    with pytest.raises(zhmcclient.HTTPError) as error:
        cpc.pull_full_properties()
    assert error.value.http_status == 503
    rules = controls.call('GET', '/faults')['faults']
    assert [r['method'] for r in rules] == ['DELETE']

    assert controls.call('DELETE', '/faults') == {}
    assert controls.call('GET', '/faults') == {'faults': []}
    cpc.pull_full_properties()


def test_server_latency(certs_dir):
    """serve(latency_ms=50), i.e. --latency-ms: every API request takes
    at least that long, the logon included."""
    with hmcsim.serve(certs_dir, latency_ms=50) as server:
        hmc_session = hmcsim.session(server)
        try:
            cpc = hmcsim.cpc(hmc_session)
            cpc.pull_full_properties()
        finally:
            hmc_session.logoff()
        entries = server.log.since()
    assert calls(entries) == [
        ('POST', '/api/sessions', 200), ('GET', '/api/cpcs', 200),
        ('GET', cpc.uri, 200), ('DELETE', '/api/sessions/this-session', 204)]
    assert all(e['duration_ms'] >= 50 for e in entries), entries
