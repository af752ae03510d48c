# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The functional tests' Neutron: one real neutron-server for the whole
test process (nova_ibmz/sandbox/neutron.py starts it, in a process of its
own), started on first use as the simulators of tests/hmc.py and
tests/connector.py are, with the network agent of each compute host of
the clouds (dpm_cloud.py, zvm_cloud.py) in it, on those simulators:

- dpm-subset-1's and dpm-subset-2's DPM agents (two subsets of CPC1) on
  the HMC simulator map physnet1 to OSD-1's port 0 (virtual switch
  hmc.VSWITCH_OSD_1) and physnet2 to OSD-2's port 0 (hmc.VSWITCH_OSD_2);
- cpc3-subset-1's DPM agent (a subset of CPC3, on the same HMC) maps
  physnet1 to OSD-3's port 0 (hmc.CPC3_VSWITCH_OSD_1) and physnet2 to
  OSD-4's port 0 (hmc.CPC3_VSWITCH_OSD_2): a port moved there (a resize
  or a cold migration to another CPC) is bound to CPC3's virtual switches;
- zvm-1's and zvm-2's z/VM agents, on the two members' connectors, map
  physnet1 to VSWITCH1;
- no agent maps physnet3.

Its provider networks, made once: NET_1 (flat, physnet1), NET_2 (VLAN 200,
physnet2) and UNMAPPED (flat, physnet3).  Neutron's [nova] endpoint is
fixed when it starts: it posts port events to a relay of its own
(networking.NovaEvents), which hands them to the Nova API of the test that
runs (Neutron() gives each test its turn) and notes them.

Each test resets the simulators, not Neutron: its agents see the NICs go
and report them down, and the ports of the test's servers are deleted
when it ends.  A test that needs Neutron otherwise (an agent gone, other
options) restarts it (Neutron.restart); the next test gets it back as it
was.  Cost: ~5 s at the first start (a new database), ~3 s a restart.
"""

import atexit
import io
import json
import pathlib
import tempfile

import fixtures
from nova.compute import rpcapi
from nova.tests import fixtures as nova_fixtures
# nova.api.wsgi uses webob.dec without importing it: first.
import webob.dec  # noqa: F401,I100
from nova.api import wsgi as nova_wsgi  # noqa: I100

from nova_ibmz.sandbox import networking
from nova_ibmz.sandbox import neutron as launcher
from nova_ibmz.sandbox import seed
from tests import connector
from tests import hmc
from tests import hmcsim
from tests import zvm_agent_config

DPM_HOST = 'dpm-subset-1'
# Destinations of resizes and cold migrations: another subset of the CPC
# of DPM_HOST, and a subset of the other CPC of the HMC.
DPM_SUBSET_2 = 'dpm-subset-2'
CPC3_HOST = 'cpc3-subset-1'
ZVM_HOSTS = {'zvm-1': connector.server, 'zvm-2': connector.second}
# physnet -> the virtual switch the DPM agent maps it to.
DPM_VSWITCHES = {'physnet1': hmc.VSWITCH_OSD_1,
                 'physnet2': hmc.VSWITCH_OSD_2}
CPC3_VSWITCHES = {'physnet1': hmc.CPC3_VSWITCH_OSD_1,
                  'physnet2': hmc.CPC3_VSWITCH_OSD_2}
# DPM host -> (its CPC's object-id, {physnet: virtual switch}).
DPM_HOSTS = {DPM_HOST: (hmc.CPC_ID, DPM_VSWITCHES),
             DPM_SUBSET_2: (hmc.CPC_ID, DPM_VSWITCHES),
             CPC3_HOST: (hmc.CPC3_ID, CPC3_VSWITCHES)}
HOSTS = (*DPM_HOSTS, *ZVM_HOSTS)
ZVM_MAPPINGS = 'physnet1:VSWITCH1'
UNMAPPED_PHYSNET = 'physnet3'
NET_1 = seed.ProviderNetwork('osd-1', 'flat', '10.1.0.0/24')
NET_2 = seed.ProviderNetwork('osd-2', 'vlan', '10.2.0.0/24', vlan=200)
UNMAPPED = seed.ProviderNetwork('unmapped', 'flat', '10.3.0.0/24')
PHYSNETS = {NET_1: 'physnet1', NET_2: 'physnet2', UNMAPPED: UNMAPPED_PHYSNET}
# Neutron sends Nova its port events in batches, every 2 s by default: a
# boot waits for them.
OPTIONS = {'DEFAULT': {'send_events_interval': '1'}}
# Taken on import (test collection): nova's TestCase points tempfile at a
# directory of its own that goes away after each test.
TMP_ROOT = tempfile.gettempdir()
_servers = []


def _no_nova(environ, start_response):
    """The relay between tests: no Nova to tell."""
    start_response('404 Not Found', [('Content-Type', 'text/plain')])
    return [b'no test runs']


def _dpm_agent(path, host, cpc_id, vswitches):
    """The agent configuration of DPM host, a subset of CPC cpc_id, as an
    operator writes it for the HMC simulator: the adapter ports behind
    vswitches ({physnet: virtual switch object-id} of that CPC)."""
    sim = hmc.server()
    with sim.sim.lock:
        cpc = hmc.faked_cpc(cpc_id=cpc_id)
        adapters = {physnet: cpc.virtual_switches.lookup_by_oid(
            vswitch).properties['backing-adapter-uri'].rsplit('/', 1)[1]
            for physnet, vswitch in vswitches.items()}
    lines = ['[DEFAULT]', f'host = {host}', '[dpm]',
             f'hmc = 127.0.0.1:{sim.port}', f'hmc_username = {hmcsim.USERID}',
             f'hmc_password = {hmcsim.PASSWORD}',
             f'hmc_ca_file = {sim.certs.ca_file}',
             f'cpc_object_id = {cpc_id}',
             # An HMC outage of a test fails each poll at once, and the
             # next poll asks again.
             'hmc_retries = 0']
    # A MultiStrOpt: a line per mapping.
    lines += [f'physical_network_adapter_mappings = {physnet}:{adapter}:0'
              for physnet, adapter in adapters.items()]
    lines += ['[agent]', 'polling_interval = 1', 'report_interval = 1']
    path.write_text('\n'.join(lines) + '\n')
    return networking.DPM_AGENT, str(path)


class SharedServer(launcher.NeutronAPI):
    """The process's neutron-server (server()), and the relay where it
    posts its port events."""

    def __init__(self):
        self.state_dir = pathlib.Path(tempfile.mkdtemp(
            prefix='nova-ibmz-neutron-', dir=TMP_ROOT))
        self.relay = networking.NovaEvents()
        self.relay.setUp()
        self.relay.app = _no_nova
        self.agents = {host: _dpm_agent(self.state_dir / f'{host}.ini',
                                        host, cpc_id, vswitches)
                       for host, (cpc_id, vswitches) in DPM_HOSTS.items()}
        for host, sim in ZVM_HOSTS.items():
            self.agents[host] = zvm_agent_config.write(
                self.state_dir / f'{host}.ini', sim().url, host,
                mappings=ZVM_MAPPINGS, token=connector.ADMIN_TOKEN)
        self.process = None
        self.running = None     # (hosts, options) it runs with
        self.networks = None

    def run(self, hosts=HOSTS, options=None):
        """The server with the agents of hosts and options ({section:
        {option: value}} over OPTIONS), restarted if it runs otherwise
        (its database stays): its URL."""
        wanted = (tuple(hosts), options or {})
        if self.running == wanted:
            return self.url
        self.stop()
        merged = {s: dict(OPTIONS.get(s, {}), **(options or {}).get(s, {}))
                  for s in {*OPTIONS, *(options or {})}}
        config = launcher.write_config(
            self.state_dir / 'neutron.conf', self.state_dir,
            physical_networks=sorted(set(PHYSNETS.values())),
            nova_url=self.relay.url,
            agents=[self.agents[host] for host in hosts], overrides=merged)
        self.process = launcher.NeutronServer(config)
        self.url = self.process.start()
        self.running = wanted
        if self.networks is None:
            self.networks = {net: self.provider_network(
                net, nova_fixtures.PROJECT_ID, physical_network=physnet)
                for net, physnet in PHYSNETS.items()}
        return self.url

    def stop(self):
        if self.process is not None:
            self.process.stop()
        self.process = self.running = None

    def log(self):
        """Neutron's log, with its agents' lines."""
        return (self.state_dir / 'neutron.log').read_text()


def server():
    """The process's SharedServer, made on first use (not started)."""
    if not _servers:
        _servers.append(SharedServer())
        atexit.register(_servers[0].relay.cleanUp)
        atexit.register(_servers[0].stop)
    return _servers[0]


def stop():
    """The process's neutron-server stopped, if it runs (with its
    agents)."""
    if _servers:
        _servers[0].stop()


class Neutron(launcher.NeutronAPI, fixtures.Fixture):
    """The process's neutron-server, running with every agent, for test's
    Nova (a nova _IntegratedTestBase): Nova uses it, and gets its port
    events; networks: {NET_1: network, ...}; events: the (event, port,
    status) Neutron posted to this test's Nova, in order.  The ports of
    the test go when it ends."""

    def __init__(self, test):
        super().__init__()
        self.test = test
        self.events = []
        self._app = None

    def _setUp(self):
        shared = server()
        self.url = shared.run()
        self.networks = {net: network['id']
                         for net, network in shared.networks.items()}
        networking.nova_on(self.test, self.url)
        self.addCleanup(self._delete_ports)
        # First at the end: no event of a port deleted reaches this Nova.
        self.addCleanup(setattr, shared.relay, 'app', _no_nova)

    def serve_events(self):
        """From now on, Neutron's port events go to this test's Nova API,
        loaded now: once the test's services run, so that it has their
        configuration (its auth strategy above all)."""
        self._app = networking.admin_caller(
            nova_wsgi.Loader().load_app('osapi_compute'),
            nova_fixtures.PROJECT_ID)
        server().relay.app = self._nova

    def restart(self, hosts=HOSTS, options=None):
        """Neutron again with the agents of hosts only (the others'
        processes gone) and options (see SharedServer.run)."""
        self.url = server().run(hosts, options)
        self.test.flags(endpoint_override=self.url, group='neutron')

    def agent(self, host):
        """The agent of host as Neutron lists it, or None if it lists none
        (seen for a moment after a restart, before the agent's first
        report)."""
        agents = self.request('GET', f'/agents?host={host}')['agents']
        return agents[0] if agents else None

    def port(self, network, **fields):
        """A new port on network (NET_1, ...), as a user makes one."""
        return self.request('POST', '/ports', {'port': dict(
            fields, network_id=self.networks[network],
            project_id=nova_fixtures.PROJECT_ID)})['port']

    def _delete_ports(self):
        for port in self.ports():
            self.request('DELETE', f'/ports/{port["id"]}')

    def _nova(self, environ, start_response):
        """Nova's API as it serves Neutron's events, noting them."""
        size = int(environ.get('CONTENT_LENGTH') or 0)
        body = environ['wsgi.input'].read(size)
        environ['wsgi.input'] = io.BytesIO(body)
        if environ['PATH_INFO'].endswith('/os-server-external-events'):
            self.events += [(e['name'], e.get('tag'), e.get('status'))
                            for e in json.loads(body)['events']]
        return self._app(environ, start_response)


class OnNeutron:
    """Mixed into a cloud (a nova _IntegratedTestBase, after it in the
    bases): its Nova on the process's Neutron from the start of its
    services (neutron: the Neutron fixture)."""

    def _setup_services(self):
        self.neutron = self.useFixture(Neutron(self))
        super()._setup_services()
        self.neutron.serve_events()

    def _networks(self, *nets):
        """The networks of a server to create (NET_1 if none named)."""
        return [{'uuid': self.neutron.networks[net]}
                for net in nets or (NET_1,)]

    def _events_lost_by(self, lost):
        """From now on, Nova's API drops the port events it casts to host
        lost, as a message bus does for a nova-compute that is gone.  In
        nova's harness casts are calls (CastAsCall): one to a stopped
        compute would wait rpc_response_timeout (60 s), then fail the whole
        batch, the evacuation destination's events with it."""
        relay = rpcapi.ComputeAPI.external_instance_event

        def external_instance_event(api, ctxt, instances, events, host=None):
            if (host or instances[0].host) != lost:
                relay(api, ctxt, instances, events, host=host)
        self.stub_out('nova.compute.rpcapi.ComputeAPI.external_instance_event',
                      external_instance_event)

    def _wait_for_state_change(self, server, expected_status,
                               max_retries=120, **kwargs):
        """Nova's helpers (create, resize, reboot, ...) wait through this;
        its 10 tries of half a second are short for a boot that waits for
        an agent to see the NICs and for Neutron to tell Nova."""
        return super()._wait_for_state_change(
            server, expected_status, max_retries=max_retries, **kwargs)
