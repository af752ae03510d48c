# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Requests, wall time and CPU time of each driver operation, one
instance's life: spawn (two NICs; DPM: one FCP adapter, boot from an FC
volume), get_info, get_available_resource, power off and on, reboot,
volume attach and detach, snapshot, resize, live migration, destroy.

Each operation is a plain call of the driver, as the compute manager
makes it; an operation a driver does not have is reported as missing.
"""

import dataclasses
import uuid

from nova import objects
from nova.tests.unit import utils as test_utils

from benchmarks import rig as rigs
from tests.conformance import zvm_suite
from tests import connector
from tests import hmc

# operation -> the fewest requests the API allows, and why (one line).
MINIMUM = {
    'dpm': {
        'spawn': (7, 'create the partition, 1 HBA, read the WWPN the HMC '
                  'gave it (Cinder maps the volume to it before the boot '
                  'device can be set), 2 NICs, set the boot device, start'),
        'get_info': (1, 'one state read (the sync shares one for all '
                     'partitions: section 3)'),
        'get_available_resource': (1, 'list the partitions with their '
                                   'resources in one request'),
        'power_off': (1, 'stop'),
        'power_on': (1, 'start'),
        'reboot': (2, 'stop, start (PR/SM has no reboot)'),
        'attach_volume': (0, 'Cinder maps the LUN to the partition\'s '
                          'WWPNs; the HMC has nothing to do'),
        'detach_volume': (0, 'as attach'),
        'destroy': (2, 'stop, delete'),
    },
    'zvm': {
        'spawn': (7, 'create the guest, create both NICs with their network '
                  'configuration, couple 2 NICs, grant the vswitch, deploy '
                  'the image with the config drive, start'),
        'get_info': (1, 'one state read (the sync shares one for all '
                     'guests: section 3)'),
        'get_available_resource': (1, 'GET /host'),
        'power_off': (1, 'stop'),
        'power_on': (1, 'start'),
        'reboot': (1, 'reboot'),
        'attach_volume': (1, 'attach the volume (the connector dedicates '
                          'the FCP devices)'),
        'detach_volume': (1, 'detach the volume'),
        'snapshot': (3, 'capture, export the image, delete it from the '
                     'repository'),
        'resize': (3, 'stop, then on the new member: redefine CPUs and '
                   'memory, start'),
        'live_migration': (2, 'VMRELOCATE test, VMRELOCATE move'),
        'destroy': (1, 'delete the guest'),
    },
}
MINIMUM['nova-zvm'] = MINIMUM['zvm']


@dataclasses.dataclass
class Operation:
    name: str
    sample: rigs.Sample | None      # None: the driver does not have it
    hypervisor_s: float = 0.0       # job and disk copy time in it


class Life:
    """One instance's operations on one rig, in order."""

    def __init__(self, rig):
        self.rig = rig
        self.done = []

    def measure(self, name, call, *args, hypervisor_s=0.0, **kwargs):
        result, sample = self.rig.measure(call, *args, **kwargs)
        self.done.append(Operation(name, sample, hypervisor_s))
        return result

    def missing(self, *names):
        self.done.extend(Operation(n, None) for n in names)


def dpm_life(rig, latency):
    life, driver, ctxt = Life(rig), rig.driver, rig.ctxt
    instance = test_utils.get_test_instance(obj=True)
    network_info = hmc.network_info(hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2)
    image_meta = test_utils.get_test_image_object(None, instance)

    def spawn():
        driver.prepare_for_spawn(instance)
        driver.get_volume_connector(instance)
        driver.spawn(ctxt, instance, image_meta, [], None, {},
                     network_info=network_info,
                     block_device_info=hmc.boot_from_volume(instance))

    life.measure('spawn', spawn, hypervisor_s=latency.start_s)
    _common(life, instance, network_info,
            hmc.boot_from_volume(instance), latency.start_s, latency.stop_s)
    volume = hmc.fc_connection(instance, lun=2)
    life.measure('attach_volume', driver.attach_volume, None, volume,
                 instance, '/dev/sdb')
    life.measure('detach_volume', driver.detach_volume, ctxt, volume,
                 instance, '/dev/sdb')
    life.missing('snapshot', 'resize', 'live_migration')
    life.measure('destroy', driver.destroy, ctxt, instance, network_info,
                 hmc.boot_from_volume(instance),
                 hypervisor_s=latency.stop_s)
    return life.done


def _common(life, instance, network_info, block_device_info, start_s,
            stop_s):
    """The operations every driver has, between spawn and the rest."""
    driver, ctxt = life.rig.driver, life.rig.ctxt
    life.measure('get_info', driver.get_info, instance, use_cache=False)
    life.measure('get_available_resource', driver.get_available_resource,
                 driver.get_available_nodes()[0])
    life.measure('power_off', driver.power_off, instance,
                 hypervisor_s=stop_s)
    life.measure('power_on', driver.power_on, ctxt, instance, network_info,
                 block_device_info, hypervisor_s=start_s)
    life.measure('reboot', driver.reboot, ctxt, instance, network_info,
                 'SOFT', block_device_info, hypervisor_s=stop_s + start_s)


def zvm_life(rig, latency, ours=True):
    life, driver, ctxt = Life(rig), rig.driver, rig.ctxt
    instance, image_meta, network_info = zvm_suite.boot_request(
        rig.case, nics=2)
    life.measure('spawn', driver.spawn, ctxt, instance, image_meta, [],
                 'herp', {}, network_info=network_info,
                 hypervisor_s=latency.deploy_s)
    # z/VM's stop and start take no job time in the simulator.
    _common(life, instance, network_info, None, 0.0, 0.0)
    if ours:
        volume = connector.fc_connection('vol-2', 2)
        life.measure('attach_volume', driver.attach_volume, None, volume,
                     instance, '/dev/sdb')
        life.measure('detach_volume', driver.detach_volume, ctxt, volume,
                     instance, '/dev/sdb')
    else:
        life.missing('attach_volume', 'detach_volume')
    snapshot = rig.case.image_service.create(ctxt, {'name': 'snap-1'})
    life.measure('snapshot', driver.snapshot, ctxt, instance,
                 snapshot['id'], lambda *args, **kwargs: None,
                 hypervisor_s=latency.deploy_s)
    if ours:
        other = connector.second_driver(driver.virtapi)
        _resize_to(life, other, instance, network_info, image_meta)
        _live_migrate_back(life, other, driver, instance, network_info)
    else:
        life.missing('resize', 'live_migration')
    life.measure('destroy', driver.destroy, ctxt, instance, network_info)
    return life.done


def _resize_to(life, other, instance, network_info, image_meta):
    """A cold resize to the cluster's other member, confirmed: 2 vCPUs
    more, the same root disk."""
    driver, ctxt = life.rig.driver, life.rig.ctxt
    old = instance.flavor
    new = objects.Flavor(**{k: getattr(old, k) for k in (
        'memory_mb', 'root_gb', 'ephemeral_gb', 'swap', 'flavorid',
        'name', 'id')})
    new.vcpus = old.vcpus + 2
    new.extra_specs = {}
    migration = objects.Migration(
        id=1, uuid=str(uuid.uuid4()), source_compute='zvm-1',
        dest_compute='zvm-2', source_node='ZVMSIM1', dest_node='ZVMSIM2')

    def resize():
        driver.migrate_disk_and_power_off(ctxt, instance, '127.0.0.1', new,
                                          network_info)
        instance.old_flavor, instance.flavor = old, new
        other.finish_migration(ctxt, migration, instance, '', network_info,
                               image_meta, True, {})
        driver.confirm_migration(ctxt, migration, instance, network_info)

    life.measure('resize', resize)


def _live_migrate_back(life, other, driver, instance, network_info):
    """A live migration from the other member back to the first one."""
    ctxt = life.rig.ctxt

    def migrate():
        data = driver.check_can_live_migrate_destination(
            ctxt, instance, None, None)
        data = other.check_can_live_migrate_source(ctxt, instance, data)
        other.live_migration(ctxt, instance, 'zvm-1',
                             lambda *a, **b: None, lambda *a, **b: None,
                             migrate_data=data)
        other.post_live_migration_at_source(ctxt, instance, network_info)
        driver.post_live_migration_at_destination(ctxt, instance,
                                                  network_info)

    life.measure('live_migration', migrate)


LIVES = {'dpm': (rigs.DPMRig, dpm_life),
         'zvm': (rigs.ZVMRig, zvm_life),
         'nova-zvm': (rigs.NovaZVMRig,
                      lambda rig, latency: zvm_life(rig, latency,
                                                    ours=False))}


def run(latency):
    """{driver key: [Operation]} for every driver, under latency."""
    results = {}
    for key, (rig_class, life) in LIVES.items():
        with rigs.running(rig_class, latency) as rig:
            results[key] = life(rig, latency)
    return results
