# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite with nova's own z/VM driver
(nova.virt.zvm) against the Cloud Connector simulator.

The in-tree driver is a client of the real connector's API that we did not
write: whatever it implements must pass here, so a failure is a simulator
bug unless the in-tree driver is shown to be wrong.  Its
NotImplementedError for the rest is expected (allowed_missing_tests).
"""

from nova import exception
from nova.tests.unit import utils as test_utils

from tests.conformance import base
from tests.conformance import zvm_suite
from tests import nova_zvm

# What nova.virt.zvm leaves to the base driver (NotImplementedError).
NOT_IN_THE_INTREE_DRIVER = frozenset([
    'test_attach_detach_different_power_states',
    'test_attach_detach_volume',
    'test_block_stats',
    'test_get_device_name_for_instance',
    'test_get_diagnostics',
    'test_get_host_cpu_stats',
    'test_get_host_ip_addr',
    'test_get_instance_diagnostics',
    'test_get_instance_disk_info',
    'test_get_mks_console',
    'test_get_serial_console',
    'test_get_spice_console',
    'test_get_vnc_console',
    'test_get_volume_connector',
    'test_get_volume_connector_storage_ip',
    'test_host_power_action_reboot',
    'test_host_power_action_shutdown',
    'test_host_power_action_startup',
    'test_list_instance_uuids',
    'test_live_migration',
    'test_live_migration_abort',
    'test_live_migration_force_complete',
    'test_migrate_disk_and_power_off',
    'test_poll_rebooting_instances',
    'test_rescue',
    'test_restore_running',
    'test_restore_soft_deleted',
    'test_resume_state_on_host_boot',
    'test_resume_suspended_instance',
    'test_resume_unsuspended_instance',
    'test_set_admin_password',
    'test_set_host_enabled',
    'test_soft_delete',
    'test_suspend',
    'test_swap_volume',
    'test_trigger_crash_dump',
    'test_unrescue_rescued_instance',
    'test_unrescue_unrescued_instance',
])


class NovaZVMConformance(base.StrictConformance):
    driver = 'nova-zvm-in-tree'
    driver_module = 'tests.nova_zvm.driver'
    allowed_missing_tests = NOT_IN_THE_INTREE_DRIVER

    def setUp(self):
        super().setUp()
        # The connector copies the config drive from the compute host, so
        # a file must be there; the suite's instances cannot make one.
        self.stub_out('nova.virt.zvm.utils.generate_configdrive',
                      nova_zvm.generate_config_drive)

    def _get_running_instance(self, obj=True):
        return zvm_suite.spawn_running(self, obj)

    def test_snapshot_not_running(self):
        """A defect of the in-tree driver, not of the simulator: the
        connector answers the capture of a guest that does not exist with
        404 (guest not found), which nova.virt.zvm passes on as
        ZVMConnectorError instead of InstanceNotRunning."""
        instance = test_utils.get_test_instance()
        image = self.image_service.create(self.ctxt, {'name': 'snap-1'})
        error = self.assertRaises(
            exception.ZVMConnectorError, self.connection.snapshot,
            self.ctxt, instance, image['id'], lambda *args, **kwargs: None)
        self.assertEqual((404, 404, 1, "Guest 'OS000001' does not exist."),
                         (error.overallRC, error.rc, error.rs, error.errmsg))
