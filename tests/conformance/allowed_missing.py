# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Conformance tests each driver may still fail with NotImplementedError.

These lists may only shrink: the conformance run fails when a listed test
passes (remove it here) and when an unlisted test raises
NotImplementedError.  Keys of BY_DRIVER are the driver columns of
doc/support-matrix.ini.  A driver that is done names its reason for each
test (DPM); z/VM's list waits for issue 6.
"""

# Each with the reason PR/SM (or this driver) does not do it.
PRSM_CANNOT = 'PR/SM has no such operation on a partition'
DPM = {
    'test_block_stats': 'the HMC gives no I/O counters per volume',
    'test_get_device_name_for_instance': 'a partition has no disk bus; '
    'FC LUNs have no device names Nova could choose',
    'test_get_host_cpu_stats': 'not yet: needs an HMC metrics context',
    'test_get_host_uptime': 'a CPC subset has no uptime of its own',
    'test_get_instance_disk_info': 'no local disks: volumes only',
    'test_get_mks_console': PRSM_CANNOT,
    'test_get_serial_console': 'not yet: the HMC ASCII console is a '
    'websocket Nova\'s serial proxy does not speak',
    'test_get_spice_console': PRSM_CANNOT,
    'test_get_vnc_console': PRSM_CANNOT,
    'test_host_power_action_reboot': 'never: the CPC runs other workloads',
    'test_host_power_action_shutdown': 'never: the CPC runs other '
    'workloads',
    'test_host_power_action_startup': 'never: the CPC runs other workloads',
    'test_live_migration': 'DPM cannot move an active partition',
    'test_live_migration_abort': 'DPM cannot move an active partition',
    'test_live_migration_force_complete': 'DPM cannot move an active '
    'partition',
    'test_pause': PRSM_CANNOT,
    'test_poll_rebooting_instances': 'reboots end within the call; nothing '
    'is left to poll',
    'test_rescue': 'not yet: needs a rescue boot volume',
    'test_restore_running': 'Nova powers the partition on instead',
    'test_restore_soft_deleted': 'Nova powers the partition on instead',
    'test_resume_suspended_instance': PRSM_CANNOT,
    'test_resume_unsuspended_instance': PRSM_CANNOT,
    'test_set_admin_password': 'no channel into the guest OS',
    'test_set_host_enabled': 'never: the CPC runs other workloads',
    'test_snapshot_not_running': 'the root disk is a Cinder volume: '
    'snapshot it in Cinder',
    'test_snapshot_running': 'the root disk is a Cinder volume: snapshot '
    'it in Cinder',
    'test_soft_delete': 'Nova powers the partition off instead',
    'test_suspend': PRSM_CANNOT,
    'test_swap_volume': 'no HMC call moves the guest to another LUN',
    'test_unpause_paused_instance': PRSM_CANNOT,
    'test_unpause_unpaused_instance': PRSM_CANNOT,
    'test_unrescue_rescued_instance': 'not yet: needs a rescue boot volume',
    'test_unrescue_unrescued_instance': 'not yet: needs a rescue boot '
    'volume',
}

ZVM = frozenset([
    'test_block_stats',
    'test_get_device_name_for_instance',
    'test_get_host_cpu_stats',
    'test_get_instance_disk_info',
    'test_get_mks_console',
    'test_get_serial_console',
    'test_get_spice_console',
    'test_get_vnc_console',
    'test_host_power_action_reboot',
    'test_host_power_action_shutdown',
    'test_host_power_action_startup',
    'test_list_instance_uuids',
    'test_live_migration_abort',
    'test_live_migration_force_complete',
    'test_poll_rebooting_instances',
    'test_rescue',
    'test_restore_running',
    'test_restore_soft_deleted',
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

BY_DRIVER = {
    'ibmz-dpm': DPM,
    'ibmz-zvm': ZVM,
}
