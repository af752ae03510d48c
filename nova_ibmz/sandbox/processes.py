# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's services as processes of their own: start one, wait until
it answers, stop it, kill it, read what it costs.

Each Process runs in a session of its own (a process group, so that a
WSGI server's workers go with their master), writes its output to its log
file, and is told to end if the sandbox's process dies without stopping
it (Linux's parent-death signal): a sandbox killed with -9 leaves no
service behind.  A restart is the same command line started again, as an
operator restarts a service.
"""

import ctypes
import os
import signal
import socket
import subprocess
import time

import requests

STOP_SECONDS = 30
# The tail of the log shown when a service does not come up.
LOG_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf('SC_CLK_TCK')
_PAGE_BYTES = os.sysconf('SC_PAGE_SIZE')


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def answers(url, timeout=2):
    """A callable: True once url answers HTTP at all (any status)."""
    def check():
        try:
            requests.get(url, timeout=timeout)
        except requests.RequestException:
            return False
        return True
    return check


def _die_with_parent():
    # Runs in the child between fork and exec.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG,
                                            signal.SIGTERM)


class ServiceError(RuntimeError):
    """A service did not start: its name, why, and the end of its log."""


class Process:
    """One service: argv started with env added to this process's
    environment, output appended to log_file; ready() says when it serves
    (None: as soon as it runs)."""

    def __init__(self, name, argv, log_file, env=None, ready=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_file = log_file
        self.env = env or {}
        self.ready = ready
        self.popen = None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self, timeout=120):
        """Start it and return once ready() is true.  ServiceError, with the
        end of its log, if it exits first or is not ready in timeout
        seconds (it is stopped then)."""
        with open(self.log_file, 'ab') as log:
            self.popen = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent,
                env=dict(os.environ, **self.env))
        deadline = time.monotonic() + timeout
        while self.ready and not self.ready():
            if self.popen.poll() is not None:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(self._failure(
                    f'did not answer within {timeout} s'))
            time.sleep(0.2)
        if self.popen.poll() is not None:
            raise ServiceError(self._failure(
                f'exited with code {self.popen.returncode}'))
        return self

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=STOP_SECONDS):
        """SIGTERM to its process group, SIGKILL after timeout seconds:
        its exit code (None if it never started)."""
        if self.popen is None:
            return None
        if self.running():
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait()
        # Workers of a WSGI server outlive a master that died at once.
        self._signal(signal.SIGKILL)
        return self.popen.returncode

    def kill(self):
        """kill -9 of the service and everything in its group, as a crash
        or an operator's kill does: nothing it had under way completes."""
        self._signal(signal.SIGKILL)
        self.popen.wait()

    def _signal(self, signum):
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass

    def usage(self):
        """(resident bytes, CPU seconds) of its process group now, from
        /proc: the master's and its workers' together."""
        rss = cpu = 0
        for pid in _group(self.popen.pid) if self.running() else ():
            try:
                with open(f'/proc/{pid}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:     # it ended meanwhile
                continue
            # utime, stime, rss: fields 14, 15, 24 of proc(5), here
            # counted from field 3 (state).
            cpu += (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
            rss += int(fields[21]) * _PAGE_BYTES
        return rss, cpu

    def _failure(self, why):
        try:
            with open(self.log_file, errors='replace') as f:
                tail = ''.join(f.readlines()[-LOG_TAIL_LINES:])
        except OSError as error:
            tail = f'(no log: {error})\n'
        return (f'{self.name} {why}; the end of its log '
                f'({self.log_file}):\n{tail}')


def _group(pgid):
    """The pids of process group pgid."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:      # pgrp: field 5 of proc(5)
            pids.append(int(entry))
    return pids
