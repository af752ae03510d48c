# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the DPM driver repeats when the HMC says busy or does not answer,
and what it never repeats (hmc.session), on the HMC simulator through a
real zhmcclient session.  Fault rules make the HMC busy or drop the
connection; the simulator's request log counts what reached it."""

import logging
import re

from oslo_config import cfg
import pytest
import zhmcclient

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.conf import dpm as dpm_conf
from nova_ibmz.dpm import host as dpm_host
from nova_ibmz.hmc import naming
from nova_ibmz.hmc import session
from tests import hmc
from tests import hmcsim
from tests.unit.test_conf import DPM_LOADABLE
from tests.unit.test_conf import load_conf
from tests.unit.test_dpm_driver import make_instance
from tests.unit.test_dpm_driver import spawn

PARTITIONS = r'^/api/cpcs/[^/]+/partitions'
CREATE = PARTITIONS + '$'
LOGON = '^/api/sessions$'
BUSY = 'Target object is busy performing another operation'
RETRIES = 3


@pytest.fixture
def controls():
    hmc.reset()
    return hmcsim.Controls(hmc.server())


@pytest.fixture
def warnings(caplog):
    """The retry warnings logged from here on."""
    caplog.set_level(logging.WARNING, logger=session.__name__)

    def retries():
        return [r.getMessage() for r in caplog.records
                if r.name == session.__name__]
    return retries


def subset(**changes):
    """A CPC subset of HOST on the reset simulator, CPC read."""
    cpc_subset = dpm_host.CPCSubset(hmc.make_config(**changes), hmc.HOST)
    cpc_subset.check()
    return cpc_subset


def requests(controls, seq, method, path):
    """The statuses of the requests since seq that match (0: dropped)."""
    return [r['status'] for r in controls.requests(seq)
            if r['method'] == method and re.search(path, r['path'])]


def endpoint():
    return f'HMC 127.0.0.1:{hmc.server().port}'


# HTTP 409 reason 2: busy ----------------------------------------------------


def test_busy_create_succeeds_after_the_retries(controls, warnings):
    cpc_subset = subset()
    instance = make_instance()
    name = naming.partition_name(hmc.HOST, instance.uuid)
    seq = controls.last_seq()
    controls.fault(method='POST', path=CREATE, status=409, reason=2,
                   message=BUSY, times=2)
    cpc_subset.create(instance)
    assert requests(controls, seq, 'POST', CREATE) == [409, 409, 201]
    assert len([p for p in hmc.faked_cpc().partitions.list()
                if p.name == name]) == 1
    assert len(warnings()) == 2
    for n, message in enumerate(warnings(), 1):
        assert f'creating partition {name}: POST ' in message
        assert f'HTTP 409,2 (busy): {BUSY}' in message
        assert f'({n} of {RETRIES})' in message


@pytest.mark.parametrize('retries', [0, 2])
def test_busy_without_end_surfaces_after_the_retries(controls, warnings,
                                                     retries):
    cpc_subset = subset(hmc_retries=retries)
    instance = make_instance()
    name = naming.partition_name(hmc.HOST, instance.uuid)
    seq = controls.last_seq()
    controls.fault(method='POST', path=CREATE, status=409, reason=2,
                   message=BUSY)
    with pytest.raises(RequestRefused) as e:
        cpc_subset.create(instance)
    assert str(e.value) == (f'{endpoint()}: creating partition {name} '
                            f'refused: HTTP 409,2: {BUSY}')
    assert requests(controls, seq, 'POST', CREATE) == [409] * (retries + 1)
    assert len(warnings()) == retries
    assert hmc.find_partition(instance.uuid) is None


def test_not_in_the_right_state_is_not_repeated(controls, warnings):
    """409 reason 1 rarely passes by itself, and callers act on it."""
    cpc_subset = subset()
    seq = controls.last_seq()
    controls.fault(method='POST', path=CREATE, status=409, reason=1,
                   message='wrong state')
    with pytest.raises(RequestRefused):
        cpc_subset.create(make_instance())
    assert requests(controls, seq, 'POST', CREATE) == [409]
    assert warnings() == []


def test_busy_nic_create_during_a_spawn(controls):
    """The build goes on: one NIC per port, not one more."""
    driver = hmc.driver(None, known_instances=hmc.no_instances)
    instance = make_instance()
    controls.fault(method='POST', path='/nics$', status=409, reason=2,
                   message=BUSY, times=1)
    spawn(driver, instance)
    part = hmc.find_partition(instance.uuid)
    assert part.properties['status'] == 'active'
    assert len(part.nics.list()) == 2


# Dropped connections --------------------------------------------------------


def test_dropped_list_is_repeated(controls, warnings):
    cpc_subset = subset()
    seq = controls.last_seq()
    controls.fault(method='GET', path=PARTITIONS, drop=True, times=RETRIES)
    assert cpc_subset.partitions(fresh=True) == []
    assert requests(controls, seq, 'GET', PARTITIONS) == [0] * RETRIES + [200]
    assert len(warnings()) == RETRIES
    assert warnings()[0].startswith(
        f'{endpoint()}: listing partitions: GET /api/cpcs/')
    assert 'no answer: ' in warnings()[0]


def test_dropped_list_without_end_surfaces(controls, warnings):
    cpc_subset = subset()
    seq = controls.last_seq()
    controls.fault(method='GET', path=PARTITIONS, drop=True)
    with pytest.raises(HypervisorUnreachable) as e:
        cpc_subset.partitions(fresh=True)
    assert str(e.value).startswith(
        f'{endpoint()}: listing partitions failed: ')
    assert requests(controls, seq, 'GET', PARTITIONS) == [0] * (RETRIES + 1)
    assert hmcsim.PASSWORD not in str(e.value)
    assert not any(hmcsim.PASSWORD in m for m in warnings())


def test_dropped_create_is_not_repeated(controls, warnings):
    """The POST reached the HMC: it may have made the partition."""
    cpc_subset = subset()
    instance = make_instance()
    name = naming.partition_name(hmc.HOST, instance.uuid)
    seq = controls.last_seq()
    controls.fault(method='POST', path=CREATE, drop=True, times=1)
    with pytest.raises(HypervisorUnreachable) as e:
        cpc_subset.create(instance)
    assert str(e.value).startswith(
        f'{endpoint()}: creating partition {name} failed: ')
    assert requests(controls, seq, 'POST', CREATE) == [0]
    assert warnings() == []


def test_dropped_delete_is_repeated(controls, warnings):
    cpc_subset = subset()
    instance = make_instance()
    part = cpc_subset.create(instance)
    seq = controls.last_seq()
    controls.fault(method='DELETE', path=r'^/api/partitions/', drop=True,
                   times=1)
    cpc_subset.hmc_call('deleting partition', part.delete)
    assert requests(controls, seq, 'DELETE', '^/api/partitions/') == [0, 204]
    assert hmc.find_partition(instance.uuid) is None
    assert len(warnings()) == 1


def test_failed_job_poll_does_not_repeat_the_operation(controls, warnings):
    """zhmcclient polls the job inside the POST that started it: the
    start was accepted, so a busy poll must not start it again."""
    cpc_subset = subset()
    part = cpc_subset.create(make_instance())
    seq = controls.last_seq()
    controls.fault(method='GET', path='^/api/jobs/', status=409, reason=2,
                   message=BUSY, times=1)
    with pytest.raises(RequestRefused):
        cpc_subset.hmc_call('starting partition', part.start,
                            wait_for_completion=True)
    assert requests(controls, seq, 'POST', '/operations/start$') == [202]
    assert warnings() == []


def test_failed_job_does_not_repeat_the_operation(controls, warnings,
                                                  monkeypatch):
    """A job that ends in 409,2 reaches the caller as if the POST had
    been refused, but the HMC accepted and ran it."""
    monkeypatch.setattr(hmc.server().sim, 'job_seconds',
                        dict(hmcsim.INSTANT_JOBS))
    cpc_subset = subset()
    part = cpc_subset.create(make_instance())
    seq = controls.last_seq()
    controls.fault(method='POST', path='/operations/start$', times=1,
                   job_failure={'status': 409, 'reason': 2,
                                'message': BUSY})
    with pytest.raises(RequestRefused) as e:
        cpc_subset.hmc_call('starting partition', part.start,
                            wait_for_completion=True)
    assert str(e.value).endswith(f'HTTP 409,2: {BUSY}')
    assert requests(controls, seq, 'POST', '/operations/start$') == [202]
    assert warnings() == []


def test_create_that_never_left_is_repeated(tmp_path, warnings):
    """A POST whose connection could not be made did nothing: an HMC that
    has gone away (here: stopped) is tried again."""
    with hmcsim.serve(tmp_path) as gone:
        hmc_session = session.HMCSession(
            '127.0.0.1', hmcsim.USERID, hmcsim.PASSWORD, gone.port,
            str(gone.certs.ca_file), retries=2, backoff=0.01)
        cpc = hmcsim.cpc(hmc_session)       # logged on
    with pytest.raises(zhmcclient.ConnectionError):
        cpc.partitions.create(hmcsim.partition_props('p-1'))
    assert len(warnings()) == 2
    assert 'POST /api/cpcs/' in warnings()[0]


def test_tls_failure_is_not_repeated(warnings):
    """A certificate the CA file does not vouch for does not get better."""
    hmc_session = session.HMCSession(
        '127.0.0.1', hmcsim.USERID, hmcsim.PASSWORD, hmc.server().port,
        True, retries=RETRIES, backoff=0.01)
    with pytest.raises(zhmcclient.ConnectionError):
        hmcsim.cpc(hmc_session)
    assert warnings() == []


# Logon ----------------------------------------------------------------------


def test_wrong_password_costs_one_logon(controls, warnings):
    cpc_subset = dpm_host.CPCSubset(
        hmc.make_config(hmc_password='not-the-password'), hmc.HOST)
    seq = controls.last_seq()
    with pytest.raises(ConfigurationError) as e:
        cpc_subset.check()
    message = str(e.value)
    assert message.startswith(
        f"[dpm] hmc_username, hmc_password: {endpoint()}: the logon of "
        f"'{hmcsim.USERID}' was refused (")
    assert 'HTTP authentication failed with 403,0' in message
    assert 'not-the-password' not in message
    assert requests(controls, seq, 'POST', LOGON) == [403]
    assert warnings() == []


def test_logon_refused_later_is_not_repeated(controls, warnings):
    """The session expires and the HMC refuses the new logon: one logon
    for the call, and the call fails naming what it was doing."""
    cpc_subset = subset()
    controls.fault(method='POST', path=LOGON, status=403, reason=0,
                   message='Logon failed')
    controls.call('POST', '/sessions/expire')
    seq = controls.last_seq()
    with pytest.raises(dpm_host.LogonRefused) as e:
        cpc_subset.partitions(fresh=True)
    assert str(e.value).startswith(
        f"{endpoint()}: listing partitions failed: the logon of "
        f"'{hmcsim.USERID}' was refused (")
    assert requests(controls, seq, 'POST', LOGON) == [403]
    assert warnings() == []


def test_lost_logon_is_repeated(controls, warnings):
    """A logon comes before the request: the request was not sent yet."""
    cpc_subset = subset()
    controls.call('POST', '/sessions/expire')
    controls.fault(method='POST', path=LOGON, drop=True, times=1)
    seq = controls.last_seq()
    instance = make_instance()
    cpc_subset.create(instance)
    assert requests(controls, seq, 'POST', LOGON) == [0, 200]
    # Refused for the expired session (403), then made once.
    assert requests(controls, seq, 'POST', CREATE)[-1] == 201
    assert hmc.find_partition(instance.uuid) is not None
    [warning] = warnings()
    assert 'POST /api/cpcs/' in warning
    assert 'the logon got no answer' in warning


# [dpm] hmc_retries ----------------------------------------------------------


def test_hmc_retries_default_and_value(tmp_path):
    assert dpm_conf.load(load_conf(tmp_path, DPM_LOADABLE)).hmc_retries == 3
    config = dpm_conf.load(load_conf(tmp_path, DPM_LOADABLE +
                                     'hmc_retries = 0\n'))
    assert config.hmc_retries == 0
    opened = dpm_host.open_session(hmc.make_config(hmc_retries=5))
    assert (opened.retries, opened.backoff) == (5, 0.01)


@pytest.mark.parametrize('value, says', [
    ('-1', 'Should be greater than or equal to 0'),
    ('9', 'Should be less than or equal to 8'),
    ('three', "invalid literal for int() with base 10: 'three'")])
def test_hmc_retries_bad_value_is_named(tmp_path, value, says):
    """oslo.config names the option, and the value or the bound."""
    conf = load_conf(tmp_path, DPM_LOADABLE + f'hmc_retries = {value}\n')
    with pytest.raises(cfg.ConfigFileValueError) as e:
        dpm_conf.load(conf)
    message = str(e.value)
    assert message.startswith('Value for option hmc_retries ')
    assert message.endswith(f' is not valid: {says}')
