# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite against DPMDriver.

The driver talks HTTPS to the HMC simulator (tests/hmc.py), on the
default topology, which has foreign partitions on the CPC.

A DPM partition boots from an FC volume, through ports bound as
dpm_vswitch, and reaches volumes over fibre channel only.  Nova's suite
spawns from an image with bridge ports and attaches volumes of type
'fake'; the overrides below run the same steps with what DPM needs: the
compute manager's prepare_for_spawn, an FC boot volume, dpm_vswitch ports
and FC connection info.
"""


from nova.tests.unit import utils as test_utils

from tests.conformance import base
from tests import hmc  # noqa: F401  (imported at collection: see TMP_ROOT)


class DPMConformance(base.StrictConformance):
    driver = 'ibmz-dpm'
    # nova's suite builds the driver with import_object(driver_module,
    # virtapi): this factory builds it on the simulator.
    driver_module = 'tests.hmc.driver'

    def _get_running_instance(self, obj=True):
        instance = test_utils.get_test_instance(obj=obj)
        network_info = hmc.network_info(hmc.VSWITCH_OSD_1)
        image_meta = test_utils.get_test_image_object(None, instance)
        self.connection.prepare_for_spawn(instance)
        self.connection.spawn(self.ctxt, instance, image_meta, [], 'herp',
                              {}, network_info=network_info,
                              block_device_info=hmc.boot_from_volume(
                                  instance))
        return instance, network_info

    def volume_connection(self, instance, lun):
        return hmc.fc_connection(instance, lun=lun)

    def block_device_info(self, instance):
        return hmc.boot_from_volume(instance)

    def test_migrate_disk_and_power_off(self):
        # A partition is resized within its CPC subset: nova's test names
        # another host, which the driver refuses (InstanceFaultRollback).
        instance, network_info = self._get_running_instance()
        flavor = test_utils.get_test_flavor(self.ctxt)
        self.connection.migrate_disk_and_power_off(
            self.ctxt, instance, hmc.HOST, flavor, network_info)
