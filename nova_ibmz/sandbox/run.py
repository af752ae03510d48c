# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""`nova-ibmz sandbox`: the simulators, Nova and its API, until Ctrl-C (or,
with --demo, until the tour is over)."""

import contextlib
import json
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
import traceback
from wsgiref import simple_server

import yaml

from nova_ibmz.sandbox import catalog
from nova_ibmz.sandbox import identity
from nova_ibmz.sandbox import processes
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import simulators

CLOUD = 'ibmz-sandbox'
# How often Nova's resource audit and power-state sync run (the README
# says so); its other periodic tasks keep Nova's default intervals.
PERIODIC_SECONDS = 10


def _say(*lines):
    # Nova's harness captures sys.stdout once it is set up: write to the
    # terminal the process was started with.
    print(*lines, sep='\n', file=sys.__stdout__, flush=True)


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        _say(f'  {format % args}')


def listen(port):
    """The API's server, listening on 127.0.0.1:port (0: a free one; its
    server_port says which) before anything else starts, so that a port
    another process has is an error at once.  OSError if it cannot."""
    return simple_server.make_server('127.0.0.1', port, None,
                                     server_class=_Server,
                                     handler_class=_QuietHandler)


class _Run:
    """One run of the sandbox: its exit code, whether its API serves, and
    what to stop at its end (in the reverse order)."""

    def __init__(self, api):
        self.api = api
        self.code = 0
        self.serving = False
        self.stops = []

    def serve(self, app):
        """Serve app on the API's port from a thread: the API's base
        URL."""
        self.api.set_app(app)
        threading.Thread(target=self.api.serve_forever, daemon=True,
                         name='nova-ibmz-sandbox-api').start()
        self.serving = True
        return f'http://127.0.0.1:{self.api.server_port}'


@contextlib.contextmanager
def _running(api, expected=()):
    """A _Run until the body ends: Ctrl-C or SIGTERM (which cli.main turns
    into KeyboardInterrupt) end it with code 0, an error of the expected
    kinds with its one line and code 1, anything else with a traceback and
    code 1.  Then the API stops and everything in stops, last first."""
    run = _Run(api)
    try:
        yield run
    except KeyboardInterrupt:
        pass
    except expected as error:
        _say(f'nova-ibmz sandbox: {error}')
        run.code = 1
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        run.code = 1
    finally:
        if run.serving:
            api.shutdown()
        api.server_close()
        for stop in reversed(run.stops):
            stop()


def run(api, state_dir, demo=False):
    """Serve the sandbox on api (from listen()) until SIGINT or SIGTERM,
    or until the demo ends; returns the exit code.  state_dir is
    absolute: every file written there names paths in it, for readers in
    any working directory.

    nova-compute 34 runs on native threads: nova's monkey patching is set
    to threading before anything imports nova's harness.
    """
    os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
    from nova import monkey_patch
    monkey_patch.patch()
    from nova_ibmz.sandbox import cloud

    started = time.monotonic()
    sims = simulators.Simulators(state_dir).start()
    with _running(api) as running:
        running.stops.append(sims.stop)
        configs = sims.write_host_configs()
        log_file = state_dir / 'nova.log'
        nova = cloud.Cloud(sims, log_file,
                           periodic_seconds=PERIODIC_SECONDS).start()
        running.stops.append(nova.stop)
        base = running.serve(catalog.Catalog(nova, nova.app()))
        clouds = write_clouds_yaml(state_dir, base)
        write_endpoints(state_dir, base, clouds, sims)
        _say(f'nova-ibmz sandbox ready in {time.monotonic() - started:.1f} s '
             '(one-process mode: Nova\'s services in this process, '
             'neutron-server and Glance in their own)',
             f'Nova API: {base}/v2.1',
             f'Logs: Nova: {log_file}',
             f'      Neutron and its agents: {nova.neutron.log_file}',
             f'      Glance: {nova.glance.log_file}',
             'Each compute host\'s nova.conf:',
             *(f'  {host}: {path}' for host, path in configs.items()),
             f'Nova\'s resource audit and power-state sync run every '
             f'{PERIODIC_SECONDS} s, its other periodic tasks at its '
             'default intervals.',
             *usage(clouds), 'Ctrl-C stops it.')
        if demo:
            running.code = subprocess.call(
                [sys.executable, '-m', 'nova_ibmz.sandbox.demo',
                 str(state_dir)], stdout=sys.__stdout__,
                stderr=sys.__stderr__)
        else:
            while True:
                signal.pause()
    _say('nova-ibmz sandbox stopped')
    return running.code


def run_scaleout(api, state_dir, **options):
    """Serve the scale-out sandbox (scaleout.ScaleOut(state_dir, **options))
    on api until SIGINT or SIGTERM; returns the exit code.  This process
    runs the simulators and the front door (Keystone's stand-in and the
    catalog's paths); every OpenStack service is a process it started and
    stops.  A broker or database that does not answer is an error in one
    line, exit code 1."""
    from nova_ibmz.sandbox import backing
    from nova_ibmz.sandbox import scaleout

    started = time.monotonic()
    sandbox = scaleout.ScaleOut(state_dir, **options)
    _say('nova-ibmz sandbox, scale-out mode: every service a process of '
         f'its own; logs in {sandbox.logs}')
    with _running(api, (backing.Missing, processes.ServiceError)) as running:
        running.stops.append(sandbox.stop)
        sandbox.start()
        base = running.serve(catalog.Gateway(sandbox.urls,
                                             scaleout.PROJECT_ID))
        clouds = write_clouds_yaml(state_dir, base)
        write_endpoints(state_dir, base, clouds, sandbox.sims,
                        services=sandbox.urls)
        _say(f'nova-ibmz sandbox (scale-out) ready in '
             f'{time.monotonic() - started:.1f} s',
             f'Nova API: {base}/v2.1',
             f'RabbitMQ: {backing.without_password(sandbox.transport_url)}',
             f'MariaDB: {backing.without_password(sandbox.database_url)}',
             'Each service, its process and its log:',
             *(f'  {name} (pid {process.pid}): {process.log_file}'
               for name, process in sandbox.processes().items()),
             *usage(clouds), 'Ctrl-C stops every process.')
        while True:
            signal.pause()
    _say('nova-ibmz sandbox stopped: every process it started ended')
    return running.code


def write_clouds_yaml(state_dir, base):
    """clouds.yaml with the cloud CLOUD: the sandbox's identity endpoint,
    which gives any user a token and the catalog of the services (the
    password is no secret: the sandbox takes every caller as the
    admin)."""
    path = state_dir / 'clouds.yaml'
    path.write_text(yaml.safe_dump({'clouds': {CLOUD: {
        'auth_type': 'password',
        'auth': {'auth_url': f'{base}/identity',
                 'username': identity.USER, 'password': 'sandbox',
                 'project_name': identity.USER,
                 'user_domain_name': identity.DOMAIN['name'],
                 'project_domain_name': identity.DOMAIN['name']},
        'identity_api_version': '3',
        'region_name': identity.REGION,
        'interface': 'public',
    }}}, sort_keys=False))
    return path


def write_endpoints(state_dir, base, clouds_yaml, sims, services=None):
    """sandbox.json: the cloud's address, where each simulator's request
    log is, and where the drivers' requests are counted by cause (one
    process) or each service's own address (scale-out), for the demo and
    for scripts."""
    found = {'cloud': CLOUD, 'clouds_yaml': str(clouds_yaml), 'api': base,
             'request_logs': sims.request_logs()}
    if services is None:
        found['requests'] = f'{base}{catalog.REQUESTS}'
    else:
        found['services'] = services
    (state_dir / 'sandbox.json').write_text(json.dumps(found, indent=2))


def usage(clouds):
    cli = f'openstack --os-cloud {CLOUD}'
    return [
        'Use it with the stock openstack client:',
        f'  export OS_CLIENT_CONFIG_FILE={clouds}',
        f'  {cli} hypervisor list',
        f'  {cli} resource provider list',
        f'  {cli} server create --image {seed.IMAGE_NAME} '
        f'--flavor {seed.SMALL_FLAVOR} --network {seed.FLAT.name} --wait vm1',
        f'  {cli} server create --volume {seed.BOOT_VOLUME} '
        f'--flavor {seed.SMALL_FLAVOR} --network {seed.FLAT.name} '
        f'--network {seed.VLAN.name} --wait lpar1',
        f'  {cli} server list --long',
        f'  {cli} console log show vm1',
        f'  {cli} server migrate --live-migration --wait vm1',
        f'  {cli} server add volume vm1 {seed.DATA_VOLUMES[0]}',
        f'  {cli} server delete --wait vm1 lpar1',
    ]


def leave(code):
    """End the process once the sandbox is stopped.  Threads of the stopped
    services may still sleep out their periodic intervals, and the
    interpreter would wait for them: nothing is left to do."""
    sys.__stdout__.flush()
    sys.__stderr__.flush()
    os._exit(code)
