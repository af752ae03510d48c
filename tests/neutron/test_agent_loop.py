# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The agent loop (nova_ibmz/neutron/agent/loop.py) with a manager of
devices in memory and a plugin RPC that answers as ML2's does, recording
every call (fake_rpc.py).  Each test drives poll() and report() itself,
but one that runs the loop's own threads; the end-to-end tests with the
real server are in test_dpm_agent_server.py."""

import threading
import time

from neutron_lib.agent import constants as agent_consts
import pytest

from nova_ibmz.neutron.agent import loop as agent_loop
from tests.neutron.fake_rpc import HOST
from tests.neutron.fake_rpc import Plugin
from tests.neutron.fake_rpc import State

MAC_1 = 'fa:16:3e:00:00:01'
MAC_2 = 'fa:16:3e:00:00:02'


class Manager:
    """A hypervisor whose devices a test sets; plug() accepts what
    ``accept`` says (default: everything)."""

    agent_type = 'Test agent'
    binary = 'neutron-test-agent'

    def __init__(self):
        self.present = set()
        self.made_again = set()
        self.failure = None
        self.failures = 0       # devices() raised this many times
        self.accept = {}
        self.plugged = []
        self.unplugged = []

    def configurations(self):
        return {'mappings': {'physnet1': 'x'}}

    def devices(self):
        if self.failure:
            self.failures += 1
            raise self.failure
        return set(self.present)

    def plug(self, device, details):
        self.plugged.append((device, details['port_id']))
        answer = self.accept.get(device, True)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def unplug(self, device):
        self.unplugged.append(device)

    def replaced(self):
        return self.made_again & self.present


@pytest.fixture
def manager():
    return Manager()


@pytest.fixture
def plugin():
    return Plugin()


@pytest.fixture
def state():
    return State()


@pytest.fixture
def loop(manager, plugin, state):
    return agent_loop.AgentLoop(manager, HOST, polling_interval=0.05,
                                report_interval=0.05, state_rpc=state,
                                plugin_rpc=plugin, context='ctx')


def calls(plugin):
    """The calls since the last look, then forget them."""
    made, plugin.calls[:] = list(plugin.calls), []
    return made


def test_a_new_device_is_asked_for_plugged_and_reported_up(
        loop, manager, plugin):
    port = plugin.bind(MAC_1)
    manager.present = {MAC_1}
    assert loop.poll()
    assert calls(plugin) == [
        ('details', {'devices': [MAC_1], 'host': HOST}),
        ('update', {'up': [MAC_1], 'down': [], 'host': HOST})]
    assert manager.plugged == [(MAC_1, port)]
    assert plugin.status[port] == 'ACTIVE'
    assert loop.devices_up == {MAC_1}
    # Nothing changed: no RPC at all.
    assert loop.poll()
    assert calls(plugin) == []


def test_a_vanished_device_is_forgotten_and_reported_down(
        loop, manager, plugin):
    port = plugin.bind(MAC_1)
    plugin.bind(MAC_2)
    manager.present = {MAC_1, MAC_2}
    loop.poll()
    calls(plugin)
    manager.present = {MAC_2}
    assert loop.poll()
    assert calls(plugin) == [
        ('update', {'up': [], 'down': [MAC_1], 'host': HOST})]
    assert manager.unplugged == [MAC_1]
    assert plugin.status[port] == 'DOWN'
    assert loop.devices_up == {MAC_2}


def test_a_device_made_again_is_reported_up_again(loop, manager, plugin):
    """Asked for again (ML2 then sets its port BUILD) and reported up:
    Neutron tells Nova it is plugged again, which a DPM rebuild waits for
    (through the real server: tests/functional/test_dpm.py)."""
    port = plugin.bind(MAC_1)
    plugin.bind(MAC_2)
    manager.present = {MAC_1, MAC_2}
    loop.poll()
    calls(plugin)
    manager.made_again = {MAC_1}
    assert loop.poll()
    assert calls(plugin) == [
        ('details', {'devices': [MAC_1], 'host': HOST}),
        ('update', {'up': [MAC_1], 'down': [], 'host': HOST})]
    assert plugin.status[port] == 'ACTIVE'
    assert manager.unplugged == []
    assert loop.devices_up == {MAC_1, MAC_2}


@pytest.mark.parametrize('bound_to', [None, 'another-host'])
def test_a_device_without_a_port_bound_here_is_asked_for_less_often(
        loop, manager, plugin, bound_to):
    if bound_to:
        plugin.bind(MAC_1, host=bound_to)
    manager.present = {MAC_1}
    asked = []
    for number in range(1, 10):
        loop.poll()
        asked += [number for _ in calls(plugin)]
    assert asked == [1, 2, 4, 8]
    assert manager.plugged == []
    # Bound here now: up when next asked, after 8 more polls.
    port = plugin.bind(MAC_1)
    polls = 0
    while plugin.status.get(port) != 'ACTIVE':
        assert polls < agent_loop.MAX_BACKOFF
        loop.poll()
        polls += 1
    assert polls == 16 - 9


def test_the_waits_end_at_a_most_and_at_a_resync(loop, manager, plugin,
                                                 state):
    manager.present = {MAC_1}
    for _ in range(500):
        loop.poll()
    asked = [kwargs['devices'] for name, kwargs in calls(plugin)]
    # 1, 2, 4, ..., 32, then every 32.
    assert len(asked) == 6 + (500 - 32) // agent_loop.MAX_BACKOFF
    state.answer = agent_consts.AGENT_REVIVED
    loop.report()
    loop.poll()
    assert calls(plugin) == [('details', {'devices': [MAC_1],
                                          'host': HOST})]


def test_a_port_administratively_down_is_not_plugged(loop, manager, plugin):
    plugin.bind(MAC_1, admin_state_up=False)
    manager.present = {MAC_1}
    loop.poll()
    assert manager.plugged == []
    assert [name for name, _ in calls(plugin)] == ['details']
    assert loop.devices_up == set()


@pytest.mark.parametrize('refusal', [False, RuntimeError('vswitch lost')])
def test_a_device_the_manager_does_not_plug_is_tried_again(
        loop, manager, plugin, refusal):
    port = plugin.bind(MAC_1)
    plugin.bind(MAC_2)
    manager.present = {MAC_1, MAC_2}
    manager.accept[MAC_1] = refusal
    assert loop.poll()
    assert calls(plugin)[-1] == (
        'update', {'up': [MAC_2], 'down': [], 'host': HOST})
    manager.accept[MAC_1] = True
    assert loop.poll()
    assert calls(plugin) == [
        ('details', {'devices': [MAC_1], 'host': HOST}),
        ('update', {'up': [MAC_1], 'down': [], 'host': HOST})]
    assert plugin.status[port] == 'ACTIVE'


def test_a_hypervisor_failure_keeps_what_the_loop_knew(
        loop, manager, plugin):
    plugin.bind(MAC_1)
    manager.present = {MAC_1}
    loop.poll()
    calls(plugin)
    manager.failure = ConnectionError('HMC gone')
    assert not loop.poll()
    # Not "no devices": nothing is reported down, nothing unplugged.
    assert calls(plugin) == []
    assert manager.unplugged == []
    assert loop.devices_up == {MAC_1}
    manager.failure = None
    assert loop.poll()
    assert calls(plugin) == []


def test_after_a_failed_rpc_everything_is_sent_again(loop, manager, plugin):
    plugin.bind(MAC_1)
    plugin.bind(MAC_2)
    manager.present = {MAC_1, MAC_2}
    loop.poll()
    calls(plugin)
    # MAC_2 goes while the server cannot be reached.
    manager.present = {MAC_1}
    plugin.failures['update'] = TimeoutError('no answer')
    assert not loop.poll()
    assert calls(plugin) == [
        ('update', {'up': [], 'down': [MAC_2], 'host': HOST})]
    # Resync: every device asked for and reported up again, the down
    # repeated.
    assert loop.poll()
    assert calls(plugin) == [
        ('details', {'devices': [MAC_1], 'host': HOST}),
        ('update', {'up': [MAC_1], 'down': [MAC_2], 'host': HOST})]
    assert loop.poll()
    assert calls(plugin) == []


def test_a_failed_details_call_is_a_resync_too(loop, manager, plugin):
    plugin.bind(MAC_1)
    plugin.bind(MAC_2)
    manager.present = {MAC_1}
    loop.poll()
    calls(plugin)
    manager.present = {MAC_1, MAC_2}
    plugin.failures['details'] = TimeoutError('no answer')
    assert not loop.poll()
    assert loop.poll()
    assert calls(plugin)[1:] == [
        ('details', {'devices': [MAC_1, MAC_2], 'host': HOST}),
        ('update', {'up': [MAC_1, MAC_2], 'down': [], 'host': HOST})]


def test_devices_the_server_failed_are_sent_again(loop, manager, plugin):
    port = plugin.bind(MAC_1)
    manager.present = {MAC_1}
    plugin.fail_up.add(MAC_1)
    loop.poll()
    assert loop.devices_up == set()
    plugin.fail_up.clear()
    calls(plugin)
    loop.poll()
    assert calls(plugin)[-1] == (
        'update', {'up': [MAC_1], 'down': [], 'host': HOST})
    assert plugin.status[port] == 'ACTIVE'


def test_a_device_back_before_its_down_was_sent_is_new_again(
        loop, manager, plugin):
    plugin.bind(MAC_1)
    manager.present = {MAC_1}
    loop.poll()
    manager.present = set()
    plugin.failures['update'] = TimeoutError('no answer')
    loop.poll()
    manager.present = {MAC_1}
    calls(plugin)
    loop.poll()
    assert calls(plugin) == [
        ('details', {'devices': [MAC_1], 'host': HOST}),
        ('update', {'up': [MAC_1], 'down': [], 'host': HOST})]


def test_the_state_report(loop, manager, plugin, state):
    plugin.bind(MAC_1)
    manager.present = {MAC_1}
    assert loop.report()
    loop.poll()
    assert loop.report()
    (first, first_call), (second, second_call) = state.reports
    assert first_call and second_call
    for report in (first, second):
        assert (report['agent_type'], report['binary'], report['host'],
                report['topic']) == ('Test agent', 'neutron-test-agent',
                                     HOST, 'N/A')
    assert (first['start_flag'], second['start_flag']) == (True, False)
    assert first['configurations'] == {'mappings': {'physnet1': 'x'},
                                       'devices': 0}
    assert second['configurations']['devices'] == 1


def test_start_flag_stays_until_a_report_gets_through(loop, state):
    state.failure = TimeoutError('no server')
    assert not loop.report()
    state.failure = None
    assert loop.report()
    assert [r['start_flag'] for r, _ in state.reports] == [True]


def test_a_revived_agent_sends_everything_again(loop, manager, plugin,
                                                state):
    plugin.bind(MAC_1)
    manager.present = {MAC_1}
    loop.poll()
    calls(plugin)
    state.answer = agent_consts.AGENT_REVIVED
    loop.report()
    loop.poll()
    assert calls(plugin) == [
        ('details', {'devices': [MAC_1], 'host': HOST}),
        ('update', {'up': [MAC_1], 'down': [], 'host': HOST})]


def test_loops_of_two_hosts_in_one_process_report_their_own_host(
        manager, plugin, state):
    other = Manager()
    plugin.bind(MAC_1)
    plugin.bind(MAC_2, host='subset-8')
    manager.present, other.present = {MAC_1}, {MAC_2}
    loops = [agent_loop.AgentLoop(m, host, 1, 1, state_rpc=state,
                                  plugin_rpc=plugin, context='ctx')
             for m, host in ((manager, HOST), (other, 'subset-8'))]
    for each in loops:
        each.poll()
        each.report()
    assert [kwargs['host'] for name, kwargs in plugin.calls] == [
        HOST, HOST, 'subset-8', 'subset-8']
    assert [r['host'] for r, _ in state.reports] == [HOST, 'subset-8']
    assert (loops[0].devices_up, loops[1].devices_up) == ({MAC_1}, {MAC_2})


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'the loop never got there'
        time.sleep(0.01)


def test_the_threads_report_poll_survive_errors_and_stop(
        loop, manager, plugin, state):
    port = plugin.bind(MAC_1)
    manager.present = {MAC_1}
    # A bug in the manager does not end the polling thread.
    broken = threading.Event()

    def configurations():
        if not broken.is_set():
            broken.set()
            raise KeyError('bug')
        return {}
    manager.configurations = configurations
    loop.start()
    try:
        wait_until(lambda: plugin.status.get(port) == 'ACTIVE')
        wait_until(lambda: state.reports)
        manager.failure = RuntimeError('HMC says no')
        wait_until(lambda: manager.failures >= 2)
        manager.failure = None
        manager.present = set()
        wait_until(lambda: plugin.status[port] == 'DOWN')
    finally:
        loop.stop()
    threads = {t.name for t in threading.enumerate()}
    assert not {n for n in threads if n.startswith(loop.agent_id)}
    reports = len(state.reports)
    time.sleep(0.2)
    assert len(state.reports) == reports
