# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""python -m benchmarks [--out DIR] [--quick] [latency options]."""

import argparse
import importlib.util
import pathlib
import subprocess
import sys
import time

# nova on native threads, before anything imports nova.test.
import tests.nova_side  # noqa: F401

from benchmarks import concurrency  # noqa: E402
from benchmarks import faults  # noqa: E402
from benchmarks import operations  # noqa: E402
from benchmarks import report  # noqa: E402
from benchmarks import rig  # noqa: E402
from benchmarks import scale  # noqa: E402
from nova_ibmz.sandbox import backing  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / 'results'
REPO = pathlib.Path(__file__).resolve().parents[1]
# The Neutron agents' benchmarks (module: agent).  Neutron never shares a
# process with nova, which this one has loaded: each runs as its own.
AGENTS = {'dpm_agent': 'neutron-ibmz-dpm-agent',
          'zvm_agent': 'neutron-ibmz-zvm-agent'}


def parse(argv):
    defaults = rig.Latency()
    parser = argparse.ArgumentParser(prog='python -m benchmarks',
                                     description=__doc__)
    parser.add_argument('--out', type=pathlib.Path, default=RESULTS,
                        help='where latest.md and the plots go '
                        '(default %(default)s)')
    parser.add_argument('--quick', action='store_true',
                        help='small scale sizes and 4 concurrent servers: '
                        'checks the harness, not the drivers')
    for name, help_text in (
            ('hmc_ms', 'HMC latency per request, ms'),
            ('start_s', 'HMC start job, s'), ('stop_s', 'HMC stop job, s'),
            ('zvm_ms', 'Cloud Connector latency per request, ms'),
            ('deploy_s', 'z/VM deploy (and capture) disk copy, s')):
        parser.add_argument(f'--{name.replace("_", "-")}', type=float,
                            default=getattr(defaults, name),
                            help=f'{help_text} (default %(default)s)')
    return parser.parse_args(argv)


def agent_benchmark(name, out, quick):
    """Run `python -m benchmarks.<name>`, which writes out/<name>.md: its
    exit code.  None, not run, where neutron or openstacksdk is not
    installed (the test extra has them): make bench needs nothing more
    than the rest of the benchmarks."""
    if not all(importlib.util.find_spec(m) for m in ('neutron', 'openstack')):
        return None
    return subprocess.run(
        [sys.executable, '-m', f'benchmarks.{name}', '--out', str(out)] +
        (['--quick'] if quick else []), cwd=REPO).returncode


def scaleout_benchmark(out, quick):
    """Run `python -m benchmarks.scaleout` (40 servers across 4 hosts of
    the scale-out sandbox, ~4 min), which writes out/scaleout.md: its exit
    code.  None, not run, where rabbitmq-server or mariadb-server is not
    installed."""
    try:
        for name in ('rabbitmq-server', 'mariadbd'):
            backing.program(name)
    except backing.Missing as missing:
        print(f'    not run: {missing}', flush=True)
        return None
    return subprocess.run(
        [sys.executable, '-m', 'benchmarks.scaleout',
         '--out', str(out / 'scaleout.md')] +
        (['--servers', '4'] if quick else []), cwd=REPO).returncode


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    latency = rig.Latency(args.hmc_ms, args.start_s, args.stop_s,
                          args.zvm_ms, args.deploy_s)
    steps = [
        ('requests per operation', lambda: operations.run(rig.NO_LATENCY)),
        ('wall time under latency', lambda: operations.run(latency)),
        ('scale', lambda: scale.run((1, 10), (1, 100)) if args.quick
         else scale.run()),
        ('concurrency', lambda: concurrency.run(
            latency, servers=4 if args.quick else concurrency.SERVERS)),
    ]
    results = []
    for title, step in steps:
        started = time.monotonic()
        print(f'... {title}', flush=True)
        results.append(step())
        print(f'    {time.monotonic() - started:.0f} s', flush=True)
    rows = report.write(args.out, latency, *results)
    for target, measured, met in rows:
        print(f'{"met    " if met else "NOT MET"} {target}: {measured}')
    print(f'report: {args.out / "latest.md"}')
    # The fault table runs without latency: what it measures is what
    # Nova and the drivers do, not how long the hypervisor takes.
    print('... fault table', flush=True)
    (args.out / 'faults.md').write_text(faults.markdown(faults.run()))
    print(f'fault table: {args.out / "faults.md"}')
    codes = {}
    for name, agent in AGENTS.items():
        print(f'... {agent}', flush=True)
        codes[name] = agent_benchmark(name, args.out.absolute(), args.quick)
    report.add_agents(args.out, AGENTS, codes)
    print(f'agents: {args.out / "latest.md"}, section 5')
    print('... scale-out sandbox', flush=True)
    codes['scaleout'] = scaleout_benchmark(args.out.absolute(), args.quick)
    report.add_scaleout(args.out, codes['scaleout'])
    print(f'scale-out: {args.out / "scaleout.md"}')
    # A benchmark that broke fails the run; one not run does not.
    return int(any(codes.values()))


if __name__ == '__main__':
    sys.exit(main())
