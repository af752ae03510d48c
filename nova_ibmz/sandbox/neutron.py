# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A real neutron-server for the sandbox and the Nova-side tests, in a
process of its own (nova_ibmz/neutron/server.py): Nova and Neutron both
register options on the global oslo CONF, so they never share one.  This
module imports no neutron: it writes the server's configuration and runs
the process.

    config = neutron.write_config(state_dir / 'neutron.conf',
                                  state_dir=state_dir,
                                  physical_networks=['physnet1'],
                                  nova_url='http://127.0.0.1:8774/v2.1',
                                  agents=[(factory, agent_conf)])
    with neutron.NeutronServer(config) as server:
        ...  # server.url: its API, e.g. http://127.0.0.1:40123/v2.0/...
"""

import configparser
import os
import pathlib
import select
import signal
import subprocess
import sys
import sysconfig
import time

import requests

from nova_ibmz.sandbox import seed

READY = 'neutron-server ready: '
START_SECONDS = 120
STOP_SECONDS = 30
# The tail of the log shown when the server does not come up.
LOG_TAIL_LINES = 30


def api_paste_config():
    """The api-paste.ini the neutron package installs (under the venv's
    etc/neutron/, its data files' root)."""
    return os.path.join(sysconfig.get_paths()['data'], 'etc', 'neutron',
                        'api-paste.ini')


def write_config(path, state_dir, physical_networks=(), nova_url=None,
                 nova_token=None, agents=(), debug=False, overrides=None):
    """Write a neutron.conf for nova_ibmz.neutron.server; returns path.

    Everything lives in state_dir: the sqlite database (neutron.sqlite,
    kept across starts), the log (neutron.log) and the lock files.
    physical_networks: the names flat and VLAN provider networks may use
    (any VLAN id on each).  nova_url: the Nova API endpoint Neutron
    notifies of port events (``.../v2.1``: it POSTs to
    ``/os-server-external-events`` under it), with nova_token as an admin
    token (auth_type admin_token), or no token (auth_type none) if None;
    without nova_url Neutron notifies nobody.  agents: (``module:callable``,
    config file) pairs the server runs as threads (its ``[ibmz_sandbox]
    agents`` hook).  overrides: {section: {option: value}} set last,
    for what a test tunes (such as ``agent_down_time``).  The file holds
    the token: only its owner reads it.
    """
    state_dir = pathlib.Path(state_dir).absolute()
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str
    conf['DEFAULT'] = {
        'core_plugin': 'ml2',
        'service_plugins': '',
        'auth_strategy': 'noauth',
        'api_paste_config': api_paste_config(),
        # The agents run in the server's process (see the agents hook).
        'transport_url': 'fake:/',
        'state_path': str(state_dir),
        'log_file': str(state_dir / 'neutron.log'),
        'debug': str(bool(debug)).lower(),
        'notify_nova_on_port_status_changes': str(bool(nova_url)).lower(),
        'notify_nova_on_port_data_changes': str(bool(nova_url)).lower(),
    }
    conf['database'] = {
        'connection': f'sqlite:///{state_dir / "neutron.sqlite"}',
        # No fsync at each commit: a sandbox's database, not a cloud's.
        'sqlite_synchronous': 'false'}
    conf['oslo_concurrency'] = {'lock_path': str(state_dir / 'lock')}
    conf['ml2'] = {
        'type_drivers': 'flat,vlan',
        'tenant_network_types': '',
        'mechanism_drivers': 'ibmz_dpm,ibmz_zvm',
    }
    conf['ml2_type_flat'] = {'flat_networks': ','.join(physical_networks)}
    conf['ml2_type_vlan'] = {
        'network_vlan_ranges': ','.join(physical_networks)}
    if nova_url:
        conf['nova'] = ({'auth_type': 'admin_token', 'endpoint': nova_url,
                         'token': nova_token} if nova_token else
                        {'auth_type': 'none', 'endpoint': nova_url})
    conf['ibmz_sandbox'] = {
        'agents': ','.join(f'{factory}:{file}' for factory, file in agents)}
    for section, options in (overrides or {}).items():
        conf.setdefault(section, {})
        conf[section].update(options)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        conf.write(f)
    return path


def log_file(config_file):
    """The log file a configuration names."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.read(config_file)
    return conf['DEFAULT']['log_file']


class NeutronServer:
    """nova_ibmz.neutron.server running from config_file on 127.0.0.1:port
    (0: a free one).  start() returns once it serves (~3 s on 2 cores,
    ~6 s for a new database); stop() sends SIGTERM and waits for it."""

    def __init__(self, config_file, port=0, env=None):
        self.config_file = pathlib.Path(config_file).absolute()
        self.port = port
        # Added to this process's environment (a test's PYTHONPATH for
        # the agents it names).
        self.env = env
        self.url = None
        self.process = None

    def start(self, timeout=START_SECONDS):
        """Start the process and wait for its ready line: its URL.
        RuntimeError, with the end of its log, if it exits or does not
        get ready within timeout seconds."""
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'nova_ibmz.neutron.server',
             '--config-file', str(self.config_file),
             '--port', str(self.port), '--stop-at-stdin-eof'],
            # Our end of stdin closes when this process ends, however it
            # ends: the server then stops too.
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
            env=dict(os.environ, **(self.env or {})))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [],
                                        deadline - time.monotonic())
            line = self.process.stdout.readline() if ready else ''
            if line.startswith(READY):
                self.url = line[len(READY):].strip()
                return self.url
            if not line:    # it closed its output, or the time is up
                break
        self.stop()
        raise RuntimeError(
            f'neutron-server did not start (exit code '
            f'{self.process.returncode}); the end of its log:\n'
            f'{self._log_tail()}')

    def stop(self, timeout=STOP_SECONDS):
        """SIGTERM, then wait (SIGKILL after timeout): its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        return self.process.returncode

    def _log_tail(self):
        try:
            with open(log_file(self.config_file)) as f:
                return ''.join(f.readlines()[-LOG_TAIL_LINES:])
        except OSError as error:
            return f'(no log: {error})'

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class NeutronAPI:
    """Requests to the API of the neutron-server at url
    (``http://127.0.0.1:<port>``), as an administrator."""

    def __init__(self, url=None):
        super().__init__()
        self.url = url

    def request(self, method, path, body=None):
        """One request to Neutron's API (path under /v2.0): its JSON."""
        answer = requests.request(method, f'{self.url}/v2.0{path}',
                                  json=body, timeout=60)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def provider_network(self, net, project_id,
                         physical_network=seed.PHYSNET):
        """The provider network of net (a seed.ProviderNetwork) on
        physical_network with its subnet, made if Neutron has none of that
        name (its database outlives a sandbox, so the network keeps its
        id)."""
        found = self.request('GET', f'/networks?name={net.name}')['networks']
        if found:
            return found[0]
        network = self.request('POST', '/networks', {'network': dict({
            'name': net.name, 'shared': True, 'project_id': project_id,
            'provider:network_type': net.network_type,
            'provider:physical_network': physical_network},
            **({'provider:segmentation_id': net.vlan} if net.vlan else {}))})
        self.request('POST', '/subnets', {'subnet': {
            'name': f'{net.name}-subnet',
            'network_id': network['network']['id'],
            'cidr': net.cidr, 'ip_version': 4, 'enable_dhcp': False,
            'project_id': project_id}})
        return network['network']

    def ports(self, **filters):
        """Neutron's ports matching the filters (all when none)."""
        query = '&'.join(f'{k}={v}' for k, v in filters.items())
        return self.request('GET', f'/ports?{query}')['ports']
