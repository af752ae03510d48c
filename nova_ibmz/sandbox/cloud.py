# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova in one process, with our drivers on the simulators.

Nova's own functional-test harness (nova.tests.functional, shipped in the
nova wheel) runs the real API, conductor, scheduler, placement and compute
services in one process, with an in-memory stand-in for Cinder and an
in-memory database.  Cloud is one such harness instance, set up by hand
instead of by a test runner: three compute services whose drivers point
at the simulators, a real Glance (glance.py) and a real neutron-server
with each host's network agent (networking.py), each in a process of its
own, and the API's WSGI application for run.py to serve on a TCP port.

This leans on nova's test classes, which may change between nova
releases: pyproject pins nova's major version, and this package (this
module, networking.py and services.py) is the only place in nova_ibmz
that uses them.
"""

import logging
import os
import sys

import fixtures
# nova.api.wsgi uses webob.dec without importing it: first.
import webob.dec  # noqa: F401,I100
from nova.api import wsgi as nova_wsgi  # noqa: I100
from nova.compute import manager as compute_manager
import nova.conf as nova_conf
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers
import urllib3

from nova_ibmz import conf
from nova_ibmz.sandbox import glance
from nova_ibmz.sandbox import networking
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import services
from nova_ibmz.sandbox import simulators
from nova_ibmz.sandbox import traffic
LOG_FORMAT = '%(asctime)s %(levelname)s [%(name)s] %(message)s'


class Cloud(integrated_helpers._IntegratedTestBase):
    """Nova with the sandbox's three compute hosts; start(), then serve
    app()."""

    ADMIN_API = True
    # The project of every caller (the API's default one, see app()).
    project_id = nova_fixtures.PROJECT_ID
    microversion = 'latest'
    # Casts stay casts: the API answers before a server is built, as in a
    # real cloud.
    CAST_AS_CALL = False

    def __init__(self, sims, log_file, periodic_seconds=None):
        """periodic_seconds: run Nova's periodic tasks, the resource audit
        and the power-state sync that often (None: none run, as in Nova's
        functional tests)."""
        super().__init__('_not_a_test')
        self.sims = sims
        self.log_file = log_file
        self.periodic_seconds = periodic_seconds
        self._app = None

    def _not_a_test(self):
        """testtools wants a method name; the sandbox runs none."""

    def start(self):
        self.setUp()
        return self

    def stop(self):
        self.doCleanups()

    def setUp(self):
        # Nova's harness keeps its log in memory and makes nova's default
        # flavors; the sandbox logs to a file, from the first service
        # started to the last one stopped, and offers mainframe flavors.
        self.useFixture(FileLogging(self.log_file))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.StandardLogging', fixtures.Fixture))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.DefaultFlavorsFixture', fixtures.Fixture))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.tests.fixtures.CellDatabases._wrap_get_context_manager',
            _current_cell_database))
        conf.register_opts(conf.CONF)      # [dpm] and [zvm]
        # The nova wheel installs its paste config under the environment.
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self.flags(allow_resize_to_same_host=True)
        # The mainframe's capacity limits a sandbox user, not quotas.
        self.flags(instances=-1, cores=-1, ram=-1, group='quota')
        # nova-compute's own state (what an outage kept the drivers from
        # removing, a file per host) stays in the sandbox's directory.
        self.flags(state_path=str(self.sims.state_dir / 'nova'))
        if self.periodic_seconds:
            self._enable_periodic_tasks(self.periodic_seconds)
        self.traffic = self.useFixture(traffic.Traffic(
            {name: url for name, (url, _) in
             self.sims.request_logs().items()}))
        # Glance first: Nova's services look images up from their start.
        # Its database and file store are kept in the state directory.
        images = glance.Glance(self.sims.state_dir / 'glance',
                               self.project_id)
        self.addCleanup(images.stop)
        images.start()
        services.nova_on_glance(self, images.url)
        super().setUp()
        # Where nova's harness keeps its Glance stand-in (none here).
        self.glance = images
        self._seed()

    def _enable_periodic_tasks(self, seconds):
        """Every service's periodic tasks, which nova's harness turns off:
        at nova's default intervals, except the compute services' resource
        audit (update_available_resource, where the drivers'
        get_available_resource runs; 60 s by default) and power-state
        sync (600 s), every `seconds`, so that a change made behind Nova's
        back shows soon.  No random delay before the first run
        (periodic_fuzzy_delay): it spreads many hosts' load, and here they
        share one process, as do the workers of each host's resource audit
        (one each).  Nova reads the intervals when it defines the tasks,
        so the compute manager's table of them is patched."""
        self.flags(periodic_enable=True, periodic_fuzzy_delay=0)
        self.flags(update_resources_max_workers=len(
            self.sims.host_options()), group='compute')
        spacing = compute_manager.ComputeManager._periodic_spacing
        self.useFixture(fixtures.MonkeyPatch(
            'nova.compute.manager.ComputeManager._periodic_spacing',
            dict(spacing, update_available_resource=seconds,
                 _sync_power_states=seconds)))

    def _seed(self):
        """What a user needs to boot servers: flavors, an image, boot and
        data volumes, the provider networks.  The image is uploaded once
        into Glance's database, which outlives the sandbox, as do the
        images users made.  The hypervisors start empty: ports of servers
        of an earlier sandbox go."""
        for port in self.neutron.ports():
            if port['device_owner'].startswith('compute:'):
                self.neutron.request('DELETE', f'/ports/{port["id"]}')
        self.networks = {net.name: self.neutron.provider_network(
            net, self.project_id) for net in seed.NETWORKS}
        for name, (vcpus, memory_mb, disk_gb) in seed.FLAVORS.items():
            self._create_flavor(id=seed.stable_id(f'flavor-{name}'),
                                name=name, vcpu=vcpus, memory_mb=memory_mb,
                                disk=disk_gb, ephemeral=0)
        self.cinder.add_volume(seed.BOOT_VOLUME, seed.BOOT_VOLUME_GB,
                               seed.BOOT_VOLUME_METADATA)
        for name in seed.DATA_VOLUMES:
            self.cinder.add_volume(name, 1)
        glance.seed_image(self.glance.url)

    def _setup_services(self):
        # The services start after the base's stand-ins are made: ours
        # replace them here.  Neutron is real, with each host's agent.
        events = self.useFixture(networking.NovaEvents(self.app))
        agents = self.sims.write_agent_configs(seed.PHYSNET)
        self.neutron = self.useFixture(networking.RealNeutron(
            self, self.sims.state_dir / 'neutron', events.url,
            {host: (networking.DPM_AGENT if host == simulators.DPM_HOST
                    else networking.ZVM_AGENT, path)
             for host, path in agents.items()}))
        self.cinder = self.useFixture(
            services.FCCinder(self, seed.STORAGE_TARGETS))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.block_device.CONF', _EveryHostLocal(nova_conf.CONF)))
        with_real_https(self, super()._setup_services)

    def _setup_compute_service(self):
        """One compute service per host, each started with its own
        nova.conf values: the drivers read them when they are made."""
        computes = []
        for host, sections in self.sims.host_options().items():
            for section, options in sections.items():
                group = None if section == 'DEFAULT' else section
                for name, value in options.items():
                    if name != 'host':
                        self.flags(group=group, **{name: value})
            computes.append(self._start_compute(host))
        return computes[0]

    def app(self):
        """The osapi_compute WSGI application, as nova-api loads it, with
        the admin as the default caller (the stand-in auth wants its
        headers): loaded once, for the API and Neutron's port events."""
        if self._app is None:
            self._app = networking.admin_caller(
                nova_wsgi.Loader().load_app('osapi_compute'), self.project_id)
        return self._app


def _current_cell_database(cell_databases, context):
    """CellDatabases' get_context_manager for a cloud of one cell.

    Nova's harness hands code that targets no cell (the compute services)
    the database of whichever cell was targeted last, under a reader lock
    that a waiting writer blocks.  A writer transaction (DatabaseWriteLock
    serialises them) that asked for a database there could wait for that
    writer, which waits for a target_cell reader, which waits for the
    transaction: with tens of servers building at once the sandbox
    stalled.  The sandbox has one cell, where all its computes are: code
    that targets none gets that cell's database, without a lock."""
    return (getattr(context, 'db_connection', None) or
            cell_databases._default_ctxt_mgr)


class _AnyHost(str):
    """A host name equal to every host name."""

    def __eq__(self, other):
        return isinstance(other, str)

    __hash__ = str.__hash__


class _EveryHostLocal:
    """nova.conf as nova.virt.block_device reads it, in a process with
    three compute services.  CONF.host names one host for all of them, so
    a volume detach would think every other host's instance remote and
    skip the driver.  RPC already delivered the call to the instance's own
    compute service: its host is the local one."""

    def __init__(self, conf):
        self._conf = conf

    def __getattr__(self, name):
        if name == 'host':
            return _AnyHost(self._conf.host)
        return getattr(self._conf, name)


class FileLogging(fixtures.Fixture):
    """Every service's log in one file, at INFO (DEBUG with OS_DEBUG=1),
    instead of nova's in-memory test log."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def _setUp(self):
        handler = logging.FileHandler(self.path, mode='w')
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        debug = os.environ.get('OS_DEBUG', '').lower() in ('1', 'true',
                                                           'yes')
        root = logging.getLogger()
        self.useFixture(fixtures.LogHandler(handler, nuke_handlers=True,
                                            level=None))
        level = logging.DEBUG if debug else logging.INFO
        old_level = root.level
        root.setLevel(level)
        self.addCleanup(root.setLevel, old_level)


def with_real_https(case, setup_services):
    """Nova's _setup_services for case, with real HTTPS connections.

    PlacementFixture routes HTTP to placement through wsgi-intercept, whose
    HTTPS stand-in breaks every real HTTPS connection under urllib3 2 (it
    passes cert_reqs to http.client), the HMC's among them.  Placement is
    plain HTTP: HTTPS gets its real connection back before the services
    start and after the API's fixture, which installs the intercept again.
    """
    def real_https():
        case.useFixture(fixtures.MonkeyPatch(
            'urllib3.connectionpool.HTTPSConnectionPool.ConnectionCls',
            urllib3.connection.HTTPSConnection))
    real_https()
    setup_services()
    real_https()
