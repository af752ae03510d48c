# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox` as a user runs it: a process serving the real Nova
API on a free port, with the DPM host and the two z/VM hosts, its state
directory given relative to its own working directory, used through the
stock `openstack` client from another directory and through the demo
tour, its periodic tasks noticing what changes behind Nova's back, and
stopped with nothing left behind.  (`make demo` is tested in
test_readme.py.)"""

import contextlib
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
import zhmcclient

from nova_ibmz.sandbox import run
from nova_ibmz.sandbox import seed

OPENSTACK = shutil.which('openstack',
                         path=os.path.dirname(sys.executable))
DEMO_STEPS = 17


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
    """`nova-ibmz sandbox --port 0 --state-dir state` in a child process
    working in directory, with its output lines; its state directory is
    directory / 'state'."""

    def __init__(self, directory):
        self.state_dir = directory / 'state'
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'nova_ibmz.cli', 'sandbox', '--port', '0',
             '--state-dir', 'state'], cwd=directory,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED='1'))
        self.output = Output(self.process.stdout)
        self.output.wait_for(r'^Nova API: ', 120)
        self.endpoints = json.loads(
            (self.state_dir / 'sandbox.json').read_text())

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def ports_of(endpoints):
    """Every TCP port a sandbox serves, from its sandbox.json: the API's
    and the simulators'."""
    urls = [endpoints['api']] + [
        url for url, _ in endpoints['request_logs'].values()]
    return [parse.urlsplit(url).port for url in urls]


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
    """The stock openstack client on the sandbox's clouds.yaml, in this
    process's working directory (not the sandbox's); its JSON output, or
    its text for a command without -f json."""
    done = subprocess.run(
        [OPENSTACK, '--os-cloud', 'ibmz-sandbox', *args],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ,
                 OS_CLIENT_CONFIG_FILE=str(state_dir / 'clouds.yaml')))
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return json.loads(done.stdout) if '-f' in args else done.stdout


def paths_in(state):
    """Every path the sandbox wrote into its files: the hosts' and the
    agents' .conf options that name files, sandbox.json's, clouds.yaml's
    identity URL (which names no path, but must be absolute too)."""
    paths = [line.split(' = ', 1)[1]
             for conf in state.glob('*.conf')
             for line in conf.read_text().splitlines()
             if re.match(r'(hmc_ca_file|admin_token_file|image_tmp_path) ',
                         line)]
    endpoints = json.loads((state / 'sandbox.json').read_text())
    paths.append(endpoints['clouds_yaml'])
    paths += [ca for _, ca in endpoints['request_logs'].values() if ca]
    return paths


def test_the_openstack_client_boots_on_both_drivers(sandbox):
    state = sandbox.state_dir
    hypervisors = openstack(state, 'hypervisor', 'list', '-f', 'json')
    assert sorted(h['Hypervisor Hostname'] for h in hypervisors) == [
        'ZVMSIM1', 'ZVMSIM2', 'dpm-subset-1']
    # Each host's configuration and its network agent's, readable in the
    # state directory, with absolute paths though the state directory was
    # given relative.
    assert {p.name for p in state.glob('*.conf')} == {
        'dpm-subset-1.conf', 'zvm-1.conf', 'zvm-2.conf',
        'dpm-subset-1-agent.conf', 'zvm-1-agent.conf', 'zvm-2-agent.conf'}
    paths = paths_in(state)
    # hmc_ca_file of the DPM host and agent, admin_token_file of the z/VM
    # hosts and agents, two image_tmp_path, clouds.yaml, the HMC's CA file
    # in sandbox.json
    assert len(paths) == 10
    assert all(path.startswith(f'{state}/') for path in paths), paths
    assert 'auth_url: http://127.0.0.1:' in (
        state / 'clouds.yaml').read_text()

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
    assert_nothing_listens(ports_of(sandbox.endpoints))
    # Glance, a process of its own, ended with it: gunicorn's last line.
    assert (state / 'glance' / 'glance.log').read_text().rstrip().endswith(
        'Shutting down: Master')
    # One line per API request on the console; nova's log in the file.
    sandbox.output.wait_for(r'"GET /v2.1/os-hypervisors/detail HTTP/1.1" '
                            r'200', 1)
    assert 'Took' in (state / 'nova.log').read_text()


def demo_rows(lines):
    """{step: (host, result, {column: requests})} from the demo's table;
    the columns are 'HMC req', 'z/VM req', 'HMC periodic', 'z/VM
    periodic'."""
    rows = {}
    head = None
    for line in lines:
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) == 8 and cells[0] == 'step':
            head = cells
        elif len(cells) == 8 and head:
            step, host, _, result = cells[:4]
            rows[step] = (host, result, {
                column: int(count)
                for column, count in zip(head[4:], cells[4:])})
    return rows


@contextlib.contextmanager
def dpm_cpc(sandbox):
    """The DPM host's CPC through zhmcclient, as its <host>.conf says."""
    conf = (sandbox.state_dir / 'dpm-subset-1.conf').read_text()
    options = dict(re.findall(r'^(\w+) = (.*)$', conf, re.M))
    host, port = options['hmc'].split(':')
    session = zhmcclient.Session(host, options['hmc_username'],
                                 options['hmc_password'], port=int(port),
                                 verify_cert=options['hmc_ca_file'])
    try:
        yield zhmcclient.Client(session).cpcs.find(
            **{'object-id': options['cpc_object_id']})
    finally:
        session.logoff()


def stop_behind_novas_back(sandbox, vm, lpar):
    """Log the z/VM guest off and stop the partition through the
    simulators' test controls, as an operator at the console would."""
    userid = vm['OS-EXT-SRV-ATTR:instance_name'].upper()
    zvm_url, _ = sandbox.endpoints['request_logs'][
        vm['OS-EXT-SRV-ATTR:host']]
    requests.post(f'{zvm_url}/_sim/guest-state',
                  json={'userid': userid, 'state': 'off'},
                  timeout=10).raise_for_status()
    with dpm_cpc(sandbox) as cpc:
        [partition] = [p for p in cpc.partitions.list()
                       if lpar['id'] in p.name]
        hmc_url, ca_file = sandbox.endpoints['request_logs']['hmc']
        requests.post(f'{hmc_url}/_sim/properties', json={
            'uri': partition.uri, 'properties': {'status': 'stopped'}},
            verify=ca_file, timeout=10).raise_for_status()


def test_nova_notices_servers_stopped_behind_its_back(sandbox):
    """The power-state sync runs every run.PERIODIC_SECONDS, as the README
    says: a guest and a partition stopped on the hypervisor show SHUTOFF
    after its next run (waited for a few intervals, for a loaded
    machine; Nova's default interval is 600 s)."""
    state = sandbox.state_dir
    vm = openstack(state, 'server', 'create', '--image', seed.IMAGE_NAME,
                   '--flavor', seed.SMALL_FLAVOR, '--network',
                   seed.FLAT.name, '--wait', '-f', 'json', 'vm1')
    lpar = openstack(state, 'server', 'create', '--volume',
                     seed.BOOT_VOLUME, '--flavor', seed.SMALL_FLAVOR,
                     '--network', seed.FLAT.name, '--wait', '-f', 'json',
                     'lpar1')
    assert vm['status'] == lpar['status'] == 'ACTIVE'
    stop_behind_novas_back(sandbox, vm, lpar)
    deadline = time.monotonic() + 4 * run.PERIODIC_SECONDS
    shown = {}
    while time.monotonic() < deadline:
        shown = {s['Name']: s['Status'] for s in
                 openstack(state, 'server', 'list', '-f', 'json')}
        if shown == {'vm1': 'SHUTOFF', 'lpar1': 'SHUTOFF'}:
            break
        time.sleep(1)
    assert shown == {'vm1': 'SHUTOFF', 'lpar1': 'SHUTOFF'}
    log = (state / 'nova.log').read_text()
    assert log.count('Instance shutdown by itself') == 2
    # The sync's requests, and the resource audit's, count as periodic.
    counts = requests.get(sandbox.endpoints['requests'], timeout=10).json()
    assert all(counts[name]['periodic'] > 0 for name in counts), counts


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
    assert rows['delete all servers and networks'][1] == 'ok'
    assert openstack(sandbox.state_dir, 'server', 'list', '-f', 'json') == []
    assert re.search(rf'demo FAILED: {DEMO_STEPS} steps', demo.stdout)


def wait_for_status(state, name, status, seconds=120):
    """`openstack server show` of name, once it shows status."""
    deadline = time.monotonic() + seconds
    while True:
        server = openstack(state, 'server', 'show', '-f', 'json', name)
        if server['status'] == status or time.monotonic() > deadline:
            return server
        time.sleep(1)


def test_an_outage_in_a_build_leaves_nothing_once_it_ends(sandbox):
    """The HMC goes away at the first NIC of a DPM boot, the Cloud
    Connectors at the deploy of a z/VM boot: both servers end in ERROR
    with the step that failed in their fault.  Once the outages end,
    Nova's periodic resource audit (every run.PERIODIC_SECONDS; waited
    for a few intervals, for a loaded machine) removes the partition and
    the guest, without a user action; the next boots work."""
    state = sandbox.state_dir
    hmc_url, ca_file = sandbox.endpoints['request_logs']['hmc']
    zvm_url, _ = sandbox.endpoints['request_logs']['zvm-1']
    outages = [(hmc_url, ca_file, 'POST', r'/nics$'),
               (zvm_url, True, 'POST', r'^/guests/[^/]+/action$')]
    for url, verify, method, path in outages:
        requests.post(f'{url}/_sim/faults', json={
            'method': method, 'path': path, 'times': 1, 'outage_s': 3600},
            verify=verify, timeout=10).raise_for_status()
    openstack(state, 'server', 'create', '--volume', seed.BOOT_VOLUME,
              '--flavor', seed.SMALL_FLAVOR, '--network', seed.FLAT.name,
              'lpar1')
    openstack(state, 'server', 'create', '--image', seed.IMAGE_NAME,
              '--flavor', seed.SMALL_FLAVOR, '--network', seed.FLAT.name,
              'vm1')
    lpar = wait_for_status(state, 'lpar1', 'ERROR')
    vm = wait_for_status(state, 'vm1', 'ERROR')
    assert re.search(r'HMC 127\.0\.0\.1:\d+: creating NIC OpenStack_Port_'
                     r'\S+ of OpenStack-dpm-subset-1-\S+ failed: ',
                     lpar['fault']['message']), lpar['fault']
    assert re.search(r'http://127\.0\.0\.1:\d+: POST /guests/OS[0-9A-F]+/'
                     r'action failed: ', vm['fault']['message']), vm['fault']
    # The HMC cannot be asked while it is away: its host's record says.
    assert list(leftovers(state, 'dpm-dpm-subset-1')) == [
        f'partition OpenStack-dpm-subset-1-{lpar["id"]}']
    assert len(zvm_guests(sandbox)) == 1
    for url, verify, _, _ in outages:
        requests.delete(f'{url}/_sim/faults', verify=verify,
                        timeout=10).raise_for_status()
    deadline = time.monotonic() + 4 * run.PERIODIC_SECONDS
    while ours(sandbox) != (0, 0) and time.monotonic() < deadline:
        time.sleep(1)
    assert ours(sandbox) == (0, 0)
    assert leftovers(state, 'dpm-dpm-subset-1') == {}
    openstack(state, 'server', 'delete', '--wait', 'vm1', 'lpar1')
    for name, source in (('vm2', ['--image', seed.IMAGE_NAME]),
                         ('lpar2', ['--volume', seed.BOOT_VOLUME])):
        server = openstack(state, 'server', 'create', *source, '--flavor',
                           seed.SMALL_FLAVOR, '--network', seed.FLAT.name,
                           '--wait', '-f', 'json', name)
        assert server['status'] == 'ACTIVE'


def zvm_guests(sandbox):
    """The guests of the sandbox's cluster, which has no guest of another
    workload (its test controls answer also while the connectors are
    away)."""
    zvm_url, _ = sandbox.endpoints['request_logs']['zvm-1']
    return requests.get(f'{zvm_url}/_sim/state', timeout=10).json()['guests']


def ours(sandbox):
    """(partitions of the DPM host, guests) on the simulators."""
    with dpm_cpc(sandbox) as cpc:
        partitions = cpc.partitions.list(
            filter_args={'name': 'OpenStack-dpm-subset-1-.*'})
    return len(partitions), len(zvm_guests(sandbox))


def leftovers(state, name):
    """What the compute host of name ("dpm-<host>", "zvm-<host>") has
    recorded to remove once its hypervisor answers."""
    path = state / 'nova' / 'nova-ibmz' / f'{name}-leftovers.json'
    return json.loads(path.read_text())['leftovers'] if path.exists() else {}
