# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A DPM driver on zhmcclient's faked HMC with the default topology."""

import pathlib

from zhmcclient.mock import FakedSession

from nova_ibmz.conf import dpm as dpm_conf
from nova_ibmz.conf import types
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.dpm import partition

TOPOLOGY = (pathlib.Path(dpm_conf.__file__).parents[1] / 'sim' / 'hmc' /
            'topologies' / 'default.yaml')
CPC_ID = '9b9a1e32-7ed7-11ee-8a4c-0a00000000c1'
HOST = 'subset-1'

CONFIG = dpm_conf.DPMConfig(
    hmc=types.HostPort('hmc-sim', 6794), hmc_username='openstack',
    hmc_password='not-a-real-secret', cpc_object_id=CPC_ID,
    max_processors=20, max_memory=512 * 1024)


def faked_session(config):
    return FakedSession.from_hmc_yaml_file(
        str(TOPOLOGY), userid=config.hmc_username,
        password=config.hmc_password)


def driver(virtapi, config=CONFIG, host=HOST, session_factory=faked_session):
    return dpm_driver.DPMDriver(virtapi, config=config, host_name=host,
                                session_factory=session_factory)


def faked_cpc(session):
    """The topology's CPC in a faked session's HMC (to edit or add to)."""
    return session.hmc.cpcs.lookup_by_oid(CPC_ID)


def add_partition(session, host, instance_uuid, instance_name, ifls=1,
                  memory=1024, status='active', name=None, description=None):
    """Add a partition as host would have created it for an instance.

    name and description override the marks the driver sets, for decoys.
    """
    return faked_cpc(session).partitions.add({
        'name': name or partition.partition_name(host, instance_uuid),
        'description': (partition.description(host, instance_name)
                        if description is None else description),
        'status': status,
        'type': 'linux',
        'ifl-processors': ifls,
        'initial-memory': memory,
        'maximum-memory': memory,
    })
