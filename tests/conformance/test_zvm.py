# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite against ZVMDriver on the simulator."""

from nova.compute import power_state
from nova.tests.unit import utils as test_utils

from tests.conformance import base
from tests import connector
from tests.conformance import zvm_suite
from tests import nova_zvm


class ZVMConformance(base.StrictConformance):
    driver = 'ibmz-zvm'
    # nova's suite builds the driver with import_object(driver_module,
    # virtapi): this factory builds it on a fresh simulator model.
    driver_module = 'tests.connector.driver'

    def setUp(self):
        super().setUp()
        # z/VM userids hold at most 8 characters.
        self.flags(instance_name_template='os%06x')
        # The suite's instances cannot give the metadata a config drive
        # holds (nova asks Neutron for their security groups); the
        # functional tests and tests/unit/test_zvm_configdrive.py build
        # real ones.
        self.stub_out('nova_ibmz.zvm.configdrive.build',
                      lambda instance, path, *args:
                      nova_zvm.write_config_drive(None, path))

    def _get_running_instance(self, obj=True):
        return zvm_suite.spawn_running(self, obj)

    def volume_connection(self, instance, lun):
        return connector.fc_connection(f'vol-{lun}', lun)

    def test_live_migration(self):
        """VMRELOCATE to the cluster's second member, with the migrate
        data the destination's check gives (nova's test passes libvirt's
        own, which names no destination)."""
        instance, network_info = self._get_running_instance()
        destination = connector.second_driver(self.connection.virtapi)
        data = destination.check_can_live_migrate_destination(
            self.ctxt, instance, None, None)
        data = self.connection.check_can_live_migrate_source(
            self.ctxt, instance, data)
        self.connection.live_migration(self.ctxt, instance, 'otherhost',
                                       lambda *a, **b: None,
                                       lambda *a, **b: None,
                                       migrate_data=data)
        self.connection.post_live_migration_at_source(self.ctxt, instance,
                                                      network_info)
        destination.post_live_migration_at_destination(
            self.ctxt, instance, network_info)
        self.assertEqual(power_state.RUNNING,
                         destination.get_info(instance).state)
        self.assertFalse(self.connection.instance_exists(instance))

    def test_get_volume_connector(self):
        """With an instance: the connector reserves FCP devices per guest,
        and nova's test passes {'id': 'fake'}, which names none."""
        connector_info = self.connection.get_volume_connector(
            test_utils.get_test_instance())
        self.assertIn('ip', connector_info)
        self.assertIn('initiator', connector_info)
        self.assertIn('host', connector_info)
        self.assertEqual(2, len(connector_info['wwpns']))

    def test_get_volume_connector_storage_ip(self):
        self.flags(my_block_storage_ip='storage_ip', my_ip='my_ip')
        connector_info = self.connection.get_volume_connector(
            test_utils.get_test_instance())
        self.assertEqual('storage_ip', connector_info['ip'])
