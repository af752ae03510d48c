# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What Nova's periodic work costs as instances grow: the power-state
sync (get_num_instances, then get_info of every instance), the resource
audit (get_available_resource) and list_instances, in requests and in the
driver's CPU time, for N partitions on the DPM host and N guests on a z/VM
host, ours next to nova's in-tree z/VM driver.

Each period starts with the drivers' caches as old as a period makes
them: the drivers' clock is moved past their cache lifetime (10 s) instead
of waiting for it.
"""

import dataclasses
import itertools
import time
from unittest import mock
import uuid

from nova import objects

from benchmarks import rig as rigs
from nova_ibmz.dpm import host as dpm_host
from nova_ibmz.zvm import guest as zvm_guest
from tests import hmc
from tests import zvmsim

DPM_SIZES = (1, 10, 85)             # 85: a CPC's most partitions
ZVM_SIZES = (1, 100, 1000, 2000)
FIRST_ID = 1000                     # instance ids of the scale's guests
PERIOD_S = 600                      # nova's default sync_power_state_interval


@dataclasses.dataclass
class Point:
    instances: int
    sync: rigs.Sample
    audit: rigs.Sample
    listing: rigs.Sample


class _Later:
    """The time module as a driver sees it, seconds later."""

    def __init__(self, seconds):
        self.seconds = seconds

    def monotonic(self):
        return time.monotonic() + self.seconds

    def __getattr__(self, name):
        return getattr(time, name)


def _a_period_later(periods=itertools.count(1)):
    """The next period, for the caches of both of our drivers: each one
    a period after the one before."""
    later = _Later(PERIOD_S * next(periods))
    return mock.patch.multiple(dpm_host, time=later), \
        mock.patch.multiple(zvm_guest, time=later)


def _measure_period(rig, instances):
    """A period in the steady state: after one in which the driver met
    the new instances (its discovery costs are not periodic)."""
    driver = rig.driver

    def sync():
        driver.get_num_instances()
        for instance in instances:
            driver.get_info(instance)

    for _ in range(2):
        dpm_clock, zvm_clock = _a_period_later()
        with dpm_clock, zvm_clock:
            _, sync_sample = rig.measure(sync)
    _, audit = rig.measure(driver.get_available_resource,
                           driver.get_available_nodes()[0])
    _, listing = rig.measure(driver.list_instances)
    return Point(len(instances), sync_sample, audit, listing)


def _instances(count):
    return [objects.Instance(id=FIRST_ID + n, uuid=str(uuid.uuid4()))
            for n in range(count)]


def _dpm_points(sizes):
    points = []
    with rigs.running(rigs.DPMRig) as rig:
        instances = []
        for size in sizes:
            for instance in _instances(size)[len(instances):]:
                hmc.add_partition(hmc.HOST, instance.uuid,
                                  f'instance-{instance.id:08x}')
                instances.append(instance)
            points.append(_measure_period(rig, instances))
    return points


def _zvm_points(rig_class, sizes):
    points = []
    with rigs.running(rig_class) as rig:
        cluster = rig.servers()[0].model
        instances = []
        for size in sizes:
            for instance in _instances(size)[len(instances):]:
                # A small root: 2000 guests share one disk pool.
                zvmsim.add_guest(cluster, instance.name.upper(),
                                 state='on', root='50m')
                instances.append(instance)
            points.append(_measure_period(rig, instances))
    return points


def run(dpm_sizes=DPM_SIZES, zvm_sizes=ZVM_SIZES):
    """{driver key: [Point]}."""
    return {'dpm': _dpm_points(dpm_sizes),
            'zvm': _zvm_points(rigs.ZVMRig, zvm_sizes),
            'nova-zvm': _zvm_points(rigs.NovaZVMRig, zvm_sizes)}
