# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox` as a user runs it: a process serving the real Nova
API on a free port, with the DPM host and the two z/VM hosts, used through
the stock `openstack` client and the --demo tour, and stopped with nothing
left behind."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib import parse

import pytest
import requests

from nova_ibmz.sandbox import seed

OPENSTACK = shutil.which('openstack',
                         path=os.path.dirname(sys.executable))
DEMO_STEPS = 16


class Output:
    """The process's output lines, read as they come by a thread."""

    def __init__(self, stream):
        self.lines = []
        threading.Thread(target=self._read, args=(stream,),
                         daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.rstrip('\n'))

    def wait_for(self, pattern, seconds):
        """The first line matching pattern."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [line for line in self.lines if re.search(pattern, line)]
            if found:
                return found[0]
            time.sleep(0.2)
        pytest.fail(f'no line matching {pattern!r} in {seconds} s: '
                    f'{self.lines}')


class Sandbox:
    """`nova-ibmz sandbox --port 0 --state-dir DIR [args]` in a child
    process, with its output lines."""

    def __init__(self, state_dir, *args):
        self.state_dir = state_dir
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'nova_ibmz.cli', 'sandbox', '--port', '0',
             '--state-dir', str(state_dir), *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED='1'))
        self.output = Output(self.process.stdout)
        self.output.wait_for(r'^Nova API: ', 120)
        self.endpoints = json.loads(
            (state_dir / 'sandbox.json').read_text())

    def ports(self):
        """Every TCP port the sandbox serves: the API's and the
        simulators'."""
        urls = [self.endpoints['api']] + [
            url for url, _ in self.endpoints['request_logs'].values()]
        return [parse.urlsplit(url).port for url in urls]

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def assert_nothing_listens(ports):
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(('127.0.0.1', port)) != 0, port


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(tmp_path)
    yield box
    box.kill()


def openstack(state_dir, *args):
    """The stock openstack client on the sandbox's clouds.yaml; its JSON
    output, or its text for a command without -f json."""
    done = subprocess.run(
        [OPENSTACK, '--os-cloud', 'ibmz-sandbox', *args],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ,
                 OS_CLIENT_CONFIG_FILE=str(state_dir / 'clouds.yaml')))
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return json.loads(done.stdout) if '-f' in args else done.stdout


def test_the_openstack_client_boots_on_both_drivers(sandbox):
    state = sandbox.state_dir
    hypervisors = openstack(state, 'hypervisor', 'list', '-f', 'json')
    assert sorted(h['Hypervisor Hostname'] for h in hypervisors) == [
        'ZVMSIM1', 'ZVMSIM2', 'dpm-subset-1']
    # Each host's configuration, readable in the state directory.
    assert {p.name for p in state.glob('*.conf')} == {
        'dpm-subset-1.conf', 'zvm-1.conf', 'zvm-2.conf'}

    # z/VM from the seeded image on the VLAN network; DPM from the seeded
    # FC volume on both networks.  Names resolve through the sandbox's
    # image, network and volume endpoints.
    vm = openstack(state, 'server', 'create', '--image', seed.IMAGE_NAME,
                   '--flavor', 'z1.small', '--network', seed.VLAN.name,
                   '--wait', '-f', 'json', 'vm1')
    lpar = openstack(state, 'server', 'create', '--volume', seed.BOOT_VOLUME,
                     '--flavor', 'z1.small', '--network', seed.FLAT.name,
                     '--network', seed.VLAN.name, '--wait', '-f', 'json',
                     'lpar1')
    assert vm['status'] == lpar['status'] == 'ACTIVE'
    assert vm['OS-EXT-SRV-ATTR:host'] in ('zvm-1', 'zvm-2')
    assert lpar['OS-EXT-SRV-ATTR:host'] == 'dpm-subset-1'
    listed = openstack(state, 'server', 'list', '-f', 'json')
    assert {(s['Name'], s['Status']) for s in listed} == {
        ('vm1', 'ACTIVE'), ('lpar1', 'ACTIVE')}
    [address] = vm['addresses'][seed.VLAN.name]
    assert address.startswith('10.20.0.')

    # The guest's console, and the partition's: its kernel command line
    # carries each NIC's device number, port and MAC for the image tools.
    assert 'vm1 login:' in openstack(state, 'console', 'log', 'show', 'vm1')
    ports = json.loads(requests.get(
        f'{sandbox.endpoints["api"]}/network/v2.0/ports',
        params={'device_id': lpar['id']}, timeout=10).text)['ports']
    macs = {p['mac_address'].replace(':', '') for p in ports}
    command_line = re.search(
        r'Kernel command line: (.*)',
        openstack(state, 'console', 'log', 'show', 'lpar1')).group(1)
    assert {entry.split(',')[2] for entry in
            command_line.strip(';').split(';')} == macs
    assert {p['binding:vif_type'] for p in ports} == {'dpm_vswitch'}

    # The other commands the banner shows: live migration to the other
    # SSI member, a volume attached and detached.
    openstack(state, 'server', 'migrate', '--live-migration', '--wait',
              'vm1')
    moved = openstack(state, 'server', 'show', '-f', 'json', 'vm1')
    assert moved['OS-EXT-SRV-ATTR:host'] in ('zvm-1', 'zvm-2')
    assert moved['OS-EXT-SRV-ATTR:host'] != vm['OS-EXT-SRV-ATTR:host']
    openstack(state, 'server', 'add', 'volume', 'vm1', seed.DATA_VOLUMES[0])
    [volume] = openstack(state, 'volume', 'list', '-f', 'json', '--name',
                         seed.DATA_VOLUMES[0])
    assert volume['Status'] == 'in-use'
    openstack(state, 'server', 'remove', 'volume', 'vm1',
              seed.DATA_VOLUMES[0])

    openstack(state, 'server', 'delete', '--wait', 'vm1', 'lpar1')
    assert openstack(state, 'server', 'list', '-f', 'json') == []

    # Ctrl-C: everything stops, the process ends, no port stays open.
    sandbox.process.send_signal(signal.SIGINT)
    assert sandbox.process.wait(timeout=60) == 0
    sandbox.output.wait_for(r'^nova-ibmz sandbox stopped$', 10)
    assert_nothing_listens(sandbox.ports())
    # One line per API request on the console; nova's log in the file.
    sandbox.output.wait_for(r'"GET /v2.1/os-hypervisors/detail HTTP/1.1" '
                            r'200', 1)
    assert 'Took' in (state / 'nova.log').read_text()


def demo_rows(lines):
    """{step: (host, result, HMC requests, z/VM requests)} from the demo's
    table."""
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) == 6 and cells[0] != 'step':
            step, host, _, result, hmc, zvm = cells
            rows[step] = (host, result, int(hmc), int(zvm))
    return rows


def test_the_demo_tours_both_drivers_and_stops(tmp_path):
    box = Sandbox(tmp_path, '--demo')
    try:
        assert box.process.wait(timeout=600) == 0, box.output.lines
    finally:
        box.kill()
    box.output.wait_for(r'^nova-ibmz sandbox stopped$', 10)
    box.output.wait_for(rf'^demo passed: {DEMO_STEPS} steps', 1)
    rows = demo_rows(box.output.lines)
    assert len(rows) == DEMO_STEPS
    assert {result for _, result, _, _ in rows.values()} == {'ok'}
    # Each step is served by the driver it names, and costs requests on
    # that driver's simulator only.
    for step, (host, _, hmc, zvm) in rows.items():
        if 'DPM' in step:
            assert host == 'dpm-subset-1' and hmc > 0 and zvm == 0, step
        elif 'z/VM' in step:
            assert host in ('zvm-1', 'zvm-2') and zvm > 0 and hmc == 0, step
    before, _, _, _ = rows['resize to z1.medium and confirm (z/VM)']
    after, _, _, _ = rows['live-migrate to the other SSI member (z/VM)']
    assert before != after
    assert_nothing_listens(box.ports())


def test_a_failed_demo_step_fails_the_demo_and_cleans_up(sandbox):
    """The HMC refuses to create partitions: the DPM steps fail, the z/VM
    steps pass, every server is deleted, and the exit code is 1."""
    hmc_url, ca_file = sandbox.endpoints['request_logs']['hmc']
    requests.post(f'{hmc_url}/_sim/faults', json={
        'method': 'POST', 'path': r'/partitions$', 'status': 500,
        'message': 'simulated HMC failure'},
        verify=ca_file, timeout=10).raise_for_status()
    demo = subprocess.run(
        [sys.executable, '-m', 'nova_ibmz.sandbox.demo',
         str(sandbox.state_dir)], capture_output=True, text=True,
        timeout=600)
    assert demo.returncode == 1, demo.stdout
    rows = demo_rows(demo.stdout.splitlines())
    assert rows['boot on DPM from an FC volume'][1].startswith('FAILED')
    assert rows['boot on z/VM from an image'][1] == 'ok'
    assert rows['delete all servers'][1] == 'ok'
    assert openstack(sandbox.state_dir, 'server', 'list', '-f', 'json') == []
    assert re.search(rf'demo FAILED: {DEMO_STEPS} steps', demo.stdout)
