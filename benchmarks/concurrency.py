# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""20 servers booted at once on one DPM subset, then 20 on one z/VM host,
through Nova in one process (the sandbox's cloud) on the simulators with
a mainframe's latencies: how many succeed, the time until the last is
ACTIVE, and the process's peak thread count and memory meanwhile."""

import dataclasses
import pathlib
import threading
import time

from benchmarks import rig
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import simulators

SERVERS = 20
TIMEOUT_S = 600


@dataclasses.dataclass
class Burst:
    host: str
    servers: int
    active: int
    seconds: float
    peak_threads: int
    threads_before: int
    peak_rss_mb: float
    rss_before_mb: float
    failures: list


def _rss_mb():
    for line in pathlib.Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    return 0.0


class _Sampler:
    """Peak thread count and resident memory, sampled every 50 ms."""

    def __init__(self):
        self.threads, self.rss = threading.active_count(), _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            self.threads = max(self.threads, threading.active_count())
            self.rss = max(self.rss, _rss_mb())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _burst(nova, host, body, count):
    """count servers of body in one request (as `openstack server create
    --min N --max N` asks), then wait for all of them."""
    threads_before, rss_before = threading.active_count(), _rss_mb()
    started = time.monotonic()
    name = body['name']
    with _Sampler() as sampler:
        nova.api.post_server({'server': dict(body, min_count=count,
                                             max_count=count)})
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            servers = [s for s in nova.api.get_servers()
                       if s['name'].startswith(name)]
            if len(servers) == count and all(
                    s['status'] in ('ACTIVE', 'ERROR') for s in servers):
                break
            time.sleep(0.5)
    seconds = time.monotonic() - started
    failures = [s.get('fault', {}).get('message', s['status'])
                for s in servers if s['status'] != 'ACTIVE']
    failures += ['not done in time'] * (count - len(servers))
    _delete(nova, servers)
    return Burst(host, count, count - len(failures), seconds,
                 sampler.threads, threads_before, sampler.rss, rss_before,
                 failures)


def _delete(nova, servers):
    """Delete the servers and wait until they are gone: the next burst
    starts on a quiet cloud.  (Nova's in-process harness serialises its
    database writers; two bursts of work at once can stall it.)"""
    for server in servers:
        nova.api.delete_server(server['id'])
    ids = {server['id'] for server in servers}
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and ids & {
            s['id'] for s in nova.api.get_servers()}:
        time.sleep(0.5)


def run(latency, servers=SERVERS):
    """[Burst on the DPM host, Burst on zvm-1]."""
    with rig.sandbox_cloud('nova-ibmz-bench-') as (nova, sims):
        rig.apply_latency(latency, sims.hmc, sims.connectors)
        flavor = next(f['id'] for f in nova.api.get_flavors()
                      if f['name'] == seed.SMALL_FLAVOR)
        network = nova.networks[seed.FLAT.name]['id']
        image = seed.IMAGE_ID
        dpm = _burst(nova, simulators.DPM_HOST, {
            'name': 'bench-dpm', 'flavorRef': flavor,
            'networks': [{'uuid': network}],
            'block_device_mapping_v2': rig.dpm_boot()},
            servers)
        zvm = _burst(nova, simulators.ZVM_HOSTS[0], {
            'name': 'bench-zvm', 'flavorRef': flavor,
            'imageRef': image, 'networks': [{'uuid': network}],
            'availability_zone': f'nova:{simulators.ZVM_HOSTS[0]}'},
            servers)
        return [dpm, zvm]
