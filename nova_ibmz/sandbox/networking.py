# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's services in this process on a real neutron-server.

Nova runs in one process (nova's harness: the sandbox, the functional
tests) and Neutron in one of its own (sandbox/neutron.py starts it): both
register options on the global oslo CONF.  Nova reaches Neutron over HTTP
([neutron] with no authentication, Neutron's address), Neutron tells Nova's
API of port events over HTTP ([nova] in its configuration), and the
network agent of each compute host runs as a thread of the Neutron
process, on the simulators' real protocols.  No port is bound by anything
but our mechanism drivers.

Cost: starting takes about 3 s (6 s on a new database), plus each agent's
start (the DPM agent checks its mappings against the HMC).
"""

import socketserver
import threading
from wsgiref import simple_server

import fixtures
import nova.network.neutron

from nova_ibmz.sandbox import neutron as launcher
from nova_ibmz.sandbox import seed

# What nova's NeutronFixture replaces (nova's harness makes one in every
# test case's setUp): taken at import, before any fixture runs.
_NOVA_NEUTRON_CLIENT = nova.network.neutron.get_client
DPM_AGENT = 'nova_ibmz.neutron.dpm.agent:server_agent'
ZVM_AGENT = 'nova_ibmz.neutron.zvm.agent:server_agent'


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Silent(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        pass        # Nova's own request log has these requests


def admin_caller(app, project_id):
    """Nova's WSGI app as nova's harness serves it (noauth2) for callers
    that send no credentials (the stock client on the sandbox, Neutron's
    notifier): the admin of project_id."""
    def with_caller(environ, start_response):
        environ.setdefault('HTTP_X_AUTH_USER', 'admin')
        environ.setdefault('HTTP_X_AUTH_PROJECT_ID', project_id)
        environ.setdefault('HTTP_X_ROLES', 'admin,member,reader')
        return app(environ, start_response)
    return with_caller


class NovaEvents(fixtures.Fixture):
    """Nova's API on a free port of 127.0.0.1, where Neutron posts its port
    events (os-server-external-events): app, made by app_factory at the
    first request, or set later (a test gives each Nova its turn).  url
    is known from the start, before Nova's API can be loaded."""

    def __init__(self, app_factory=None):
        super().__init__()
        self.app_factory = app_factory
        self.app = None
        self.url = None

    def _setUp(self):
        server = simple_server.make_server('127.0.0.1', 0, self._app,
                                           server_class=_Server,
                                           handler_class=_Silent)
        threading.Thread(target=server.serve_forever, daemon=True,
                         name='nova-events').start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = f'http://127.0.0.1:{server.server_port}/v2.1'

    def _app(self, environ, start_response):
        if self.app is None:
            self.app = self.app_factory()
        return self.app(environ, start_response)


def nova_on(test, url):
    """test's Nova (a nova _IntegratedTestBase) on the neutron-server at
    url, for the rest of the test: nova's own client back (its harness's
    NeutronFixture replaced it), without authentication (Neutron's noauth
    strategy takes every caller as the admin), and waiting for
    network-vif-plugged (NeutronFixture turned the wait off: its ports
    sent no events)."""
    test.useFixture(fixtures.MonkeyPatch(
        'nova.network.neutron.get_client', _NOVA_NEUTRON_CLIENT))
    test.flags(auth_type='none', endpoint_override=url, group='neutron')
    test.flags(vif_plugging_timeout=300)


class RealNeutron(launcher.NeutronAPI, fixtures.Fixture):
    """A neutron-server with the agents of agent_configs ({host: (factory,
    config file)}), and test's Nova configured to use it.  nova_url: the
    Nova API Neutron notifies of port events (``http://.../v2.1``)."""

    def __init__(self, test, state_dir, nova_url, agent_configs,
                 physical_networks=(seed.PHYSNET,)):
        super().__init__()
        self.test = test
        self.state_dir = state_dir
        self.nova_url = nova_url
        self.agent_configs = agent_configs
        self.physical_networks = physical_networks

    def _setUp(self):
        config = launcher.write_config(
            self.state_dir / 'neutron.conf', state_dir=self.state_dir,
            physical_networks=self.physical_networks,
            nova_url=self.nova_url,
            agents=list(self.agent_configs.values()))
        server = launcher.NeutronServer(config)
        self.log_file = launcher.log_file(config)
        self.url = server.start()
        self.addCleanup(server.stop)
        nova_on(self.test, self.url)
