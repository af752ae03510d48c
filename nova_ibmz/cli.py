# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The nova-ibmz command."""

import argparse
import pathlib
import shutil
import signal
import sys
import tempfile

from nova_ibmz.sim import tls
from nova_ibmz.sim.hmc import jobs
from nova_ibmz.sim.hmc import model
from nova_ibmz.sim.hmc import server

HMC_PORT = 6794     # the HMC's Web Services API port
STATE_FILE = 'hmc-state.json'


def _parser():
    parser = argparse.ArgumentParser(
        prog='nova-ibmz',
        description='OpenStack Nova drivers for IBM Z: simulators and tools')
    commands = parser.add_subparsers(dest='command', required=True)
    sims = commands.add_parser(
        'sim', help='serve a simulated management endpoint'
    ).add_subparsers(dest='simulator', required=True)

    hmc = sims.add_parser(
        'hmc', help='the HMC Web Services API over HTTPS',
        description='Serve a simulated HMC on https://127.0.0.1:PORT.  The '
        'server certificate is signed by a CA made on first start in the '
        'state directory; point [dpm] hmc_ca_file at the CA file printed.')
    hmc.add_argument('--port', type=int, default=HMC_PORT,
                     help='TCP port (default %(default)s)')
    hmc.add_argument('--topology', default='default',
                     help='a shipped topology (%s) or a YAML file in '
                     "zhmcclient's HMC definition format (default "
                     '%%(default)s)' % ', '.join(sorted(
                         p.stem for p in model.TOPOLOGIES.glob('*.yaml'))))
    hmc.add_argument('--state-dir', type=pathlib.Path,
                     help='keep the certificates and the HMC state here, '
                     'so both survive a restart (default: a temporary '
                     'directory removed on exit)')
    hmc.add_argument('--latency-ms', type=float, default=0,
                     help='delay added to every API request')
    hmc.add_argument('--job-seconds', default='', metavar='SPEC',
                     help='duration of asynchronous jobs: one number for '
                     'all, or kind=seconds pairs like start=3,stop=2 '
                     '(kinds: %s)' % ', '.join(jobs.DEFAULT_SECONDS))
    # Errors in a command's options print that command's usage.
    hmc.set_defaults(func=_sim_hmc, parser=hmc)
    return parser


def _sim_hmc(parser, args):
    try:
        job_seconds = jobs.parse_seconds(args.job_seconds)
    except ValueError as e:
        parser.error(str(e))
    topology = model.topology_path(args.topology)
    if not topology.is_file():
        parser.error(f'--topology: {args.topology!r} is neither a shipped '
                     'topology nor a file')
    state_dir = args.state_dir or pathlib.Path(
        tempfile.mkdtemp(prefix='nova-ibmz-hmc-sim-'))
    try:
        certs = tls.ensure(state_dir, 'nova-ibmz HMC simulator')
        sim = model.Simulator(
            topology, job_seconds,
            state_file=args.state_dir and state_dir / STATE_FILE)
        hmc = server.HMCServer(sim, certs, port=args.port,
                               latency_ms=args.latency_ms)
        print(f'HMC simulator: {hmc.url}  CA file: {certs.ca_file}',
              flush=True)
        try:
            hmc.serve_forever()
        finally:
            hmc.server_close()
            with sim.lock:
                sim.save()   # the jobs' remaining time as of now
    finally:
        if not args.state_dir:
            shutil.rmtree(state_dir, ignore_errors=True)
    return 0


def _stop(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    signal.signal(signal.SIGTERM, _stop)
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args.parser, args)
    except KeyboardInterrupt:
        return 0


if __name__ == '__main__':
    sys.exit(main())
