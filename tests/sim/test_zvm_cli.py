# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sim zvm` as a process: its lines, its members, SIGTERM, its
state dir.

The simulator runs as `python -m nova_ibmz.cli` in a subprocess and is
reached over HTTP(S) as a driver reaches it: a token for the admin token
in the printed file, then the REST API.
"""

import contextlib
import os
import pathlib
import re
import select
import signal
import socket
import stat
import subprocess
import time

import pytest
import requests

from tests.sim import cli

MEMBER = re.compile(r'z/VM Cloud Connector simulator (ZVMSIM\d): '
                    r'(https?://127\.0\.0\.1:(\d+))(?:  CA file: (.+))?')
TOKEN_FILE = re.compile(r'Admin token file: (.+)')


def command(*args):
    return cli.command('zvm', *args)


def read_lines(stream, count, timeout):
    """The first count lines of an unbuffered pipe (a buffered one would
    hide from select what it has read ahead), or AssertionError after
    timeout."""
    data = b''
    deadline = time.monotonic() + timeout
    while data.count(b'\n') < count:
        ready, _, _ = select.select([stream], [], [],
                                    max(0, deadline - time.monotonic()))
        assert ready, f'no {count} lines within {timeout} s: {data!r}'
        chunk = os.read(stream.fileno(), 4096)
        assert chunk, f'output ended: {data!r}'
        data += chunk
    return data.decode().splitlines()


class Simulator:
    """A running `nova-ibmz sim zvm` and what its lines say."""

    def __init__(self, process, members, token_file):
        self.process = process
        self.members = members          # name: (url, CA file or None)
        self.token_file = token_file

    def call(self, name, method, path, body=None):
        """The output of a request to a member that must succeed, with a
        token for the admin token in the printed file when auth is on."""
        url, ca_file = self.members[name]
        verify = str(ca_file) if ca_file else True
        headers = {}
        if self.token_file:
            admin_token = self.token_file.read_text().strip()
            reply = requests.post(url + '/token', verify=verify, timeout=10,
                                  headers={'X-Admin-Token': admin_token})
            headers['X-Auth-Token'] = reply.headers['X-Auth-Token']
        reply = requests.request(method, url + path, json=body,
                                 headers=headers, verify=verify, timeout=30)
        assert (reply.status_code, reply.json()['overallRC']) == (200, 0), \
            reply.text
        return reply.json()['output']

    def stop(self):
        """SIGTERM ends the simulator quickly, cleanly, with exit code 0."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        stdout, stderr = self.process.communicate(timeout=5)
        stderr = stderr.decode()
        assert self.process.returncode == 0, stderr
        assert stdout == b'', stdout     # nothing after the lines
        assert 'Traceback' not in stderr, stderr
        assert time.monotonic() - started < 5


@contextlib.contextmanager
def simulator(*args, members=1, auth=True):
    """The simulator on free ports, killed at the end if still running."""
    port = cli.free_ports(members)
    process = subprocess.Popen(
        command('--port', str(port), '--members', str(members), *args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    try:
        lines = read_lines(process.stdout, members + auth, cli.STARTUP_SECONDS)
        assert len(lines) == members + auth, lines
        found = {}
        for n, line in enumerate(lines[:members]):
            match = MEMBER.fullmatch(line)
            assert match, f'line {line!r}, exit code {process.poll()}'
            name, url, url_port, ca_file = match.groups()
            assert (name, int(url_port)) == (f'ZVMSIM{n + 1}', port + n)
            found[name] = (url, ca_file and pathlib.Path(ca_file))
        token_file = None
        if auth:
            match = TOKEN_FILE.fullmatch(lines[-1])
            assert match, f'line {lines[-1]!r}'
            token_file = pathlib.Path(match.group(1))
        yield Simulator(process, found, token_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()
        process.stderr.close()


def test_two_members_served_and_temporary_state_removed():
    """--members 2: one line per member on P and P+1 over HTTP, then the
    token file; each member answers as its own system with a token from
    that file (mode 0600); without --state-dir it all goes at exit."""
    with simulator(members=2) as sim:
        assert set(sim.members) == {'ZVMSIM1', 'ZVMSIM2'}
        assert all(url.startswith('http://') and ca is None
                   for url, ca in sim.members.values())
        state_dir = sim.token_file.parent
        assert 'nova-ibmz-zvm-sim-' in state_dir.name
        assert stat.S_IMODE(sim.token_file.stat().st_mode) == 0o600
        for name in sim.members:
            host = sim.call(name, 'GET', '/host')
            assert (host['hypervisor_hostname'], host['zvm_host']) == \
                (name, name)
        ssi = sim.call('ZVMSIM2', 'GET', '/host/ssi')
        assert 'member_system_id = ZVMSIM1' in ssi
        sim.stop()
    assert not state_dir.exists()


def test_auth_none_needs_no_token(tmp_path):
    """--auth none: no token file line, no token file, and requests
    without a token are answered."""
    with simulator('--auth', 'none', '--state-dir', str(tmp_path),
                   auth=False) as sim:
        assert sim.call('ZVMSIM1', 'GET', '/host')['hypervisor_hostname'] \
            == 'ZVMSIM1'
        sim.stop()
    assert not (tmp_path / 'admin-token').exists()


def test_tls_and_restart_keep_state_token_and_ca(tmp_path):
    """--tls --state-dir: HTTPS verified with the printed CA file; a guest
    created through member 1 is there after a restart, with the same
    admin token and CA; the state of two members refuses --members 1."""
    state_dir = tmp_path / 'state'
    with simulator('--tls', '--state-dir', str(state_dir), members=2) as sim:
        url, ca_file = sim.members['ZVMSIM1']
        assert url.startswith('https://')
        assert ca_file == state_dir / 'ca.pem'
        assert sim.token_file == state_dir / 'admin-token'
        token = sim.token_file.read_bytes()
        ca = ca_file.read_bytes()
        sim.call('ZVMSIM1', 'POST', '/guests', {'guest': {
            'userid': 'KEPT1', 'vcpus': 1, 'memory': 1024,
            'disk_list': [{'size': '1g', 'is_boot_disk': True}]}})
        sim.stop()
    assert (state_dir / 'zvm-state.json').is_file()

    with simulator('--tls', '--state-dir', str(state_dir), members=2) as sim:
        assert sim.token_file.read_bytes() == token
        assert sim.members['ZVMSIM1'][1].read_bytes() == ca
        assert sim.call('ZVMSIM1', 'GET', '/guests') == ['KEPT1']
        assert sim.call('ZVMSIM2', 'GET', '/guests') == []
        assert sim.call('ZVMSIM1', 'GET', '/host/guests') == ['KEPT1']
        sim.stop()

    assert 'nova-ibmz sim zvm: error: --members:' in cli.refused(
        'zvm', '--port', str(cli.free_ports(1)), '--state-dir', str(state_dir))


def test_imported_image_file_survives_restart(tmp_path):
    """An image imported from a file:// URL is listed after a restart
    with --state-dir, and its file stays in the state dir's images/."""
    images = pytest.importorskip('nova_ibmz.sim.zvm.images')
    state_dir = tmp_path / 'state'
    source = tmp_path / 'rhel.img'
    source.write_bytes(images.header(3338) + b'root disk data')
    with simulator('--state-dir', str(state_dir)) as sim:
        sim.call('ZVMSIM1', 'POST', '/images', {'image': {
            'image_name': 'rhel92', 'url': source.as_uri(),
            'image_meta': {'os_version': 'rhel9.2'}}})
        sim.stop()
    with simulator('--state-dir', str(state_dir)) as sim:
        assert sim.call('ZVMSIM1', 'GET', '/images/rhel92/root_disk_size') \
            == '3338'
        records = sim.call('ZVMSIM1', 'GET', '/images?imagename=rhel92')
        assert [r['last_access_time'] != -1 for r in records] == [True]
        sim.stop()
    kept = [p.read_bytes() for p in (state_dir / 'images').iterdir()]
    assert kept == [source.read_bytes()]


@pytest.mark.parametrize('args, option', [
    (['--members', '0'], '--members'),
    (['--members', '5'], '--members'),
    (['--port', '70000'], '--port'),
    (['--port', '65535', '--members', '2'], '--port'),
    (['--auth', 'basic'], '--auth'),
    (['--token-ttl', '0'], '--token-ttl'),
    (['--latency-ms', '-1'], '--latency-ms'),
    (['--latency-ms', 'nan'], '--latency-ms'),
])
def test_bad_arguments(tmp_path, args, option):
    """A bad option value: exit code 2, a usage error naming the option,
    and nothing served or written."""
    state_dir = tmp_path / 'state'
    assert option in cli.refused('zvm', '--port', str(cli.free_ports(1)),
                                 '--state-dir', str(state_dir), *args)
    assert not state_dir.exists()


def test_port_in_use(tmp_path):
    """Member 2's port taken by another process: a usage error naming
    --port, not a traceback."""
    port = cli.free_ports(2)
    with socket.socket() as other:
        other.bind(('127.0.0.1', port + 1))
        other.listen()
        stderr = cli.refused('zvm', '--port', str(port), '--members', '2')
    assert f'error: --port: cannot listen on 127.0.0.1:{port + 1}' in \
        stderr
