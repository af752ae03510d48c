# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Nova side's launcher of a real neutron-server
(nova_ibmz/sandbox/neutron.py), from this Nova-side test process: it
loads no neutron here, starts the server's process and waits for it,
stops it with SIGTERM (exit code 0), and says why when it cannot start.
Neutron's notifications reach a stub Nova here, without a token."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import requests

from nova_ibmz.sandbox import neutron
from tests import fake_agent
from tests import stub_nova
from tests.unit import test_boundaries

REPO = test_boundaries.REPO


def test_the_launcher_loads_no_neutron():
    boundary = test_boundaries.Boundary(
        packages=('nova_ibmz.sandbox.neutron',),
        forbidden=('neutron', 'neutron_lib', 'nova_ibmz.neutron'),
        why='a Nova process starts the neutron-server process with it')
    assert test_boundaries.static_violations(boundary) == []
    imported, violations = test_boundaries.dynamic_violations(boundary)
    assert (imported, violations) == (['nova_ibmz.sandbox.neutron'], [])


def test_serves_notifies_nova_without_a_token_and_stops(tmp_path):
    agents = [fake_agent.write(
        tmp_path / 'zvm-1.json', host='zvm-1', agent_type='z/VM agent',
        binary='neutron-ibmz-zvm-agent',
        configurations={'vswitch_mappings': {'physnet1': 'VSW1'}},
        devices_up=str(tmp_path / 'zvm-1.up'))]
    with stub_nova.serve() as nova:
        config = neutron.write_config(
            tmp_path / 'neutron.conf', tmp_path,
            physical_networks=['physnet1'], nova_url=nova.endpoint,
            agents=agents)
        assert os.stat(config).st_mode & 0o777 == 0o600
        server = neutron.NeutronServer(config,
                                       env={'PYTHONPATH': str(REPO)})
        url = server.start()
        try:
            api = url + '/v2.0'
            network = requests.post(f'{api}/networks', json={'network': {
                'name': 'vlan-7', 'project_id': 'p',
                'provider:network_type': 'vlan',
                'provider:physical_network': 'physnet1',
                'provider:segmentation_id': 7}}).json()['network']
            instance = str(uuid.uuid4())
            port = requests.post(f'{api}/ports', json={'port': {
                'network_id': network['id'], 'project_id': 'p',
                'binding:host_id': 'zvm-1', 'device_owner': 'compute:nova',
                'device_id': instance}}).json()['port']
            assert port['binding:vif_type'] == 'zvm'
            assert (port['binding:vif_details']['vswitch'],
                    port['binding:vif_details']['vlan']) == ('VSW1', 7)
            (tmp_path / 'zvm-1.up').write_text(port['id'])
            event = nova.wait_for('network-vif-plugged', port['id'])
        finally:
            code = server.stop()
    assert event['server_uuid'] == instance
    # auth_type none: keystoneauth's placeholder, no real token.
    assert nova.posts[-1]['headers']['X-Auth-Token'] == 'notused'
    assert code == 0
    log = (tmp_path / 'neutron.log').read_text()
    assert 'Traceback' not in log
    assert 'stopping' in log


def refused(server):
    """The RuntimeError's message of a server that does not start."""
    try:
        server.start()
    except RuntimeError as error:
        assert server.url is None
        return str(error)
    server.stop()
    raise AssertionError('it started')


def test_an_agent_that_cannot_start_stops_the_server(tmp_path):
    config = neutron.write_config(
        tmp_path / 'neutron.conf', tmp_path,
        agents=[('tests.no_such_agent:Agent', str(tmp_path / 'a.json'))])
    message = refused(neutron.NeutronServer(
        config, env={'PYTHONPATH': str(REPO)}))
    assert message.startswith('neutron-server did not start (exit code 1)')
    assert "No module named 'tests.no_such_agent'" in message


def test_a_port_in_use_stops_the_server(tmp_path):
    config = neutron.write_config(tmp_path / 'neutron.conf', tmp_path)
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        message = refused(neutron.NeutronServer(
            config, port=taken.getsockname()[1]))
    assert message.startswith('neutron-server did not start (exit code 1)')
    assert 'Address already in use' in message


LAUNCHER = '''
import sys
from nova_ibmz.sandbox import neutron
server = neutron.NeutronServer(sys.argv[1])
server.start()
print(server.process.pid, flush=True)
sys.stdin.read()
'''


def test_the_server_ends_with_the_process_that_started_it(tmp_path):
    config = neutron.write_config(tmp_path / 'neutron.conf', tmp_path)
    launcher = subprocess.Popen(
        [sys.executable, '-c', LAUNCHER, str(config)], cwd=REPO,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(launcher.stdout.readline())
    try:
        launcher.kill()     # no chance to stop the server itself
        launcher.wait()
        deadline = time.monotonic() + 60
        while os.path.exists(f'/proc/{pid}') and _state(pid) != 'Z':
            assert time.monotonic() < deadline, 'the server lives on'
            time.sleep(0.2)
    finally:
        launcher.stdin.close()
        launcher.stdout.close()
        if os.path.exists(f'/proc/{pid}') and _state(pid) != 'Z':
            os.kill(pid, signal.SIGKILL)
    assert 'stopping' in (tmp_path / 'neutron.log').read_text()


def _state(pid):
    """A process's state letter (Z: ended, waiting for its parent)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rpartition(')')[2].split()[0]
    except OSError:
        return 'Z'
