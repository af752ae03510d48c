# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Partitions as instances: power state and the operations on an owned
partition.  Their names and ownership marks are in hmc.naming (the DPM
Neutron agent needs them too).
"""

import time

from nova.compute import power_state

from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.hmc import naming

# Properties one partition list request returns for every subset partition:
# enough for power sync, ownership and resource accounting at once.
LIST_PROPERTIES = ('description', 'ifl-processors', 'initial-memory')

# HMC partition status -> Nova power state.
_POWER_STATES = {
    'active': power_state.RUNNING,
    'degraded': power_state.RUNNING,       # running with fewer resources
    'stopped': power_state.SHUTDOWN,
    # An in-guest "shutdown -h" stops every CPU and leaves the partition
    # paused, not stopped: to Nova the guest is off, and a stop request
    # brings the partition to "stopped" before it can start again.
    'paused': power_state.SHUTDOWN,
    'reservation-error': power_state.SHUTDOWN,  # could not get its resources
    'terminated': power_state.CRASHED,
    # Transitions and lost contact: unknown, so Nova's sync takes no action.
    'starting': power_state.NOSTATE,
    'stopping': power_state.NOSTATE,
    'communications-not-active': power_state.NOSTATE,
    'status-check': power_state.NOSTATE,
}


def power_state_of(status):
    return _POWER_STATES.get(status, power_state.NOSTATE)


# -- operations on an owned partition ----------------------------------------
# Each takes the CPC subset (the HMC gateway) and a zhmcclient Partition that
# subset.owned() returned or create() made: never a partition found any
# other way, so nothing here can reach a foreign partition.

TRANSITIONS = frozenset(['starting', 'stopping'])
# Statuses a stop is needed and allowed from (the HMC refuses the rest).
STOP_FROM = frozenset(['active', 'degraded', 'paused', 'terminated',
                       'reservation-error'])


def create_properties(host, instance):
    """Create Partition body for the instance's flavor."""
    return {
        'name': naming.partition_name(host, instance.uuid),
        'description': naming.description(host, instance.name),
        'type': 'linux',
        'processor-mode': 'shared',
        'ifl-processors': instance.flavor.vcpus,
        'initial-memory': instance.flavor.memory_mb,
        'maximum-memory': instance.flavor.memory_mb,
    }


def settle(subset, part, status):
    """Wait while the partition is starting or stopping (a job that timed
    out may leave it so); its status once it is neither."""
    deadline = time.monotonic() + subset.config.job_timeout
    pause = 0.5
    while status in TRANSITIONS:
        if time.monotonic() > deadline:
            raise HypervisorUnreachable(
                subset.endpoint, f'partition {part.name} is still {status} '
                f'after {subset.config.job_timeout} s')
        time.sleep(pause)
        pause = min(pause * 2, 5)
        status = current_status(subset, part)
    return status


def current_status(subset, part):
    """The partition's status, asked now (1 GET)."""
    subset.hmc_call(f'reading partition {part.name}', part.pull_properties,
                    ['status'])
    return part.properties['status']


def run_job(subset, what, operation):
    """Run an asynchronous partition operation and wait for its job."""
    job = subset.hmc_call(what, operation, wait_for_completion=False)
    try:
        return subset.wait(what, job, subset.config.job_timeout)
    finally:
        subset.changed()


def stop(subset, part, status):
    """Stop the partition unless it is stopped."""
    if status in STOP_FROM:
        run_job(subset, f'stopping partition {part.name}', part.stop)


def start(subset, part, status):
    """Start the partition; one that is paused (an in-guest shutdown) or
    otherwise not stopped is stopped first, as the HMC requires."""
    if status not in ('active', 'degraded'):
        stop(subset, part, status)
        run_job(subset, f'starting partition {part.name}', part.start)
