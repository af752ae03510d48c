# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova in process (API, conductor, scheduler, placement, one compute with
compute_driver = ibmz.DPMDriver) against the HMC simulator over HTTPS: the
cloud of the DPM functional tests (test_dpm, test_outages).

Neutron is the real one, with the host's DPM agent on the simulator
(tests/functional/neutron.py): our mechanism driver binds a server's ports
on NET_1 and NET_2 to the OSD virtual switches hmc.VSWITCH_OSD_1 and
VSWITCH_OSD_2, and the agent reports them up once it sees their NICs.
Cinder answers with fibre-channel connections to the WWPNs the driver's
connector reports: what a DPM cloud's services do.  Glance is the real
one (tests/functional/glance.py).  After every test the foreign
partitions of both CPCs of the HMC are exactly as before.

More compute hosts, for moves between hosts: _start_dpm_compute starts
neutron.DPM_SUBSET_2 (another subset of CPC1) or neutron.CPC3_HOST (a
subset of hmc.CPC3_ID, whose ports Neutron binds to CPC3's virtual
switches hmc.CPC3_VSWITCH_OSD_1 and _2); Neutron runs their agents.
"""

import os
import sys

from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers

from nova_ibmz.sandbox import cloud
from nova_ibmz.sandbox import services
from tests.functional import glance
from tests.functional import neutron
from tests import hmc
from tests import hmcsim

HOST = neutron.DPM_HOST
BOOT_VOLUME = nova_fixtures.CinderFixture.IMAGE_BACKED_VOL
# A server's networks, each on its own virtual switch.
NETWORKS = (neutron.NET_1, neutron.NET_2)
# What _start_dpm_compute may set apart from the CPC.
LIMITS = ('max_processors', 'max_memory')


class DPMCloud(neutron.OnNeutron, glance.OnGlance,
               integrated_helpers._IntegratedTestBase):

    ADMIN_API = True
    microversion = 'latest'

    def setUp(self):
        hmc.reset()
        config = hmc.make_config()
        self.flags(compute_driver='ibmz.DPMDriver')
        # host -> the [dpm] options that make it a subset of a CPC (the
        # others, [dpm] hmc, orphan_action, ..., are every host's): HOST's
        # and those of the hosts _start_dpm_compute started;
        # _configured: the host whose options CONF holds.
        self._subsets = {HOST: self._subset_options(
            hmc.CPC_ID, max_processors=config.max_processors,
            max_memory=config.max_memory)}
        self._configured = HOST
        self.flags(group='dpm', hmc=f'127.0.0.1:{hmc.server().port}',
                   hmc_username=config.hmc_username,
                   hmc_password=config.hmc_password,
                   hmc_ca_file=config.hmc_ca_file, **self._subsets[HOST])
        self.flags(allow_resize_to_same_host=True)
        # The nova wheel installs its paste config under the environment.
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self.foreign = hmc.foreign_partitions()
        super().setUp()
        self.addCleanup(self._assert_foreign_untouched)

    def _setup_services(self):
        # Our Cinder replaces the base's before the services start.
        self.cinder = self.useFixture(services.FCCinder(self, hmc.TARGETS))
        cloud.with_real_https(self, super()._setup_services)

    def _setup_compute_service(self):
        return self._start_compute(HOST)

    @staticmethod
    def _subset_options(cpc_id, max_processors, max_memory):
        """[dpm] of a subset of CPC cpc_id: storage on its FCP adapter."""
        return {'cpc_object_id': cpc_id, 'max_processors': max_processors,
                'max_memory': max_memory,
                'physical_storage_adapter_mappings': [
                    f'{hmc.CPC_FCP[cpc_id]}:0']}

    def _start_dpm_compute(self, host, cpc_id=hmc.CPC_ID, **limits):
        """A nova-compute for host, a subset of CPC cpc_id (hmc.CPC_ID or
        hmc.CPC3_ID) with storage on that CPC's FCP adapter port 0 and the
        limits (max_processors, max_memory) of HOST unless given: the
        compute service.

        The driver reads [dpm] when it is made, at the service's start:
        flags set afterwards change no running compute.  One CONF serves
        every compute of the process, so start_service puts a host's
        [dpm] subset options in it again before the host starts (also in
        restart_compute_service with keep_hypervisor_state=False); the
        other [dpm] options, set with self.flags, are every host's.
        Neutron runs the agents of neutron.DPM_SUBSET_2 and CPC3_HOST:
        the host of a compute whose ports get bound needs one.
        """
        unknown = set(limits) - set(LIMITS)
        if unknown:
            raise TypeError(f'not a limit of a subset: {sorted(unknown)}')
        limits = {k: limits.get(k, self._subsets[HOST][k]) for k in LIMITS}
        self._subsets[host] = self._subset_options(cpc_id, **limits)
        self._configured = None     # start_service sets them
        return self._start_compute(host)

    def start_service(self, name, host=None, **kwargs):
        """Nova's, with host's [dpm] subset options in CONF first for a
        compute of a DPM host, unless they are there already (a test's
        own [dpm] changes for a restart of that host stay)."""
        if (name == 'compute' and host in self._subsets and
                host != self._configured):
            self.flags(group='dpm', **self._subsets[host])
            self._configured = host
        return super().start_service(name, host=host, **kwargs)

    def _cpc_of(self, host):
        """The CPC host is a subset of (CPC1 unless started otherwise)."""
        return self._subsets.get(host, self._subsets[HOST])['cpc_object_id']

    def _assert_foreign_untouched(self):
        self.assertEqual(self.foreign, hmc.foreign_partitions())

    def _partition(self, server, host=HOST, cpc_id=None):
        """The faked partition host made for server on CPC cpc_id (host's
        CPC by default), or None."""
        return hmc.find_partition(server['id'], host=host,
                                  cpc_id=cpc_id or self._cpc_of(host))

    def _boot(self, networks=NETWORKS, volume=BOOT_VOLUME, flavor_id=None,
              host=None):
        """A server (posted) booting from volume, on host if given (the
        admin API's requested destination, microversion 2.74 and later)."""
        # No image ('': nova's helper would ask the API for one).
        server = self._build_server(networks=self._networks(*networks),
                                    flavor_id=flavor_id, image_uuid='')
        server.pop('imageRef')
        if host:
            server['host'] = host
        server['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': volume, 'source_type': 'volume',
            'destination_type': 'volume'}]
        return self.api.post_server({'server': server})

    def _ports(self, server):
        """Neutron's ports of the server, in NETWORKS' order."""
        ports = {p['network_id']: p
                 for p in self.neutron.ports(device_id=server['id'])}
        return [ports[self.neutron.networks[net]] for net in NETWORKS]

    def _dpm_flavor(self, vcpu=1, memory_mb=1024):
        """A flavor for DPM: no local disk (the host has none to offer)."""
        return self._create_flavor(vcpu=vcpu, memory_mb=memory_mb, disk=0,
                                   ephemeral=0)

    def _ours(self, host=HOST, cpc_id=None):
        """Names of host's partitions on CPC cpc_id (host's by default),
        and the NICs and HBAs of the whole HMC (other workloads have
        none)."""
        with hmc.server().sim.lock:
            cpc = hmc.faked_cpc(cpc_id=cpc_id or self._cpc_of(host))
            names = [p.name for p in cpc.partitions.list()
                     if p.name.startswith(f'OpenStack-{host}-')]
            devices = [uri for uri in hmc.server().sim.hmc.all_resources
                       if '/nics/' in uri or '/hbas/' in uri]
        return names, devices

    def _status(self, server):
        return self._partition(server).properties['status']

    def _s390x_image(self):
        """An image for s390x (its data: a placeholder for a DPM disk
        image, which only a boot volume ever holds)."""
        return self.glance.create('s390x-linux', bytes(1024),
                                  architecture='s390x')


def hmc_controls():
    return hmcsim.Controls(hmc.server())
