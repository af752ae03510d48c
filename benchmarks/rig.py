# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The bench: a driver on its simulator, set up by the same harness as
its conformance tests (nova's test case, with an in-memory database and
Glance), with a mainframe's latencies, and a way to measure one call.

Each Rig holds one driver: ours for DPM, ours for z/VM (on the first
member of a two-member SSI cluster, the second member's driver at hand),
or nova's in-tree z/VM driver (the reference, on a connector of its own
with the same simulator code).  The simulators run in this process;
a call's CPU time is the calling thread's, so it holds the driver and its
client library, not the simulator.  What runs through Nova's API uses
the sandbox's cloud instead (sandbox_cloud).
"""

import contextlib
import dataclasses
import pathlib
import tempfile
import time

from nova_ibmz.sandbox import cloud
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import simulators
from tests.conformance import test_dpm
from tests.conformance import test_nova_zvm
from tests.conformance import test_zvm
from tests import connector
from tests import hmc
from tests import nova_zvm


@dataclasses.dataclass(frozen=True)
class Latency:
    """What a real management endpoint costs (seconds are per job)."""

    hmc_ms: float = 150.0       # per HMC request
    start_s: float = 4.0        # HMC start job
    stop_s: float = 3.0         # HMC stop job
    zvm_ms: float = 40.0        # per Cloud Connector request
    deploy_s: float = 5.0       # a deploy's (or capture's) disk copy

    def describe(self):
        return (f'HMC {self.hmc_ms:g} ms per request, start job '
                f'{self.start_s:g} s, stop job {self.stop_s:g} s; Cloud '
                f'Connector {self.zvm_ms:g} ms per request, deploy '
                f'{self.deploy_s:g} s')


# For counting requests: no waits.  (A job still takes one poll.)
NO_LATENCY = Latency(0, 0, 0, 0, 0)


@dataclasses.dataclass
class Sample:
    """One measured call: requests by kind, wall and CPU seconds."""

    requests: int = 0           # API requests other than job polls
    job_polls: int = 0          # GET/DELETE of HMC jobs
    wall: float = 0.0
    cpu: float = 0.0

    @property
    def total(self):
        return self.requests + self.job_polls


class Rig:
    """One driver on its simulator; start(), then measure(), stop()."""

    case_class = None
    name = None
    host = None                 # the compute host's name

    def __init__(self):
        self.case = self.case_class('test_init_host')

    def start(self):
        """Set up, then start the driver as nova-compute does (init_host,
        a first resource audit): logons and lookups made once per process
        are not counted against the first operation."""
        self.case.setUp()
        self.driver.init_host(self.host)
        self.driver.get_available_resource(
            self.driver.get_available_nodes()[0])
        return self

    def stop(self):
        self.case.doCleanups()

    @property
    def driver(self):
        return self.case.connection

    @property
    def ctxt(self):
        return self.case.ctxt

    def servers(self):
        """The simulator servers whose request logs count; the first one's
        model holds the instances."""
        raise NotImplementedError

    def set_latency(self, latency):
        raise NotImplementedError

    def measure(self, call, *args, **kwargs):
        """(call's result, Sample)."""
        logs = [s.log for s in self.servers()]
        marks = [_last_seq(log) for log in logs]
        started, cpu = time.monotonic(), time.thread_time()
        result = call(*args, **kwargs)
        sample = Sample(wall=time.monotonic() - started,
                        cpu=time.thread_time() - cpu)
        for log, mark in zip(logs, marks):
            for entry in log.since(mark):
                if entry['path'].startswith('/api/jobs/'):
                    sample.job_polls += 1
                else:
                    sample.requests += 1
        return result, sample


def _last_seq(log):
    entries = log.since(0)
    return entries[-1]['seq'] if entries else 0


def apply_latency(latency, hmc=None, connectors=()):
    """Give an HMC simulator server and the connector servers of one z/VM
    cluster the latency (a cluster's model copies the disks)."""
    if hmc is not None:
        hmc.latency = latency.hmc_ms / 1000
        hmc.sim.job_seconds.update(start=latency.start_s,
                                   stop=latency.stop_s)
    for server in connectors:
        server.latency = latency.zvm_ms / 1000
        server.model.copy_seconds = latency.deploy_s


class DPMRig(Rig):
    case_class = test_dpm.DPMConformance
    name = 'DPM (nova-ibmz)'
    host = hmc.HOST

    def servers(self):
        return [hmc.server()]

    def set_latency(self, latency):
        apply_latency(latency, hmc=hmc.server())


class ZVMRig(Rig):
    """Ours, on the first member; the second member's connector counts
    too (live migration and resize reach it)."""

    case_class = test_zvm.ZVMConformance
    name = 'z/VM (nova-ibmz)'
    host = 'zvm-1'

    def servers(self):
        return [connector.server(), connector.second()]

    def set_latency(self, latency):
        apply_latency(latency, connectors=self.servers())


class NovaZVMRig(ZVMRig):
    case_class = test_nova_zvm.NovaZVMConformance
    name = 'z/VM (nova in-tree)'

    def servers(self):
        return [nova_zvm.connector()]


@contextlib.contextmanager
def running(rig_class, latency=NO_LATENCY):
    rig = rig_class().start()
    try:
        rig.set_latency(latency)
        yield rig
    finally:
        rig.set_latency(NO_LATENCY)
        rig.stop()


@contextlib.contextmanager
def sandbox_cloud(prefix):
    """(Nova, simulators): the sandbox's cloud in this process, with its
    periodic tasks off (a benchmark runs what it measures), in a
    temporary state directory; stopped at the end."""
    with tempfile.TemporaryDirectory(prefix=prefix) as state:
        state = pathlib.Path(state)
        sims = simulators.Simulators(state).start()
        nova = None
        try:
            sims.write_host_configs()
            nova = cloud.Cloud(sims, state / 'nova.log').start()
            yield nova, sims
        finally:
            if nova is not None:
                nova.stop()
            sims.stop()


def dpm_boot():
    """block_device_mapping_v2 of a DPM server: a boot volume Cinder makes
    for each server from the sandbox's DPM image (one volume cannot boot
    many servers), deleted with the server."""
    return [{'boot_index': 0, 'uuid': seed.DPM_IMAGE_ID,
             'source_type': 'image',
             'destination_type': 'volume',
             'volume_size': seed.BOOT_VOLUME_GB,
             'delete_on_termination': True}]
