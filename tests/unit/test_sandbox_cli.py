# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox` refuses what it cannot use before it starts
anything: a port another process listens on, a state directory it cannot
write.  One usage error naming the option and the value, exit code 2, no
traceback."""

import socket
import subprocess
import sys


def refused(*args, cwd=None):
    """The command's error line; it must stop with a usage error."""
    result = subprocess.run(
        [sys.executable, '-m', 'nova_ibmz.cli', 'sandbox', *args],
        capture_output=True, text=True, timeout=60, cwd=cwd)
    assert result.returncode == 2, result
    assert result.stdout == ''
    assert 'Traceback' not in result.stderr
    # argparse wraps the usage over several lines; the error is the last.
    *usage, error = result.stderr.splitlines()
    assert usage[0].startswith('usage: nova-ibmz sandbox ')
    assert all(line.startswith(' ') for line in usage[1:]), usage
    assert error.startswith('nova-ibmz sandbox: error: ')
    return error.removeprefix('nova-ibmz sandbox: error: ')


def test_a_port_in_use_is_a_usage_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        error = refused('--port', str(port), '--state-dir', str(tmp_path))
    assert error == (f'--port: cannot listen on 127.0.0.1:{port}: '
                     'Address already in use')
    # Nothing was started, so nothing was written.
    assert list(tmp_path.iterdir()) == []


def test_a_state_dir_that_cannot_be_made_is_a_usage_error(tmp_path):
    (tmp_path / 'file').write_text('not a directory\n')
    error = refused('--port', '0', '--state-dir', 'file/state',
                    cwd=tmp_path)
    assert error == ('--state-dir: cannot write to file/state: '
                     'Not a directory')


def test_a_state_dir_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / 'state').write_text('not a directory\n')
    error = refused('--port', '0', '--state-dir', str(tmp_path / 'state'))
    assert error == (f'--state-dir: cannot write to {tmp_path}/state: '
                     'File exists')


def test_host_counts_need_the_scale_out_mode(tmp_path):
    assert refused('--dpm-hosts', '2', '--state-dir', str(tmp_path)) == (
        '--dpm-hosts and --zvm-hosts need --scale-out')


def test_the_demo_needs_the_one_process_mode(tmp_path):
    assert refused('--scale-out', '--demo', '--state-dir',
                   str(tmp_path)) == (
        '--demo runs in the one-process mode only')


def test_more_z_vm_hosts_than_an_ssi_cluster_has_is_a_usage_error(tmp_path):
    error = refused('--scale-out', '--zvm-hosts', '5', '--state-dir',
                    str(tmp_path))
    assert error == ("argument --zvm-hosts: '5' is not a whole number "
                     'from 1 to 4')
