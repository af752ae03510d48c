# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The scale-out sandbox: every service a process of its own, as in a real
deployment, messaging over RabbitMQ and Nova's databases in MariaDB.

    placement, nova-api       gunicorn (apps.py), databases in MariaDB
    nova-conductor, -scheduler  the stock console scripts
    nova-compute <host>       the stock console script, one per compute
                              host, with nova.conf and its <host>.conf
    neutron-server            nova_ibmz.neutron.server, sqlite
    neutron-ibmz-*-agent      one process per compute host
    glance                    gunicorn, sqlite and a file store (glance.py)
    cinder                    the stand-in (cinder.py): no FC backend
                              exists without hardware

The simulators run in this process, as in the embedded mode.  Each
service's output goes to `<state-dir>/logs/<service>.log`.  Restarting a
service (restart(), kill()) starts the same command line again, as an
operator does.

Nothing here imports nova or neutron: they run in the processes started.
"""

import pathlib
import shutil
import subprocess
import sys
import time

import requests

from nova_ibmz.sandbox import backing
from nova_ibmz.sandbox import deployment
from nova_ibmz.sandbox import glance
from nova_ibmz.sandbox import neutron
from nova_ibmz.sandbox import processes
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import simulators

# The project of every caller, the same as the embedded sandbox's.
PROJECT_ID = '6f70656e737461636b20342065766572'
COMPUTE_MICROVERSION = '2.96'
# The hypervisors' detail without the uptime Nova asks each compute for
# over RPC from 2.88 on.
HYPERVISORS_MICROVERSION = '2.87'
START_SECONDS = 180
GUNICORN = ('--workers', '1', '--threads', '8', '--worker-class', 'gthread',
            # gunicorn's default (2 s) drops the connections clients keep.
            '--keep-alive', '75', '--timeout', '300')


def _bin(name):
    """A console script of this environment (nova-compute, gunicorn)."""
    return str(pathlib.Path(sys.executable).parent / name)


class ScaleOut:
    """start() brings every service up and seeds the cloud; stop() ends
    every process it started.  transport_url / database_url: a running
    RabbitMQ / MariaDB to use (checked at start), or None to start private
    ones in the state directory."""

    def __init__(self, state_dir, transport_url=None, database_url=None,
                 dpm_hosts=1, zvm_hosts=2, debug=False):
        self.state_dir = pathlib.Path(state_dir).absolute()
        self.logs = self.state_dir / 'logs'
        self.transport_url = transport_url
        self.database_url = database_url
        self.sims = simulators.Simulators(self.state_dir, dpm_hosts,
                                          zvm_hosts)
        self.debug = debug
        self.backing = []           # private RabbitMQ and MariaDB
        self.services = {}          # name: processes.Process
        self.glance = None
        self.urls = {}

    # -- start -----------------------------------------------------------

    def start(self):
        self.logs.mkdir(parents=True, exist_ok=True)
        self._backing()
        self.sims.start()
        nova_dir = self.state_dir / 'nova'
        # The hypervisors start empty, and so do Nova's state and
        # databases.
        shutil.rmtree(nova_dir, ignore_errors=True)
        # Cinder's attachments were to servers of that database: its
        # volumes start seeded and unattached, as in the one-process mode.
        (self.state_dir / 'cinder.json').unlink(missing_ok=True)
        names = {key: f'ibmz_{name}'
                 for key, name in deployment.DATABASES.items()}
        created = backing.recreate_databases(self.database_url,
                                             names.values())
        ports = {name: processes.free_port()
                 for name in ('placement', 'nova', 'cinder', 'neutron')}
        self.urls = {name: f'http://127.0.0.1:{port}'
                     for name, port in ports.items()}
        self.glance = glance.Glance(self.state_dir / 'glance', PROJECT_ID,
                                    log_file=self.logs / 'glance.log')
        self.urls['glance'] = self.glance.start()
        self.nova = deployment.NovaConfig(
            nova_dir, self.transport_url,
            {key: created[name] for key, name in names.items()},
            PROJECT_ID, self.debug).write(self.urls)
        self._sync_databases()
        self._gunicorn('placement', 'placement()', ports['placement'],
                       {'OS_PLACEMENT_CONFIG_DIR': str(nova_dir)})
        self._start('cinder', [
            sys.executable, '-m', 'nova_ibmz.sandbox.cinder',
            '--port', ports['cinder'],
            '--state-file', self.state_dir / 'cinder.json',
            '--nova-url', self.urls['nova'] + '/v2.1',
            # Volumes made from an image carry its properties from Glance.
            '--glance-url', self.urls['glance'], '--seed'],
                    ready=processes.answers(self.urls['cinder']))
        self._neutron(ports['neutron'])
        self._gunicorn('nova-api', 'nova_api()', ports['nova'], {
            'OS_NOVA_CONFIG_DIR': str(nova_dir),
            'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf;control.conf'})
        for service in ('nova-conductor', 'nova-scheduler'):
            self._start(service, [_bin(service), *self.nova.control_args()])
        host_confs = self.sims.write_host_configs(state_paths=nova_dir)
        agent_confs = self.sims.write_agent_configs(seed.PHYSNET)
        for host in host_confs:
            agent = ('neutron-ibmz-dpm-agent' if host in self.sims.dpm_hosts
                     else 'neutron-ibmz-zvm-agent')
            self._start(f'{agent}-{host}', [
                _bin(agent), '--config-file', self.agent_conf,
                '--config-file', agent_confs[host]])
            self._start(f'nova-compute-{host}', [
                _bin('nova-compute'),
                *self.nova.compute_args(host_confs[host])])
        self.wait_for_hosts()
        self._seed()
        return self

    def _backing(self):
        self.transport_url = self._given_or_private(
            self.transport_url, backing.check_broker, backing.RabbitMQ,
            'rabbitmq')
        self.database_url = self._given_or_private(
            self.database_url, backing.check_database, backing.MariaDB,
            'mariadb')

    def _given_or_private(self, url, check, server_class, directory):
        """url once check says it answers, or the URL of a private server
        (server_class) started in the state directory."""
        if url is not None:
            check(url)
            return url
        server = server_class(self.state_dir / directory).start()
        self.backing.append(server)
        return server.url

    def _sync_databases(self):
        """Nova's and Placement's schemas, and the cells, as an operator's
        first `nova-manage` runs make them."""
        manage = [_bin('nova-manage'), *self.nova.control_args()]
        for args in (['api_db', 'sync'],
                     ['cell_v2', 'map_cell0', '--database_connection',
                      self.nova.databases['cell0']],
                     ['cell_v2', 'create_cell', '--name', 'cell1'],
                     ['db', 'sync']):
            self._run(manage + args)
        self._run([_bin('placement-manage'), '--config-file',
                   self.nova.placement_conf, 'db', 'sync'])

    def _run(self, argv):
        with open(self.logs / 'setup.log', 'ab') as log:
            done = subprocess.run([str(a) for a in argv], stdout=log,
                                  stderr=subprocess.STDOUT)
        if done.returncode:
            raise processes.ServiceError(
                f'{" ".join(map(str, argv[:3]))} ... failed (exit code '
                f'{done.returncode}): see {self.logs / "setup.log"}')

    def _start(self, name, argv, env=None, ready=None):
        self.services[name] = processes.Process(
            name, argv, self.logs / f'{name}.log', env=env,
            ready=ready).start(START_SECONDS)

    def _gunicorn(self, name, factory, port, env):
        self._start(name, [_bin('gunicorn'), '--bind', f'127.0.0.1:{port}',
                           *GUNICORN, '--name', name,
                           f'nova_ibmz.sandbox.apps:{factory}'],
                    env=env, ready=processes.answers(
                        f'http://127.0.0.1:{port}/'))

    def _neutron(self, port):
        directory = self.state_dir / 'neutron'
        config = neutron.write_config(
            directory / 'neutron.conf', state_dir=directory,
            physical_networks=[seed.PHYSNET],
            nova_url=self.urls['nova'] + '/v2.1', debug=self.debug,
            overrides={'DEFAULT': {'transport_url': self.transport_url,
                                   'log_file': str(self.logs /
                                                   'neutron-server.log')}})
        self.agent_conf = deployment.write(directory / 'agent.conf', {
            'DEFAULT': {'transport_url': self.transport_url,
                        'debug': str(self.debug).lower()},
            'oslo_concurrency': {'lock_path': directory / 'lock'}})
        self.urls['neutron'] = f'http://127.0.0.1:{port}'
        self._start('neutron-server', [
            sys.executable, '-m', 'nova_ibmz.neutron.server',
            '--config-file', config, '--port', port],
            ready=processes.answers(self.urls['neutron']))

    # -- use -------------------------------------------------------------

    def nova_api(self, method, path, body=None, timeout=60,
                 microversion=COMPUTE_MICROVERSION):
        """One request to Nova's API (path under /v2.1) as the admin: its
        JSON.  requests.HTTPError if it fails."""
        answer = requests.request(
            method, f'{self.urls["nova"]}/v2.1{path}', json=body,
            timeout=timeout,
            headers={'X-Auth-Token': 'sandbox',
                     'OpenStack-API-Version': f'compute {microversion}'})
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def hosts(self):
        return tuple(self.sims.host_options())

    def wait_for_hosts(self, timeout=START_SECONDS):
        """Until every compute service reports up, every host is a
        hypervisor of the cell (the scheduler's discovery mapped it) and
        answers RPC calls (Nova asks each its uptime for the hypervisors'
        detail from microversion 2.88 on: one that has only just started
        may not consume its queue yet, and the API answers 500)."""
        deadline = time.monotonic() + timeout
        while True:
            services = self.nova_api(
                'GET', '/os-services?binary=nova-compute')['services']
            up = {s['host'] for s in services if s['state'] == 'up'}
            # A z/VM host's node is its member's name, not the host's.
            hypervisors = {h['service']['host'] for h in self.nova_api(
                'GET', '/os-hypervisors/detail',
                microversion=HYPERVISORS_MICROVERSION)['hypervisors']}
            missing = (set(self.hosts()) - up) | (set(self.hosts()) -
                                                  hypervisors)
            if not missing and self._computes_answer():
                return
            if time.monotonic() > deadline:
                raise processes.ServiceError(
                    f'compute hosts not up after {timeout} s: '
                    f'{", ".join(sorted(missing)) or "RPC unanswered"} '
                    f'(logs in {self.logs})')
            time.sleep(1)

    def _computes_answer(self):
        try:
            self.nova_api('GET', '/os-hypervisors/detail')
        except requests.HTTPError as error:
            if error.response.status_code != 500:
                raise
            return False
        return True

    def _seed(self):
        """What a user needs to boot servers: the sandbox's flavors, image,
        volumes and provider networks, under the same ids as in the
        embedded mode."""
        for name, (vcpus, memory_mb, disk_gb) in seed.FLAVORS.items():
            self.nova_api('POST', '/flavors', {'flavor': {
                'id': seed.stable_id(f'flavor-{name}'), 'name': name,
                'vcpus': vcpus, 'ram': memory_mb, 'disk': disk_gb}})
        api = neutron.NeutronAPI(self.urls['neutron'])
        for port in api.ports():
            if port['device_owner'].startswith('compute:'):
                api.request('DELETE', f'/ports/{port["id"]}')
        for net in seed.NETWORKS:
            api.provider_network(net, PROJECT_ID)
        glance.seed_image(self.urls['glance'])

    # -- restart and stop ------------------------------------------------

    def kill(self, name):
        """kill -9 of a service, as a crash does."""
        self.services[name].kill()

    def restart(self, name):
        """The same command line started again (after kill() or not)."""
        service = self.services[name]
        service.stop()
        service.start(START_SECONDS)

    def processes(self):
        """{name: processes.Process} of every process started, in the
        order they started."""
        found = {s.process.name: s.process for s in self.backing
                 if s.process is not None}
        if self.glance is not None and self.glance.process is not None:
            found[self.glance.process.name] = self.glance.process
        found.update(self.services)
        return found

    def usage(self):
        """{service: (resident bytes, CPU seconds)} of every process."""
        return {name: p.usage() for name, p in self.processes().items()}

    def stop(self):
        """Stop every process started, the last started first."""
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.glance is not None:
            self.glance.stop()
        for server in reversed(self.backing):
            server.stop()
        self.sims.stop()
