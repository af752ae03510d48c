# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The nova-ibmz command."""

import argparse
import contextlib
import math
import os
import pathlib
import secrets
import shutil
import signal
import sys
import tempfile

from nova_ibmz.sim import tls
from nova_ibmz.sim.hmc import jobs
from nova_ibmz.sim.hmc import model as hmc_model
from nova_ibmz.sim.hmc import server as hmc_server
from nova_ibmz.sim.zvm import model as zvm_model
from nova_ibmz.sim.zvm import server as zvm_server

HMC_PORT = 6794     # the HMC's Web Services API port
HMC_STATE_FILE = 'hmc-state.json'
# The Cloud Connector's REST API is served by Apache httpd, and zvmsdk's
# config.py sets no port for it ([sdkserver] bind_port, 2000, is the
# internal socket between the REST layer and the SDK daemon).  8080 is the
# port its own REST client (zvmconnector) defaults to and the one of
# nova's [zvm] cloud_connector_url example.
SANDBOX_PORT = 8774
ZVM_PORT = 8080
ZVM_STATE_FILE = 'zvm-state.json'
ZVM_TOKEN_FILE = 'admin-token'
ZVM_TOKEN_TTL = 3600    # the connector's [wsgi] token_validation_period
ZVM_MAX_MEMBERS = 4     # z/VM joins at most four systems in an SSI cluster


def _number(convert, minimum, maximum=math.inf):
    """An argparse type: a finite number from minimum to maximum."""
    what = 'a whole number' if convert is int else 'a number'
    bounds = (f'from {minimum} to {maximum}' if maximum < math.inf
              else f'of at least {minimum}')

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise argparse.ArgumentTypeError(
                f'{text!r} is not {what} {bounds}')
        return value
    return parse


def _add_common(parser, port, kept):
    """The options every simulator takes; kept: what --state-dir keeps."""
    parser.add_argument('--port', type=_number(int, 0, 65535), default=port,
                        help='TCP port on 127.0.0.1, 0 for a free one '
                        '(default %(default)s)')
    parser.add_argument('--state-dir', type=pathlib.Path, metavar='DIR',
                        help=f'keep {kept} here, so they survive a restart '
                        '(default: a temporary directory removed on exit)')
    parser.add_argument('--latency-ms', type=_number(float, 0), default=0,
                        metavar='MS',
                        help='delay added to every API request')


def _add_hmc(sims):
    hmc = sims.add_parser(
        'hmc', help='the HMC Web Services API over HTTPS',
        description='Serve a simulated HMC on https://127.0.0.1:PORT.  The '
        'server certificate is signed by a CA made on first start in the '
        'state directory; point [dpm] hmc_ca_file at the CA file printed.')
    _add_common(hmc, HMC_PORT, 'the certificates and the HMC state')
    hmc.add_argument('--topology', default='default',
                     help='a shipped topology (%s) or a YAML file in '
                     "zhmcclient's HMC definition format (default "
                     '%%(default)s)' % ', '.join(sorted(
                         p.stem for p in hmc_model.TOPOLOGIES.glob('*.yaml'))))
    hmc.add_argument('--job-seconds', default='', metavar='SPEC',
                     help='duration of asynchronous jobs: one number for '
                     'all, or kind=seconds pairs like start=3,stop=2 '
                     '(kinds: %s)' % ', '.join(jobs.DEFAULT_SECONDS))
    # Errors in a command's options print that command's usage.
    hmc.set_defaults(func=_sim_hmc, parser=hmc)


def _add_zvm(sims):
    zvm = sims.add_parser(
        'zvm', help='the z/VM Cloud Connector REST API',
        description='Serve a simulated z/VM Cloud Connector on '
        'http://127.0.0.1:PORT (https with --tls), one per SSI member on '
        'PORT, PORT+1, ...  '
        'Point [zvm] cloud_connector_url at a member and admin_token_file '
        'at the token file printed.')
    _add_common(zvm, ZVM_PORT, 'the cluster, its image files, the admin '
                'token and the certificates')
    zvm.add_argument('--members', type=int, metavar='N', default=1,
                     choices=range(1, ZVM_MAX_MEMBERS + 1),
                     help='z/VM systems: 1 is a single system, 2 to '
                     f'{ZVM_MAX_MEMBERS} an SSI cluster (default '
                     '%(default)s)')
    zvm.add_argument('--tls', action='store_true',
                     help='serve HTTPS with a certificate signed by a CA '
                     'made in the state directory ([zvm] ca_file)')
    zvm.add_argument('--auth', choices=('token', 'none'), default='token',
                     help="the connector's [wsgi] auth (default "
                     '%(default)s)')
    zvm.add_argument('--token-ttl', type=_number(int, 1), metavar='S',
                     default=ZVM_TOKEN_TTL,
                     help='seconds an auth token stays valid (default '
                     '%(default)s)')
    zvm.set_defaults(func=_sim_zvm, parser=zvm)


def _parser():
    parser = argparse.ArgumentParser(
        prog='nova-ibmz',
        description='OpenStack Nova drivers for IBM Z: simulators and tools')
    commands = parser.add_subparsers(dest='command', required=True)
    sims = commands.add_parser(
        'sim', help='serve a simulated management endpoint'
    ).add_subparsers(dest='simulator', required=True)
    _add_hmc(sims)
    _add_zvm(sims)
    sandbox = commands.add_parser(
        'sandbox', help='Nova on localhost with both drivers on the '
        'simulators',
        description='Serve the Nova API on http://127.0.0.1:PORT with three '
        'compute hosts: dpm-subset-1 (DPMDriver on a simulated HMC) and '
        'zvm-1, zvm-2 (ZVMDriver on the two members of a simulated z/VM '
        'SSI cluster).')
    sandbox.add_argument('--port', type=_number(int, 0, 65535),
                         default=SANDBOX_PORT,
                         help='TCP port of the Nova API on 127.0.0.1, 0 for '
                         'a free one (default %(default)s)')
    sandbox.add_argument('--state-dir', type=pathlib.Path, metavar='DIR',
                         help='keep the simulators\' state and each host\'s '
                         'configuration here (default: a temporary '
                         'directory removed on exit)')
    sandbox.add_argument('--demo', action='store_true',
                         help='run a scripted tour of both drivers through '
                         'openstacksdk, print a table of its steps, then '
                         'stop; the exit code is 1 if a step failed '
                         '(one-process mode only)')
    scale = sandbox.add_argument_group(
        'scale-out mode', 'Every service a process of its own, as in a real '
        'deployment: nova-api and placement under gunicorn, nova-conductor, '
        'nova-scheduler, a stock nova-compute and a network agent per '
        'compute host, neutron-server, Glance; messaging over RabbitMQ, '
        "Nova's databases in MariaDB.  Without URLs, private ones are "
        "started in the state directory from Debian's rabbitmq-server and "
        'mariadb-server.')
    scale.add_argument('--scale-out', action='store_true',
                       help='run in scale-out mode')
    scale.add_argument('--transport-url', metavar='URL',
                       help='a running RabbitMQ, rabbit://USER:PASS@HOST:'
                       'PORT/ (implies --scale-out)')
    scale.add_argument('--database-url', metavar='URL',
                       help='a running MariaDB or MySQL server, '
                       'mysql+pymysql://USER:PASS@HOST:PORT, where the '
                       'sandbox may drop and create databases named ibmz_* '
                       '(implies --scale-out)')
    scale.add_argument('--dpm-hosts', type=_number(int, 1, 5), default=1,
                       metavar='N', help='DPM compute hosts, one CPC subset '
                       'each (default %(default)s)')
    scale.add_argument('--zvm-hosts', type=_number(int, 1, 4), default=2,
                       metavar='N', help='z/VM compute hosts, one SSI member '
                       'each (default %(default)s)')
    sandbox.set_defaults(func=_sandbox, parser=sandbox)
    return parser


def _sandbox(parser, args):
    from nova_ibmz.sandbox import run
    scale_out = bool(args.scale_out or args.transport_url or
                     args.database_url)
    if not scale_out and (args.dpm_hosts, args.zvm_hosts) != (1, 2):
        parser.error('--dpm-hosts and --zvm-hosts need --scale-out')
    if scale_out and args.demo:
        parser.error('--demo runs in the one-process mode only')
    api = _listen(parser, run.listen, args.port)
    with _state_dir(parser, args, 'sandbox') as state_dir:
        if scale_out:
            code = run.run_scaleout(
                api, state_dir, transport_url=args.transport_url,
                database_url=args.database_url, dpm_hosts=args.dpm_hosts,
                zvm_hosts=args.zvm_hosts)
        else:
            code = run.run(api, state_dir, demo=args.demo)
    run.leave(code)


# -- what both simulators' commands share --------------------------------

@contextlib.contextmanager
def _state_dir(parser, args, simulator):
    """--state-dir as an absolute path, made if needed, or a temporary
    directory removed at the end: without --state-dir nothing outlives the
    process.  Absolute, because the files written there name paths in it
    for readers in other working directories.  A directory that cannot be
    made or written is a usage error naming it."""
    if args.state_dir:
        state_dir = args.state_dir.resolve()
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=state_dir).close()
        except OSError as e:
            parser.error(f'--state-dir: cannot write to {args.state_dir}: '
                         f'{e.strerror or e}')
        yield state_dir
        return
    temporary = pathlib.Path(
        tempfile.mkdtemp(prefix=f'nova-ibmz-{simulator}-sim-'))
    try:
        yield temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _listen(parser, server_class, port, **kwargs):
    """server_class(port=port, **kwargs), or a usage error naming --port
    if the port cannot be had (another process has it)."""
    try:
        return server_class(port=port, **kwargs)
    except OSError as e:
        parser.error(f'--port: cannot listen on 127.0.0.1:{port}: '
                     f'{e.strerror}')


def _banner(name, server):
    """The line that tells a user where to point a client."""
    line = f'{name}: {server.url}'
    return line + (f'  CA file: {server.certs.ca_file}' if server.certs
                   else '')


def _serve(servers, lines, save):
    """Print lines, serve until SIGTERM or Ctrl-C (KeyboardInterrupt, see
    main), then stop every server and save the state as it is then."""
    for server in servers:
        server.start()
    try:
        print(*lines, sep='\n', flush=True)
        while True:
            signal.pause()
    finally:
        for server in servers:
            server.stop()
        save()


# -- the simulators --------------------------------------------------------

def _sim_hmc(parser, args):
    try:
        job_seconds = jobs.parse_seconds(args.job_seconds)
    except ValueError as e:
        parser.error(str(e))
    topology = hmc_model.topology_path(args.topology)
    if not topology.is_file():
        parser.error(f'--topology: {args.topology!r} is neither a shipped '
                     'topology nor a file')
    with _state_dir(parser, args, 'hmc') as state_dir:
        certs = tls.ensure(state_dir, 'nova-ibmz HMC simulator')
        sim = hmc_model.Simulator(
            topology, job_seconds,
            state_file=args.state_dir and state_dir / HMC_STATE_FILE)
        hmc = _listen(parser, hmc_server.HMCServer, args.port, sim=sim,
                      certs=certs, latency_ms=args.latency_ms)
        # save(): the jobs' remaining time as of the stop
        _serve([hmc], [_banner('HMC simulator', hmc)], sim.save)
    return 0


def _admin_token(parser, state_dir):
    """The token file and its token, made on first start; a token file
    written before (the one nova-compute uses) is kept."""
    path = state_dir / ZVM_TOKEN_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(secrets.token_urlsafe(32) + '\n')
    token = path.read_text().strip()
    if not token:
        parser.error(f'--state-dir: the admin token file {path} is empty')
    return path, token


def _zvm_cluster(parser, args, state_dir):
    """The cluster, loaded from the state directory if it was kept."""
    cluster = zvm_model.Model(
        members=args.members, image_dir=state_dir / 'images',
        state_file=args.state_dir and state_dir / ZVM_STATE_FILE)
    if len(cluster.members) != args.members:
        parser.error(f'--members: the state in {state_dir} is of '
                     f'{len(cluster.members)} member(s), not {args.members}')
    return cluster


def _sim_zvm(parser, args):
    last_port = args.port + args.members - 1
    if args.port and last_port > 65535:
        parser.error(f'--port: {args.members} members need ports '
                     f'{args.port} to {last_port}')
    with _state_dir(parser, args, 'zvm') as state_dir:
        cluster = _zvm_cluster(parser, args, state_dir)
        certs = (tls.ensure(state_dir, 'nova-ibmz Cloud Connector simulator')
                 if args.tls else None)
        token_file, token = (_admin_token(parser, state_dir)
                             if args.auth == 'token' else (None, None))
        servers = [_listen(
            parser, zvm_server.ConnectorServer,
            args.port and args.port + n,    # 0: each a free port
            model=cluster, member=name, auth=args.auth, admin_token=token,
            token_ttl=args.token_ttl, certs=certs,
            latency_ms=args.latency_ms)
            for n, name in enumerate(cluster.members)]
        lines = [_banner(f'z/VM Cloud Connector simulator {s.member_name}',
                         s) for s in servers]
        if token_file:
            lines.append(f'Admin token file: {token_file}')
        _serve(servers, lines, cluster.save)
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
