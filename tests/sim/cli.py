# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Running `nova-ibmz sim <simulator>` in the simulators' command tests."""

import contextlib
import socket
import subprocess
import sys

STARTUP_SECONDS = 30


def free_ports(count=1):
    """count consecutive ports that are free now (member n on P+n-1)."""
    for _ in range(50):
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(socket.socket())
            first.bind(('127.0.0.1', 0))
            port = first.getsockname()[1]
            try:
                for n in range(1, count):
                    stack.enter_context(socket.socket()).bind(
                        ('127.0.0.1', port + n))
            except OSError:
                continue
            return port
    raise AssertionError(f'no {count} consecutive free ports')


def command(simulator, *args):
    return [sys.executable, '-m', 'nova_ibmz.cli', 'sim', simulator, *args]


def refused(simulator, *args):
    """Run the command, which must stop with a usage error: exit code 2,
    nothing served (no output), no traceback.  Returns its stderr."""
    result = subprocess.run(command(simulator, *args), capture_output=True,
                            text=True, timeout=STARTUP_SECONDS)
    assert result.returncode == 2, result
    assert result.stdout == ''
    assert 'Traceback' not in result.stderr
    assert f'nova-ibmz sim {simulator}: error:' in result.stderr
    return result.stderr
