# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova in process (API, conductor, scheduler, placement, one compute with
compute_driver = ibmz.DPMDriver) against the HMC simulator over HTTPS: the
cloud of the DPM functional tests (test_dpm, test_outages).

Neutron binds ports as networking-dpm would (dpm_vswitch with the virtual
switch's object id) and Cinder answers with fibre-channel connections to
the WWPNs the driver's connector reports: what a DPM cloud's services do.
After every test the three foreign partitions are exactly as before.
"""

import copy
import os
import sys

from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import integrated_helpers
from oslo_utils.fixture import uuidsentinel as uuids

from nova_ibmz.sandbox import cloud
from nova_ibmz.sandbox import services
from tests import hmc
from tests import hmcsim

HOST = 'dpm-subset-1'
BOOT_VOLUME = nova_fixtures.CinderFixture.IMAGE_BACKED_VOL
PORTS = {uuids.port_osd_1: hmc.VSWITCH_OSD_1,
         uuids.port_osd_2: hmc.VSWITCH_OSD_2}


def bind_ports_as_dpm(neutron):
    """Two ports on network_1, bound by networking-dpm to OSD switches."""
    for index, (port_id, vswitch) in enumerate(PORTS.items()):
        port = copy.deepcopy(neutron.port_1)
        port.update({'id': port_id,
                     'mac_address': f'fa:16:3e:00:00:{index:02x}',
                     'binding:vif_type': 'dpm_vswitch',
                     'binding:vif_details': {'object_id': vswitch}})
        port['fixed_ips'][0]['ip_address'] = f'192.168.1.{10 + index}'
        neutron._ports[port_id] = port
    neutron.default_port.update({'binding:vif_type': 'dpm_vswitch',
                                 'binding:vif_details': {
                                     'object_id': hmc.VSWITCH_OSD_1}})


class DPMCloud(integrated_helpers._IntegratedTestBase):

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
        bind_ports_as_dpm(self.neutron)
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

    def _boot(self, ports=tuple(PORTS), volume=BOOT_VOLUME, flavor_id=None):
        server = self._build_server(
            networks=[{'port': p} for p in ports], flavor_id=flavor_id)
        server.pop('imageRef')
        server['block_device_mapping_v2'] = [{
            'boot_index': 0, 'uuid': volume, 'source_type': 'volume',
            'destination_type': 'volume'}]
        return self.api.post_server({'server': server})

    def _dpm_flavor(self, vcpu=1, memory_mb=1024):
        """A flavor for DPM: no local disk (the host has none to offer)."""
        return self._create_flavor(vcpu=vcpu, memory_mb=memory_mb, disk=0,
                                   ephemeral=0)

    def _status(self, server):
        return self._partition(server).properties['status']

    def _s390x_image(self):
        return self.glance.create(None, {
            'name': 's390x-linux', 'status': 'active', 'size': 1024 ** 3,
            'container_format': 'bare', 'disk_format': 'raw',
            'properties': {'architecture': 's390x'}})['id']


def hmc_controls():
    return hmcsim.Controls(hmc.server())
