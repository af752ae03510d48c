# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Neutron side of the tests, in a pytest process of its own (make
test runs `pytest tests/neutron` after the Nova side): nothing here may
load nova, and the run fails if anything did.

The fixture `neutron` is one real neutron-server process for the whole
run (nova_ibmz.neutron.server, started through the sandbox's launcher),
with fake agents of several hosts in it and a stub of Nova's API that
records the port events Neutron sends.
"""

import pathlib
import sys

import pytest

# Before anything imports neutron, whose import leaves eventlet's green
# copies of socketserver and http.server in sys.modules (eventlet.patcher.
# inject): a simulator's server built on those hangs in shutdown().
from nova_ibmz.sim import httpserver  # noqa: F401,I100
from nova_ibmz.sandbox import neutron as launcher
from tests import fake_agent
from tests import stub_nova

REPO = pathlib.Path(__file__).resolve().parents[2]
# physnet3 is known to the server (networks may use it) and mapped by no
# agent.
PHYSNETS = ('physnet1', 'physnet2', 'physnet3')
# Agents report every second; one silent for longer than this is dead.
AGENT_DOWN_SECONDS = 5
AGENTS = {
    # host: (agent type, binary, configurations, reports in all)
    'dpm-subset-1': ('DPM agent', 'neutron-ibmz-dpm-agent',
                     {'adapter_mappings': {'physnet1': ['vswitch-oid-1'],
                                           'physnet2': ['vswitch-oid-2']}},
                     None),
    'dpm-z17': ('DPM agent', 'neutron-ibmz-dpm-agent',
                {'network_port_mappings': {'physnet1': [
                    {'uri': '/api/adapters/nx-1/network-ports/1',
                     'index': 1}]}},
                None),
    'zvm-1': ('z/VM agent', 'neutron-ibmz-zvm-agent',
              {'vswitch_mappings': {'physnet1': 'VSW1',
                                    'physnet2': 'VSW2'}},
              None),
    # Reports once, at start: dead once AGENT_DOWN_SECONDS have passed.
    'dpm-gone': ('DPM agent', 'neutron-ibmz-dpm-agent',
                 {'adapter_mappings': {'physnet1': ['vswitch-oid-1']}}, 1),
}


class Neutron:
    """The running server: its API's URL, its files, the stub Nova."""

    def __init__(self, server, state_dir, nova):
        self.server = server
        self.url = server.url
        self.api = server.url + '/v2.0'
        self.state_dir = state_dir
        self.nova = nova

    def device_up(self, host, port_id):
        """Have the host's fake agent report the port's device up (the
        agent's update_device_up RPC, at its next report)."""
        with open(self.state_dir / f'{host}.up', 'a') as f:
            f.write(port_id + '\n')


@pytest.fixture(scope='session')
def neutron(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp('neutron')
    agents = [
        fake_agent.write(state_dir / f'{host}.json', host=host,
                         agent_type=kind, binary=binary,
                         configurations=configurations, reports=reports,
                         devices_up=str(state_dir / f'{host}.up'))
        for host, (kind, binary, configurations, reports) in AGENTS.items()]
    with stub_nova.serve() as nova:
        config = launcher.write_config(
            state_dir / 'neutron.conf', state_dir,
            physical_networks=PHYSNETS, nova_url=nova.endpoint,
            nova_token='stub-admin-token', agents=agents,
            overrides={'DEFAULT': {
                'agent_down_time': str(AGENT_DOWN_SECONDS)}})
        with launcher.NeutronServer(
                config, env={'PYTHONPATH': str(REPO)}) as server:
            yield Neutron(server, state_dir, nova)


def pytest_sessionfinish(session):
    loaded = sorted(m for m in sys.modules
                    if m == 'nova' or m.startswith('nova.'))
    if loaded:
        print(f'\nThe Neutron side loaded nova: {loaded[:5]}',
              file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
