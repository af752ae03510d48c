# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox --scale-out` as a user runs it: the console names the
mode and every service's process and log, the stock openstack client
works through its clouds.yaml, and Ctrl-C ends every process it started.
A broker or database that does not answer stops it at once, in one line
naming the option, without the password."""

import os
import re
import signal
import subprocess
import sys

from tests.functional.test_sandbox import Output
from tests.functional.test_sandbox import openstack

START_SECONDS = 300


def _sandbox(state_dir, *args):
    return subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), 'nova-ibmz'),
         'sandbox', '--port', '0', '--state-dir', str(state_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def _processes_naming(directory):
    """The pids of processes whose command line or environment names
    directory (every service the sandbox starts has its files there)."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                text = f.read()
            with open(f'/proc/{entry}/environ', 'rb') as f:
                text += f.read()
        except OSError:
            continue
        if str(directory).encode() in text and _alive(entry):
            found.append(int(entry))
    return found


def test_console_client_and_ctrl_c(tmp_path):
    state = tmp_path / 'state'
    process = _sandbox(state, '--scale-out', '--dpm-hosts', '1',
                       '--zvm-hosts', '1')
    output = Output(process.stdout)
    try:
        output.wait_for('scale-out mode', 30)
        output.wait_for(r'ready in', START_SECONDS)
        services = {}
        for line in output.lines:
            match = re.fullmatch(r'  (\S+) \(pid (\d+)\): (\S+)', line)
            if match:
                services[match[1]] = (int(match[2]), match[3])
        assert {'rabbitmq-server', 'mariadbd', 'glance-api', 'placement',
                'nova-api', 'nova-conductor', 'nova-scheduler',
                'neutron-server', 'cinder', 'nova-compute-dpm-subset-1',
                'nova-compute-zvm-1', 'neutron-ibmz-dpm-agent-dpm-subset-1',
                'neutron-ibmz-zvm-agent-zvm-1'} == set(services)
        for name, (pid, log) in services.items():
            assert _alive(pid), name
            assert os.path.getsize(log) > 0, log
        output.wait_for('Ctrl-C stops every process', 5)

        listed = openstack(state, 'compute', 'service', 'list', '-f',
                           'json')
        assert {(s['Binary'], s['State']) for s in listed} == {
            ('nova-conductor', 'up'), ('nova-scheduler', 'up'),
            ('nova-compute', 'up')}
        assert {s['Host'] for s in listed
                if s['Binary'] == 'nova-compute'} == {'dpm-subset-1',
                                                      'zvm-1'}
        openstack(state, 'server', 'create', '--image', 'rhel-s390x',
                  '--flavor', 'z1.small', '--network', 'flat', '--wait',
                  'vm1')
        [shown] = openstack(state, 'server', 'list', '--long', '-f', 'json')
        assert (shown['Name'], shown['Status'], shown['Image Name']) == (
            'vm1', 'ACTIVE', 'rhel-s390x')
        openstack(state, 'server', 'delete', '--wait', 'vm1')
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(120)
    assert code == 0, output.lines[-20:]
    output.wait_for('every process it started ended', 5)
    for name, (pid, _) in services.items():
        assert not _alive(pid), name
    assert _processes_naming(state) == []


def test_a_broker_that_does_not_answer_stops_it_at_once(tmp_path):
    process = _sandbox(tmp_path, '--transport-url',
                       'rabbit://guest:not-shown@127.0.0.1:1/')
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert ('--transport-url rabbit://guest:***@127.0.0.1:1/: the broker '
            'does not answer') in output
    assert 'not-shown' not in output
    assert _processes_naming(tmp_path) == []
