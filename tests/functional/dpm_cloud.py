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
one (tests/functional/glance.py).  After every test the three foreign
partitions are exactly as before.
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


class DPMCloud(neutron.OnNeutron, glance.OnGlance,
               integrated_helpers._IntegratedTestBase):

    ADMIN_API = True
    microversion = 'latest'

    def setUp(self):
        hmc.reset()
        config = hmc.make_config()
        self.flags(compute_driver='ibmz.DPMDriver')
        self.flags(group='dpm', hmc=f'127.0.0.1:{hmc.server().port}',
                   hmc_username=config.hmc_username,
                   hmc_password=config.hmc_password,
                   hmc_ca_file=config.hmc_ca_file,
                   cpc_object_id=config.cpc_object_id,
                   max_processors=config.max_processors,
                   max_memory=config.max_memory,
                   physical_storage_adapter_mappings=[f'{hmc.FCP_1}:0'])
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

    def _assert_foreign_untouched(self):
        self.assertEqual(self.foreign, hmc.foreign_partitions())

    def _partition(self, server):
        return hmc.find_partition(server['id'], host=HOST)

    def _boot(self, networks=NETWORKS, volume=BOOT_VOLUME, flavor_id=None):
        # No image ('': nova's helper would ask the API for one).
        server = self._build_server(networks=self._networks(*networks),
                                    flavor_id=flavor_id, image_uuid='')
        server.pop('imageRef')
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

    def _ours(self):
        """Names of this host's partitions, and of the NICs and HBAs the
        HMC holds (other workloads have none)."""
        with hmc.server().sim.lock:
            names = [p.name for p in hmc.faked_cpc().partitions.list()
                     if p.name.startswith(f'OpenStack-{HOST}-')]
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
