# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HMC simulator served over HTTPS in the test process, and clients.

Clients are the real zhmcclient.Session, verifying the simulator's
certificate against its CA, and a requests session for the /_sim/ test
controls.
"""

import contextlib
import time

import zhmcclient

from nova_ibmz.sim import tls
from nova_ibmz.sim.hmc import model
from nova_ibmz.sim.hmc import server
from tests import simctl

USERID = 'openstack'
PASSWORD = 'openstack-sim'
CPC_NAME = 'CPC1'
# The default topology's second DPM CPC (CPC2 is the storage-groups one).
CPC3_NAME = 'CPC3'
SG_CPC_NAME = 'CPC2'
# Jobs quick enough for tests; a job of 0 s is complete at its first poll,
# so zhmcclient's wait_for_completion never sleeps its fixed 10 s.
FAST_JOBS = {'start': 0.2, 'stop': 0.1, 'dump': 0.1, 'psw-restart': 0.1,
             'mount-iso': 0.1}
INSTANT_JOBS = dict.fromkeys(FAST_JOBS, 0.0)
# Long enough for a test to see a job running, even on a busy machine.
SLOW_JOBS = dict(FAST_JOBS, start=1.5, stop=1.0)


class Controls(simctl.Controls):
    """The HMC simulator's /_sim/ test controls."""

    def set_properties(self, uri, **properties):
        return self.call('POST', '/properties',
                         {'uri': uri, 'properties': properties})


@contextlib.contextmanager
def serve(certs_dir, topology='default', job_seconds=None, state_file=None,
          latency_ms=0, port=0):
    """A running simulator (HMCServer) for the duration of the block."""
    certs = tls.ensure(certs_dir, 'nova-ibmz HMC simulator (tests)')
    sim = model.Simulator(model.topology_path(topology),
                          job_seconds or dict(FAST_JOBS), state_file)
    hmc = server.HMCServer(sim, certs, port=port,
                           latency_ms=latency_ms).start()
    try:
        yield hmc
    finally:
        hmc.stop()


def session(hmc_server, password=PASSWORD, verify=True):
    """A real zhmcclient session to the simulator."""
    return zhmcclient.Session(
        '127.0.0.1', USERID, password, port=hmc_server.port,
        verify_cert=str(hmc_server.certs.ca_file) if verify is True
        else verify)


def cpc(hmc_session, name=CPC_NAME):
    return zhmcclient.Client(hmc_session).cpcs.find(name=name)


def partition_props(name, ifls=1, memory=1024, **more):
    return dict({'name': name, 'ifl-processors': ifls,
                 'initial-memory': memory, 'maximum-memory': memory}, **more)


def wait_job(job, timeout=5):
    """Poll a job as a driver would (not zhmcclient's fixed 10 s sleep):
    its result, or the HTTPError it ends in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, result = job.check_for_completion()
        if status == 'complete':
            return result
        time.sleep(0.02)
    raise AssertionError(f'{job.uri} still running after {timeout} s')


def status(partition):
    partition.pull_full_properties()
    return partition.properties['status']
