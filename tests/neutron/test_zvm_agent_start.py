# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-zvm-agent's options and its start against the Cloud
Connector simulator (token auth): what it refuses, with which one-line
error (the console script in a process of its own), and how it waits for
a connector that does not answer.  Neutron's RPC is the in-memory one of
fake_rpc.py; through the real neutron-server: test_zvm_agent_server.py."""

import subprocess
import sys
import threading
import time

import pytest

from nova_ibmz.neutron.zvm import agent as zvm_agent
from nova_ibmz.neutron.zvm import options
from tests.neutron import fake_rpc
from tests import zvm_agent_config
from tests import zvmsim

HOST = 'zvm-compute-1'


def write_config(path, url, token=zvmsim.ADMIN_TOKEN, **kwargs):
    """An agent configuration file of HOST (token auth); its path."""
    return zvm_agent_config.write(path, url, HOST, token=token, **kwargs)[1]


def wait_until(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f'never: {what}'
        time.sleep(0.05)


@pytest.fixture
def sim(tmp_path):
    with zvmsim.serve(tmp_path) as servers:
        yield servers[0]


@pytest.fixture
def make_config(tmp_path, sim):
    def make(**kwargs):
        path = tmp_path / f'agent-{len(list(tmp_path.glob("*.ini")))}.ini'
        return options.load(['--config-file',
                             write_config(path, sim.url, **kwargs)])
    return make


@pytest.fixture
def state():
    return fake_rpc.State()


@pytest.fixture
def run_agent(state):
    """Start an agent of a config with the in-memory RPC; stopped after
    the test."""
    started = []

    def run(config):
        agent = zvm_agent.ZVMAgent(
            config, first_wait=0.05, backoff=0.01,
            rpc={'state_rpc': state, 'plugin_rpc': fake_rpc.Plugin(),
                 'context': 'ctx'})
        started.append(agent)
        agent.start()
        return agent
    yield run
    for agent in started:
        agent.stop()


# -- options -------------------------------------------------------------

def test_the_options_as_the_agent_reads_them(make_config, sim):
    config = make_config(mappings=' physnet1 : vswitch1 ,physnet2:XCATVSW2')
    assert (config.host, config.instance_name_template,
            config.cloud_connector_url, config.vswitch_mappings,
            config.admin_token, config.polling_interval,
            config.report_interval) == (
        'zvm-compute-1', 'os%06x', sim.url,
        {'physnet1': 'VSWITCH1', 'physnet2': 'XCATVSW2'}, zvmsim.ADMIN_TOKEN,
        1, 1.0)
    assert zvmsim.ADMIN_TOKEN not in repr(config)


@pytest.mark.parametrize('mappings, why', [
    ('physnet1', "'physnet1' is not \"<physical network>:<vswitch>\""),
    (':VSWITCH1', "':VSWITCH1' is not"),
    ('physnet1:VSWITCH10', "'physnet1:VSWITCH10' is not"),
    ('physnet1:VSWITCH1,physnet1:XCATVSW2',
     'physical network physnet1 is mapped twice'),
])
def test_a_mapping_of_the_wrong_form_is_refused(make_config, mappings, why):
    with pytest.raises(options.ConfigError) as refused:
        make_config(mappings=mappings)
    assert str(refused.value).startswith('[zvm] vswitch_mappings: ')
    assert why in str(refused.value)


def test_a_missing_or_empty_option_is_refused(make_config, tmp_path):
    with pytest.raises(options.ConfigError, match='vswitch_mappings'):
        make_config(mappings='')
    with pytest.raises(options.ConfigError, match='admin_token_file: .* is '
                       'empty'):
        make_config(token='')
    with pytest.raises(options.ConfigError, match='cloud_connector_url'):
        options.load(['--config-file', write_config(
            tmp_path / 'no-url.ini', 'ftp://127.0.0.1:1')])


# -- the start -----------------------------------------------------------

def test_an_unknown_vswitch_is_refused_by_the_console_script(sim,
                                                             tmp_path):
    """One line on stderr that names the mapping, exit code 1; the admin
    token is in neither the error nor the log."""
    log = tmp_path / 'agent.log'
    config = write_config(tmp_path / 'agent.ini', sim.url,
                          mappings='physnet1:VSWITCH1,physnet2:NOSUCH',
                          DEFAULT={'log_file': str(log)})
    done = subprocess.run(
        [sys.executable, '-m', 'nova_ibmz.neutron.zvm.agent',
         '--config-file', str(config)],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f'neutron-ibmz-zvm-agent: [zvm] vswitch_mappings: physnet2:NOSUCH: '
        f'the z/VM system of {sim.url} has no vswitch NOSUCH')
    assert 'physnet2:NOSUCH' in log.read_text()
    assert zvmsim.ADMIN_TOKEN not in done.stderr + log.read_text()


def test_a_refused_admin_token_is_refused(make_config, run_agent, caplog):
    with pytest.raises(options.ConfigError) as refused:
        run_agent(make_config(token='not-the-token'))
    assert str(refused.value).startswith('[zvm] admin_token_file: ')
    assert 'not-the-token' not in str(refused.value) + caplog.text


def test_a_connector_down_at_start_is_waited_for(make_config, run_agent,
                                                 sim, state, caplog):
    controls = zvmsim.Controls(sim)
    controls.call('POST', '/unavailable', {'seconds': 3600})
    started = threading.Event()
    thread = threading.Thread(
        target=lambda: (run_agent(make_config()), started.set()))
    thread.start()
    try:
        wait_until(lambda: sum(r['status'] == 0
                               for r in controls.requests()) >= 3,
                   'three tries against the silent connector')
        assert not started.is_set()
        assert caplog.text.count('checking the vswitch mappings against '
                                 'the Cloud Connector at') >= 2
        controls.call('DELETE', '/faults')
        thread.join(60)
        assert started.is_set()
        wait_until(lambda: state.reports, 'a state report')
    finally:
        controls.call('DELETE', '/faults')
        thread.join(60)
    report, _ = state.reports[0]
    assert (report['agent_type'], report['binary'], report['host'],
            report['configurations']) == (
        'z/VM agent', 'neutron-ibmz-zvm-agent', 'zvm-compute-1',
        {'vswitch_mappings': {'physnet1': 'VSWITCH1',
                              'physnet2': 'XCATVSW2'}, 'devices': 0})


def test_stop_ends_the_wait_for_a_silent_connector(make_config, sim):
    controls = zvmsim.Controls(sim)
    controls.call('POST', '/unavailable', {'seconds': 3600})
    try:
        agent = zvm_agent.ZVMAgent(make_config(), first_wait=0.05,
                                   backoff=0.01,
                                   rpc={'state_rpc': object(),
                                        'plugin_rpc': object(),
                                        'context': 'ctx'})
        thread = threading.Thread(target=agent.start)
        thread.start()
        wait_until(lambda: controls.requests(), 'a first try')
        agent.stop()
        thread.join(60)
        assert not thread.is_alive()
    finally:
        controls.call('DELETE', '/faults')
