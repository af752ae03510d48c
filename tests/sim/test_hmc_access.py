# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Access to the HMC simulator: TLS, logon, sessions, the request log.

Everything goes through HTTPS, with the real zhmcclient or with requests
for the raw answers zhmcclient hides (the 403s of a missing or bad
session id).
"""

import logging

import pytest
import requests
import zhmcclient

from tests import hmcsim

QUICK = zhmcclient.RetryTimeoutConfig(connect_timeout=5, connect_retries=0,
                                      read_timeout=5, read_retries=0)


def raw_get(server, path, session_id=None):
    """A GET without zhmcclient: the simulator's answer as it is."""
    headers = {'X-API-Session': session_id} if session_id else {}
    return requests.get(server.url + path, headers=headers, timeout=10,
                        verify=str(server.certs.ca_file))


def calls(entries):
    """(method, path without query, status) of request log entries."""
    return [(e['method'], e['path'].split('?')[0], e['status'])
            for e in entries]


def test_tls_verified_against_ca_file(hmc_server):
    """The server certificate verifies only against the simulator's CA.

    With verify_cert=True (the system CAs) zhmcclient refuses the
    connection; with the CA file the same call works.
    """
    untrusting = zhmcclient.Session(
        '127.0.0.1', hmcsim.USERID, hmcsim.PASSWORD, port=hmc_server.port,
        verify_cert=True, retry_timeout_config=QUICK)
    with pytest.raises(zhmcclient.ConnectionError) as error:
        zhmcclient.Client(untrusting).cpcs.list()
    assert 'CERTIFICATE_VERIFY_FAILED' in str(error.value)
    assert hmc_server.log.since() == []   # no request got through

    trusting = hmcsim.session(hmc_server)
    try:
        cpcs = zhmcclient.Client(trusting).cpcs.list()
        assert [c.name for c in cpcs] == [hmcsim.CPC_NAME,
                                          hmcsim.CPC3_NAME]
    finally:
        trusting.logoff()


def test_wrong_password_fails_without_leaking_it(hmc_server, caplog):
    """A wrong password is a ServerAuthError (HMC's 403, reason 0); the
    password appears neither in the error nor in any log record."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger='zhmcclient')
    wrong = 'Wr0ng-S3cret-p4ss'
    bad = hmcsim.session(hmc_server, password=wrong)
    with pytest.raises(zhmcclient.ServerAuthError) as error:
        zhmcclient.Client(bad).cpcs.list()
    assert error.value.details.http_status == 403
    assert error.value.details.reason == 0
    assert wrong not in str(error.value)
    assert wrong not in repr(error.value)
    assert wrong not in str(error.value.details)
    # The logs were captured (the logon is in them), without the password.
    assert any('/api/sessions' in r.getMessage() for r in caplog.records)
    assert wrong not in caplog.text
    for record in caplog.records:
        assert wrong not in record.getMessage()
    assert not bad.is_logon()
    assert calls(hmc_server.log.since()) == [
        ('POST', '/api/sessions', 403)]


def test_missing_and_bogus_session_ids(hmc_server):
    """Without X-API-Session the HMC answers 403,4; with an unknown one
    403,5 (the reason zhmcclient re-logs on for)."""
    missing = raw_get(hmc_server, '/api/cpcs')
    assert missing.status_code == 403
    assert missing.json()['reason'] == 4
    bogus = raw_get(hmc_server, '/api/cpcs', session_id='0' * 32)
    assert bogus.status_code == 403
    assert bogus.json()['reason'] == 5
    assert calls(hmc_server.log.since()) == [
        ('GET', '/api/cpcs', 403), ('GET', '/api/cpcs', 403)]


def test_version_needs_no_session(hmc_server):
    """GET /api/version answers without a session, as on the HMC."""
    reply = raw_get(hmc_server, '/api/version')
    assert reply.status_code == 200
    version = reply.json()
    assert version['api-major-version'] == 4
    assert version['api-minor-version'] == 10
    info = zhmcclient.Client(hmcsim.session(hmc_server)).query_api_version()
    assert info['api-major-version'] == 4
    assert calls(hmc_server.log.since()) == [
        ('GET', '/api/version', 200), ('GET', '/api/version', 200)]


def test_logoff_invalidates_session_id(hmc_server):
    """After logoff the old session id is refused with 403,5."""
    hmc_session = hmcsim.session(hmc_server)
    hmcsim.cpc(hmc_session)
    session_id = hmc_session.session_id
    assert raw_get(hmc_server, '/api/cpcs', session_id).status_code == 200
    hmc_session.logoff()
    assert not hmc_session.is_logon()
    reply = raw_get(hmc_server, '/api/cpcs', session_id)
    assert reply.status_code == 403
    assert reply.json()['reason'] == 5
    assert ('DELETE', '/api/sessions/this-session', 204) in calls(
        hmc_server.log.since())


def test_expired_session_renewed_transparently(session, cpc, controls):
    """Sessions expired on the HMC (as by its restart): zhmcclient's next
    call gets 403,5, logs on again and retries, and the caller sees only
    the answer."""
    old_id = session.session_id
    seq = controls.last_seq()
    controls.call('POST', '/sessions/expire')
    cpc.pull_full_properties()
    assert cpc.properties['name'] == hmcsim.CPC_NAME
    assert session.session_id != old_id
    assert calls(controls.requests(seq)) == [
        ('GET', cpc.uri, 403),
        ('POST', '/api/sessions', 200),
        ('GET', cpc.uri, 200)]


def test_request_log_lists_every_request_in_order(hmc_server, controls):
    """Each API request a client makes is logged once, in order, with its
    method, path, status and duration; /_sim/ controls are not."""
    hmc_session = hmcsim.session(hmc_server)
    client = zhmcclient.Client(hmc_session)
    cpc = client.cpcs.list()[0]
    partition = cpc.partitions.create(hmcsim.partition_props('log-1'))
    partition.update_properties({'description': 'logged'})
    with pytest.raises(zhmcclient.HTTPError):
        hmc_session.get(partition.uri + 'x')
    partition.delete()
    hmc_session.logoff()

    entries = controls.requests()
    assert calls(entries) == [
        ('POST', '/api/sessions', 200),
        ('GET', '/api/cpcs', 200),
        ('POST', cpc.uri + '/partitions', 201),
        ('POST', partition.uri, 204),
        ('GET', partition.uri + 'x', 404),
        ('DELETE', partition.uri, 204),
        ('DELETE', '/api/sessions/this-session', 204)]
    assert [e['seq'] for e in entries] == list(
        range(entries[0]['seq'], entries[0]['seq'] + len(entries)))
    for entry in entries:
        assert isinstance(entry['duration_ms'], float)
        assert entry['duration_ms'] >= 0
    times = [e['time'] for e in entries]
    assert times == sorted(times)
    # "since" returns only what came after a sequence number.
    assert controls.requests(entries[-2]['seq']) == entries[-1:]


def test_controls_are_not_logged(hmc_server, controls):
    """The /_sim/ test controls never show in the request log."""
    controls.call('GET', '/faults')
    controls.call('GET', '/events')
    controls.requests()
    raw_get(hmc_server, '/api/version')
    controls.call('POST', '/sessions/expire')
    controls.call('DELETE', '/faults')
    assert calls(controls.requests()) == [('GET', '/api/version', 200)]


def test_reset_restores_topology_and_clears_log(cpc, controls):
    """POST /_sim/reset: the topology again (a created partition is gone)
    and an empty request log."""
    names = sorted(p.name for p in cpc.partitions.list())
    cpc.partitions.create(hmcsim.partition_props('reset-me'))
    assert 'reset-me' in [p.name for p in cpc.partitions.list()]
    assert controls.requests()

    controls.call('POST', '/reset')
    assert controls.requests() == []
    # Reset ends the sessions too; zhmcclient logs on again by itself.
    assert sorted(p.name for p in cpc.partitions.list()) == names
    assert calls(controls.requests()) == [
        ('GET', cpc.uri + '/partitions', 403),
        ('POST', '/api/sessions', 200),
        ('GET', cpc.uri + '/partitions', 200)]
