# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HMC simulator for the DPM agent's tests, served over HTTPS by this
(Neutron-side) test process, and what the DPM compute host would have made
on it: partitions and NICs named and described as the DPM driver makes
them (nova_ibmz.hmc.naming), created through a real zhmcclient session.

Names of the default topology: see doc/hmc-simulator.md.
"""

import atexit
import contextlib
import copy
import pathlib
import tempfile
import uuid

import zhmcclient

from nova_ibmz.hmc import naming
from tests import hmcsim

CPC_ID = '9b9a1e32-7ed7-11ee-8a4c-0a00000000c1'
OSD_1 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000101'
OSD_2 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000102'
HIPERSOCKET = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000103'
FCP_1 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000201'
# The virtual switches of port 0 of each (ports 1 of the OSAs have none).
VSWITCH = {OSD_1: 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000301',
           OSD_2: 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000302',
           HIPERSOCKET: 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000303'}
FOREIGN_PARTITION = 'PROD-DB2'
HOST = 'dpm-subset-1'
_servers = []


def server():
    """The process's simulator (default topology), started on first use;
    reset() it for each test."""
    if not _servers:
        stack = contextlib.ExitStack()
        certs = stack.enter_context(tempfile.TemporaryDirectory(
            prefix='nova-ibmz-neutron-hmc-'))
        _servers.append(stack.enter_context(hmcsim.serve(certs)))
        atexit.register(stack.close)
    return _servers[0]


def reset():
    hmc = server()
    hmc.sim.reset()
    hmc.log.clear()
    return hmc


def controls():
    return hmcsim.Controls(server())


def write_config(path, host=HOST, mappings=(f'physnet1:{OSD_1}',),
                 polling_interval=1, report_interval=1, **dpm):
    """An agent configuration file for the simulator; dpm overrides (or,
    with None, leaves out) [dpm] options.  Returns the path."""
    hmc = server()
    options = {'hmc': f'127.0.0.1:{hmc.port}',
               'hmc_username': hmcsim.USERID,
               'hmc_password': hmcsim.PASSWORD,
               'hmc_ca_file': str(hmc.certs.ca_file),
               'cpc_object_id': CPC_ID, 'hmc_retries': '0'}
    options.update(dpm)
    lines = ['[DEFAULT]', f'host = {host}', '[dpm]']
    lines += [f'{k} = {v}' for k, v in options.items() if v is not None]
    # A MultiStrOpt: one line per value.
    lines += [f'physical_network_adapter_mappings = {m}' for m in mappings]
    lines += ['[agent]', f'polling_interval = {polling_interval}',
              f'report_interval = {report_interval}']
    pathlib.Path(path).write_text('\n'.join(lines) + '\n')
    return path


def state():
    """Everything the simulated HMC holds (to compare before and after)."""
    hmc = server()
    with hmc.sim.lock:
        return copy.deepcopy(hmc.sim.state()['definition'])


def writes(since=0):
    """The requests since seq that were not reads, logon or logoff."""
    return [(e['method'], e['path']) for e in server().log.since(since)
            if e['method'] != 'GET' and not e['path'].startswith(
                '/api/sessions')]


class Hypervisor:
    """What compute hosts and other workloads make on the CPC, through a
    zhmcclient session of their own."""

    def __init__(self):
        self.session = hmcsim.session(server())
        self.cpc = zhmcclient.Client(self.session).cpcs.resource_object(
            CPC_ID)

    def partition(self, host=HOST):
        """A partition as host's DPM driver creates one."""
        instance = str(uuid.uuid4())
        return self.cpc.partitions.create(hmcsim.partition_props(
            naming.partition_name(host, instance),
            description=naming.description(host, f'instance-{instance}')))

    def foreign(self):
        return self.cpc.partitions.find(name=FOREIGN_PARTITION)

    @staticmethod
    def nic(partition, adapter, mac, host=HOST, port_id=None,
            description=None):
        """A NIC on adapter's virtual switch, as host's DPM driver creates
        one for the port of mac (or with another description)."""
        return partition.nics.create({
            'name': naming.nic_name(port_id or str(uuid.uuid4())),
            'description': (naming.nic_description(host, mac)
                            if description is None else description),
            'virtual-switch-uri': f'/api/virtual-switches/{VSWITCH[adapter]}',
        })

    def close(self):
        self.session.logoff()
