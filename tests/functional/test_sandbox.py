# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox` as a user runs it: a process serving the real Nova
API on a free port, with the DPM host and the two z/VM hosts, stopped by
Ctrl-C with nothing left behind."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

API_HEADERS = {'OpenStack-API-Version': 'compute latest'}


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


@pytest.fixture
def sandbox(tmp_path):
    process = subprocess.Popen(
        [sys.executable, '-m', 'nova_ibmz.cli', 'sandbox', '--port', '0',
         '--state-dir', str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED='1'))
    try:
        output = Output(process.stdout)
        url = output.wait_for(r'^Nova API: ', 120).split(': ', 1)[1]
        yield process, url, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for(url, server_id, status):
    for _ in range(120):
        server = requests.get(f'{url}/servers/{server_id}',
                              headers=API_HEADERS, timeout=10)
        if status == 'gone' and server.status_code == 404:
            return None
        if server.ok and server.json()['server']['status'] == status:
            return server.json()['server']
        time.sleep(0.5)
    pytest.fail(f'server {server_id} not {status}: {server.text}')


def test_sandbox_serves_nova_and_stops_on_ctrl_c(sandbox, tmp_path):
    process, url, output = sandbox
    hypervisors = requests.get(f'{url}/os-hypervisors', headers=API_HEADERS,
                               timeout=10).json()['hypervisors']
    assert sorted(h['hypervisor_hostname'] for h in hypervisors) == [
        'ZVMSIM1', 'ZVMSIM2', 'dpm-subset-1']
    # Each host's configuration, readable in the state directory.
    assert {p.name for p in tmp_path.glob('*.conf')} == {
        'dpm-subset-1.conf', 'zvm-1.conf', 'zvm-2.conf'}

    # A z/VM server from the seeded image, through the API over TCP.
    # (nova's image proxy, which API 2.36 and later no longer has)
    images = requests.get(f'{url}/images', headers={
        'OpenStack-API-Version': 'compute 2.35'}, timeout=10).json()['images']
    [image] = [i for i in images if i['name'] == 'rhel-s390x']
    flavor = requests.post(f'{url}/flavors', headers=API_HEADERS, json={
        'flavor': {'name': 'zvm.small', 'vcpus': 1, 'ram': 2048,
                   'disk': 5}}, timeout=10).json()['flavor']
    created = requests.post(f'{url}/servers', headers=API_HEADERS, json={
        'server': {'name': 'web-1', 'imageRef': image['id'],
                   'flavorRef': flavor['id'], 'networks': 'none'}},
        timeout=10)
    assert created.status_code == 202, created.text
    server = _wait_for(url, created.json()['server']['id'], 'ACTIVE')
    assert server['OS-EXT-SRV-ATTR:host'] in ('zvm-1', 'zvm-2')
    requests.delete(f'{url}/servers/{server["id"]}', headers=API_HEADERS,
                    timeout=10)
    _wait_for(url, server['id'], 'gone')

    # Ctrl-C: everything stops, the process ends.
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    output.wait_for(r'^nova-ibmz sandbox stopped$', 10)
    # One line per API request on the console.
    output.wait_for(r'"GET /v2.1/os-hypervisors HTTP/1.1" 200', 1)
