# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sim hmc` as a process: its banner, SIGTERM, its state dir.

The simulator runs as `python -m nova_ibmz.cli` in a subprocess and is
reached over HTTPS with the real zhmcclient, verifying the CA file the
banner names.
"""

import contextlib
import pathlib
import re
import select
import signal
import subprocess
import time

import pytest
import zhmcclient

from tests import hmcsim
from tests.sim import cli

BANNER = re.compile(r'HMC simulator: (https://127\.0\.0\.1:(\d+))  '
                    r'CA file: (.+)')


def command(*args):
    return cli.command('hmc', *args)


def read_line(stream, timeout):
    """The next line of a pipe, or AssertionError after timeout."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f'no output within {timeout} s'
    return stream.readline()


class Simulator:
    """A running `nova-ibmz sim hmc` and what its banner says."""

    def __init__(self, process, url, port, ca_file):
        self.process = process
        self.url = url
        self.port = port
        self.ca_file = ca_file

    def session(self):
        return zhmcclient.Session(
            '127.0.0.1', hmcsim.USERID, hmcsim.PASSWORD, port=self.port,
            verify_cert=str(self.ca_file))

    def terminate(self, timeout=5):
        """SIGTERM; the exit code and stderr once it has ended."""
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stderr


@contextlib.contextmanager
def simulator(*args):
    """The simulator on a free port, killed at the end if still running."""
    port = cli.free_ports()
    process = subprocess.Popen(
        command('--port', str(port), '--job-seconds', '0', *args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = read_line(process.stdout, cli.STARTUP_SECONDS)
        match = BANNER.fullmatch(line.rstrip('\n'))
        assert match, f'banner: {line!r}, exit code {process.poll()}'
        url, banner_port, ca_file = match.groups()
        assert int(banner_port) == port
        assert url == f'https://127.0.0.1:{port}'
        yield Simulator(process, url, port, pathlib.Path(ca_file))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()
        process.stderr.close()


def stop(sim):
    """SIGTERM ends the simulator quickly and cleanly."""
    started = time.monotonic()
    code, stderr = sim.terminate()
    assert code == 0, stderr
    assert 'Traceback' not in stderr, stderr
    assert time.monotonic() - started < 5


def test_serve_sigterm_and_restart_with_state(tmp_path):
    """With --state-dir: the banner names the URL and a CA file in the
    directory that verifies the server; SIGTERM exits 0 without a
    traceback; a restart keeps the partitions made before (and their
    status) and the same CA file, byte for byte."""
    state_dir = tmp_path / 'state'
    with simulator('--state-dir', str(state_dir)) as sim:
        assert sim.ca_file == state_dir / 'ca.pem'
        assert sim.ca_file.is_file()
        ca_bytes = sim.ca_file.read_bytes()
        session = sim.session()
        cpc = hmcsim.cpc(session)
        assert cpc.name == hmcsim.CPC_NAME
        kept = cpc.partitions.create(hmcsim.partition_props('kept-1'))
        kept.start(wait_for_completion=True)   # a job of 0 s
        cpc.partitions.create(hmcsim.partition_props('kept-2'))
        stop(sim)
    assert (state_dir / 'hmc-state.json').is_file()

    with simulator('--state-dir', str(state_dir)) as sim:
        assert sim.ca_file.read_bytes() == ca_bytes
        cpc = hmcsim.cpc(sim.session())
        partitions = {p.name: p.properties for p in cpc.partitions.list(
            additional_properties=['status', 'object-uri'])}
        assert sorted(partitions) == ['PROD-DB2', 'PROD-WAS', 'TEST-SAP',
                                      'kept-1', 'kept-2']
        assert partitions['kept-1']['object-uri'] == kept.uri
        assert partitions['kept-1']['status'] == 'active'
        assert partitions['kept-2']['status'] == 'stopped'
        stop(sim)


def test_temporary_state_removed_at_exit():
    """Without --state-dir the CA file lives in a temporary directory
    that is removed when the simulator ends."""
    with simulator() as sim:
        state_dir = sim.ca_file.parent
        assert sim.ca_file.is_file()
        assert 'nova-ibmz-hmc-sim-' in state_dir.name
        cpcs = zhmcclient.Client(sim.session()).cpcs.list()
        assert [c.name for c in cpcs] == [hmcsim.CPC_NAME, hmcsim.CPC3_NAME]
        stop(sim)
    assert not state_dir.exists()


@pytest.mark.parametrize('args, option', [
    (['--job-seconds', 'start=x'], '--job-seconds'),
    (['--job-seconds', 'bogus=1'], '--job-seconds'),
    (['--job-seconds', '-1'], '--job-seconds'),
    (['--job-seconds', 'stop=nan'], '--job-seconds'),
    (['--topology', 'nonexistent'], '--topology'),
    (['--port', 'http'], '--port'),
])
def test_bad_arguments(tmp_path, args, option):
    """A bad option value: exit code 2, a usage error naming the option,
    and nothing served or written."""
    state_dir = tmp_path / 'state'
    assert option in cli.refused('hmc', '--port', str(cli.free_ports()),
                                 '--state-dir', str(state_dir), *args)
    assert not state_dir.exists()
