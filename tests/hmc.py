# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A DPM driver on the HMC simulator, served over HTTPS in this process.

The driver opens its session as in production (dpm.host.open_session: a
real zhmcclient.Session verifying the CA file), so only the address and
the CA file differ from a real HMC.  One simulator serves the process;
each driver() starts it afresh from the default topology.
"""

import atexit
import contextlib
import dataclasses
import tempfile
import uuid as uuid_lib

from nova_ibmz.conf import dpm as dpm_conf
from nova_ibmz.conf import types
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.dpm import partition
from tests import hmcsim

CPC_ID = '9b9a1e32-7ed7-11ee-8a4c-0a00000000c1'
HOST = 'subset-1'
# Taken on import (test collection): nova's TestCase points tempfile at a
# directory of its own that goes away after each test.
TMP_ROOT = tempfile.gettempdir()
_server = None


def server():
    """The process's simulator (an HMCServer), started on first use."""
    global _server
    if _server is None:
        stack = contextlib.ExitStack()
        certs_dir = stack.enter_context(tempfile.TemporaryDirectory(
            prefix='nova-ibmz-test-hmc-', dir=TMP_ROOT))
        _server = stack.enter_context(hmcsim.serve(certs_dir))
        atexit.register(stack.close)
    return _server


def make_config(**changes):
    """The [dpm] configuration of HOST on the simulator, with changes."""
    hmc = server()
    return dataclasses.replace(dpm_conf.DPMConfig(
        hmc=types.HostPort('127.0.0.1', hmc.port),
        hmc_username=hmcsim.USERID, hmc_password=hmcsim.PASSWORD,
        hmc_ca_file=str(hmc.certs.ca_file), cpc_object_id=CPC_ID,
        max_processors=20, max_memory=512 * 1024), **changes)


def reset():
    """Back to the default topology: no partitions of ours, no faults."""
    hmc = server()
    hmc.sim.reset()
    hmc.log.clear()


def driver(virtapi, config=None, host=HOST):
    """A driver of host on a freshly reset simulator."""
    reset()
    return dpm_driver.DPMDriver(virtapi, config=config or make_config(),
                                host_name=host)


def faked_cpc():
    """The topology's CPC in the simulator's model (edit under its lock)."""
    return server().sim.hmc.cpcs.lookup_by_oid(CPC_ID)


def add_partition(host, instance_uuid, instance_name, ifls=1, memory=1024,
                  status='active', name=None, description=None):
    """Put a partition into the simulator as host would have created it.

    name and description override the marks the driver sets, for decoys.
    """
    with server().sim.lock:
        return faked_cpc().partitions.add({
            'object-id': str(uuid_lib.uuid4()),
            'name': name or partition.partition_name(host, instance_uuid),
            'description': (partition.description(host, instance_name)
                            if description is None else description),
            'status': status,
            'type': 'linux',
            'ifl-processors': ifls,
            'initial-memory': memory,
            'maximum-memory': memory,
        })
