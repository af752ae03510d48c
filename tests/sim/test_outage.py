# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""An outage rule (outage_s) makes a simulator go away from the request it
matches on, for both simulators: that request and every later one get
their connection closed until DELETE /_sim/faults or the time is up."""

import pytest
import requests
import zhmcclient

from tests import hmcsim

QUICK = zhmcclient.RetryTimeoutConfig(connect_timeout=5, connect_retries=0,
                                      read_timeout=5, read_retries=0)
DROPPED = 0     # the status the request log gives a dropped connection


def logged(controls, seq):
    return [(e['method'], e['path'].split('?')[0], e['status'])
            for e in controls.requests(seq)]


def test_hmc_outage_from_a_request_until_the_faults_are_cleared(
        hmc_server, controls):
    hmc_session = zhmcclient.Session(
        '127.0.0.1', hmcsim.USERID, hmcsim.PASSWORD, port=hmc_server.port,
        verify_cert=str(hmc_server.certs.ca_file), retry_timeout_config=QUICK)
    try:
        cpc = hmcsim.cpc(hmc_session)
        controls.fault(method='POST', path=r'/partitions$', times=1,
                       outage_s=600)
        seq = controls.last_seq()
        cpc.pull_full_properties()                  # before the outage
        with pytest.raises(zhmcclient.ConnectionError):
            cpc.partitions.create(hmcsim.partition_props('in-outage'))
        with pytest.raises(zhmcclient.ConnectionError):
            cpc.pull_full_properties()              # still away
        controls.call('DELETE', '/faults')
        cpc.pull_full_properties()
        assert logged(controls, seq) == [
            ('GET', cpc.uri, 200),
            ('POST', cpc.uri + '/partitions', DROPPED),
            ('GET', cpc.uri, DROPPED),
            ('GET', cpc.uri, 200)]
        assert cpc.partitions.list(filter_args={'name': 'in-outage'}) == []
    finally:
        hmc_session.logoff()


def test_connector_outage_from_a_request(zvm, zvm_controls):
    zvm.new_token()
    zvm_controls.fault(method='GET', path=r'^/host$', times=1, outage_s=600)
    seq = zvm_controls.last_seq()
    assert zvm.call('GET', '/guests')[0] == 200
    with pytest.raises(requests.ConnectionError):
        zvm.call('GET', '/host')
    with pytest.raises(requests.ConnectionError):
        zvm.call('GET', '/guests')
    zvm_controls.call('DELETE', '/faults')
    assert zvm.call('GET', '/guests')[0] == 200
    assert logged(zvm_controls, seq) == [
        ('GET', '/guests', 200), ('GET', '/host', DROPPED),
        ('GET', '/guests', DROPPED), ('GET', '/guests', 200)]


@pytest.mark.parametrize('seconds, words', [
    (-1, "'outage_s' must be a number of seconds above 0"),
    (True, "'outage_s' must be a number of seconds above 0"),
    ('long', "'outage_s' must be a number of seconds above 0"),
    (0, "'outage_s' must be a number of seconds above 0"),
])
def test_an_outage_needs_seconds(hmc_server, controls, seconds, words):
    reply = controls.http.post(controls.url + '/faults', json={
        'method': 'GET', 'path': 'x', 'outage_s': seconds},
        verify=controls.verify, timeout=10)
    assert reply.status_code == 400
    assert words in reply.json()['message']
    assert controls.call('GET', '/faults') == {'faults': []}
