# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the benchmarks of the Neutron agents share (benchmarks/dpm_agent.py
and benchmarks/zvm_agent.py): a real neutron-server with one agent as its
thread, the ports Nova would make, the time from a NIC on the hypervisor
to its port ACTIVE (and from its deletion to DOWN), and the report's
environment line and latency table.

Both benchmarks measure the same thing of two agents, so that their
figures compare: how soon Neutron hears of a NIC (what Nova waits for as
network-vif-plugged) at a given polling interval.  Imports neither nova
nor neutron: each benchmark runs as a process on the Neutron side of the
boundary, and the server is a process of its own.
"""

import argparse
import contextlib
import datetime
from importlib import metadata
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import openstack

from nova_ibmz.sandbox import neutron as launcher

RESULTS = pathlib.Path(__file__).parent / 'results'
REPO = pathlib.Path(__file__).resolve().parents[1]
PROJECT = 'bench'
# The polling intervals measured: 2 s is the agents' default, 1 s what the
# tests and the sandbox run with.
INTERVALS = (1, 2)
# How often a port's status is read while waiting: fine against a
# second's interval, light on the server the agent shares.
POLL_SECONDS = 0.02
# What the reports say of time_to_active() and of the latency table.
WAITS = (f'then the port read through the API every {POLL_SECONDS * 1000:.0f} '
         'ms until ACTIVE; then the NIC deleted at once (so just after a '
         'poll: about one interval to the next), until DOWN.')
READING = ('min / median / max, seconds: the next poll comes between 0 and '
           'one interval after the NIC, then two RPC calls (down: one).')


def parse(prog, doc, quick_help, argv=None):
    """The arguments both benchmarks take: --out DIR and --quick."""
    parser = argparse.ArgumentParser(prog=prog,
                                     description=doc.splitlines()[0])
    parser.add_argument('--out', type=pathlib.Path, default=RESULTS,
                        help='where the report goes (default %(default)s)')
    parser.add_argument('--quick', action='store_true', help=quick_help)
    return parser.parse_args(sys.argv[1:] if argv is None else argv)


def main(name, doc, quick_help, measure, argv=None):
    """Run a benchmark as `python -m benchmarks.<name>`: measure(quick,
    workdir) gives the report's markdown, written to DIR/<name>.md."""
    args = parse(f'python -m benchmarks.{name}', doc, quick_help, argv)
    with tempfile.TemporaryDirectory(prefix=f'bench-{name}-') as tmp:
        text = measure(args.quick, pathlib.Path(tmp))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f'{name}.md'
    path.write_text(text)
    print(f'report: {path}')
    return 0


@contextlib.contextmanager
def neutron(state_dir, physical_networks, agent):
    """A real neutron-server (nova_ibmz.neutron.server, as the sandbox
    starts it) whose only agent is agent, a (``module:callable``, config
    file) pair run as its thread; yields an openstacksdk connection to its
    API."""
    config = launcher.write_config(
        state_dir / 'neutron.conf', state_dir,
        physical_networks=physical_networks, agents=[agent],
        # A host's guests have more ports than a project's default quota.
        overrides={'quotas': {'quota_port': '-1'}})
    # The agents' modules are found from this checkout, installed or not.
    with launcher.NeutronServer(config, env={'PYTHONPATH': str(REPO)}) \
            as server:
        yield openstack.connection.Connection(
            auth_type='none', network_endpoint_override=server.url)


def network(sdk, physical_network, vlan=None):
    """A provider network on physical_network: flat, or VLAN vlan."""
    provider = ({'provider_network_type': 'vlan',
                 'provider_segmentation_id': vlan} if vlan else
                {'provider_network_type': 'flat'})
    return sdk.network.create_network(
        name='bench', project_id=PROJECT,
        provider_physical_network=physical_network, **provider)


def instance_port(sdk, network_id, host):
    """A port as Nova makes one for an instance on host (bound there)."""
    return sdk.network.create_port(
        network_id=network_id, project_id=PROJECT, binding_host_id=host,
        device_owner='compute:nova', device_id=str(uuid.uuid4()))


def wait_status(sdk, port_id, status, timeout=120):
    """Seconds until the port's status is status, read through the API."""
    began = time.monotonic()
    while sdk.network.get_port(port_id).status != status:
        if time.monotonic() - began > timeout:
            raise RuntimeError(f'port {port_id} never {status}')
        time.sleep(POLL_SECONDS)
    return time.monotonic() - began


def time_to_active(sdk, network_id, host, samples, polling_interval,
                   kinds):
    """[(seconds NIC made -> ACTIVE, seconds NIC deleted -> DOWN, ...)]:
    one tuple per sample, a pair per kind of NIC.  kinds: [(make(port) ->
    nic, delete(nic))], how a driver makes the NIC of a port bound to host
    and deletes it.

    Nova makes a NIC at any moment of the agent's interval: a random wait
    within one comes before it.  The NIC is deleted at once after ACTIVE,
    so just after a poll: about one interval to the next."""
    results = []
    for _ in range(samples):
        sample = ()
        for make, delete in kinds:
            port = instance_port(sdk, network_id, host)
            time.sleep(random.uniform(0, polling_interval))
            nic = make(port)
            up = wait_status(sdk, port.id, 'ACTIVE')
            delete(nic)
            sample += (up, wait_status(sdk, port.id, 'DOWN'))
        results.append(sample)
    return results


def measure(requests, cost, latency, report):
    """An agent benchmark's report: report(rows, latencies) of cost(), the
    rows of requests per polling interval, and of latency(interval) at
    each of INTERVALS."""
    print(f'... {requests} per polling interval', flush=True)
    rows = cost()
    return report(rows, over_intervals(latency))


def over_intervals(measure):
    """{polling interval: measure(polling interval)} for INTERVALS."""
    results = {}
    for interval in INTERVALS:
        print(f'... NIC to ACTIVE at a {interval} s polling interval',
              flush=True)
        results[interval] = measure(interval)
        # The file shows min / median / max; the tail is worth a line.
        print('    median / p90 of each column: ' + ', '.join(
            f'{statistics.median(column):.2f} / {_p90(column):.2f}'
            for column in zip(*results[interval])), flush=True)
    return results


def _p90(values):
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 \
        else values[0]


def _stats(values):
    return (f'{min(values):.2f} / {statistics.median(values):.2f} / '
            f'{max(values):.2f}')


def latency_table(columns, latencies):
    """The markdown table of latencies ({polling interval: [tuple]}): a
    row per interval, min / median / max of each column."""
    lines = [f'| polling interval | {" | ".join(columns)} |',
             '|---' * (len(columns) + 1) + '|']
    for interval, samples in latencies.items():
        cells = [_stats([sample[n] for sample in samples])
                 for n in range(len(columns))]
        lines.append(f'| {interval} s | {" | ".join(cells)} |')
    return lines


def environment(title, command, packages):
    """The report's first lines: the title, when and where it ran (the
    machine, its CPUs, Python, the versions of packages, the commit)."""
    git = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
    versions = ', '.join(f'{name} {metadata.version(name)}'
                         for name in packages)
    return [
        f'# {title}', '',
        f'Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} '
        f'UTC on {platform.platform()}, {os.cpu_count()} CPUs, Python '
        f'{platform.python_version()}; {versions}; nova-ibmz '
        f'{git or "?"}. `{command}`.', '']


def cost_table(requests, rows):
    """The markdown table of requests per polling interval: rows [(what,
    count, target or None, seconds)]; requests names the count's column
    ('HMC requests').  A target is met by a count at most as large."""
    lines = [f'| interval | {requests} | target | met | seconds (no '
             f'latency) |', '|---|---|---|---|---|']
    for what, count, target, seconds in rows:
        met = '' if target is None else (
            'yes' if count <= target else '**no**')
        lines.append(f'| {what} | {count} | '
                     f'{"" if target is None else target} | {met} | '
                     f'{seconds:.3f} |')
    return lines


class Requests:
    """The rows of a cost table: what some work cost a simulator, counted
    from its request log (nova_ibmz.sim.httpserver.RequestLog), leaving
    out the paths that begin with ignored (logons, tokens: a session's
    cost, not an interval's)."""

    # A simulator logs a request just after it has answered it: a log
    # that did not grow for this long holds every request answered.
    SETTLE_SECONDS = 0.05

    def __init__(self, log, ignored):
        self._log = log
        self._ignored = ignored
        self.rows = []

    def measure(self, what, work, target=None):
        """work()'s result; its row (what, requests, target, seconds)."""
        seq = self._settled()
        began = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - began
        self._settled()
        count = sum(1 for e in self._log.since(seq)
                    if not e['path'].startswith(self._ignored))
        self.rows.append((what, count, target, seconds))
        return result

    def _settled(self):
        """The last request's sequence number, once the log is still."""
        last = None
        while True:
            entries = self._log.since()
            seq = entries[-1]['seq'] if entries else 0
            if seq == last:
                return seq
            last = seq
            time.sleep(self.SETTLE_SECONDS)
