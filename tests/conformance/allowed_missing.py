# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Conformance tests each driver may still fail with NotImplementedError.

These lists may only shrink: the conformance run fails when a listed test
passes (remove it here) and when an unlisted test raises
NotImplementedError.  Keys of BY_DRIVER are the driver columns of
doc/support-matrix.ini.  A driver that is done names its reason for each
test.
"""

# Each with the reason PR/SM (or this driver) does not do it.
PRSM_CANNOT = 'PR/SM has no such operation on a partition'
DPM = {
    'test_block_stats': 'the HMC gives no I/O counters per volume',
    'test_get_device_name_for_instance': 'a partition has no disk bus; '
    'FC LUNs have no device names Nova could choose',
    'test_get_instance_disk_info': 'no local disks: volumes only',
    'test_get_mks_console': PRSM_CANNOT,
    'test_get_serial_console': 'not built yet: the HMC\'s OS console '
    'websocket is to be bridged to Nova\'s serial proxy',
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
    'test_rescue': 'not built yet: the HMC boots a partition from a '
    'mounted ISO image',
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
    'test_unrescue_rescued_instance': 'not built yet: rescue boots from '
    'a mounted ISO image',
    'test_unrescue_unrescued_instance': 'not built yet: rescue boots '
    'from a mounted ISO image',
}

# Each with the reason z/VM or its Cloud Connector does not do it.
ZVM_GRAPHICS = 'z/VM guests have no graphical console'
ZVM = {
    'test_block_stats': 'the connector gives no I/O counters per disk',
    'test_get_device_name_for_instance': 'the guest names its minidisks '
    'and FCP LUNs itself; Nova\'s default naming applies',
    'test_get_host_cpu_stats': 'the connector reports no CPU times of the '
    'z/VM system',
    'test_get_mks_console': ZVM_GRAPHICS,
    'test_get_serial_console': 'the connector has no interactive console, '
    'only the console log',
    'test_get_spice_console': ZVM_GRAPHICS,
    'test_get_vnc_console': ZVM_GRAPHICS,
    'test_host_power_action_reboot': 'never: the z/VM system runs other '
    'workloads',
    'test_host_power_action_shutdown': 'never: the z/VM system runs other '
    'workloads',
    'test_host_power_action_startup': 'never: the z/VM system runs other '
    'workloads',
    'test_live_migration_abort': 'the connector has no call to cancel a '
    'VMRELOCATE',
    'test_live_migration_force_complete': 'VMRELOCATE ends by itself; the '
    'connector cannot force it',
    'test_poll_rebooting_instances': 'reboots end within the call; nothing '
    'is left to poll',
    'test_rescue': 'the connector has no call to IPL a guest from another '
    'disk',
    'test_restore_running': 'Nova powers the guest on instead',
    'test_restore_soft_deleted': 'Nova powers the guest on instead',
    'test_resume_suspended_instance': 'z/VM cannot save a guest\'s memory '
    'to disk',
    'test_resume_unsuspended_instance': 'z/VM cannot save a guest\'s memory '
    'to disk',
    'test_set_admin_password': 'the connector has no channel into a running '
    'guest; the config drive sets the password at boot',
    'test_set_host_enabled': 'never: the z/VM system runs other workloads',
    'test_soft_delete': 'Nova powers the guest off instead',
    'test_suspend': 'z/VM cannot save a guest\'s memory to disk',
    'test_swap_volume': 'the guest would have to move its data to the new '
    'LUN; the connector has no such call',
    'test_trigger_crash_dump': 'the connector has no call for CP SYSTEM '
    'RESTART',
    'test_unrescue_rescued_instance': 'the connector has no call to IPL a '
    'guest from another disk',
    'test_unrescue_unrescued_instance': 'the connector has no call to IPL a '
    'guest from another disk',
}

BY_DRIVER = {
    'ibmz-dpm': DPM,
    'ibmz-zvm': ZVM,
}
