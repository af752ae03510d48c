# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A DPM driver on the HMC simulator, served over HTTPS in this process.

The driver opens its session as in production (dpm.host.open_session: a
real zhmcclient.Session verifying the CA file), so only the address and
the CA file differ from a real HMC.  One simulator serves the process;
each driver() starts it afresh from the default topology.

The default topology's HMC manages two DPM CPCs: CPC1 (CPC_ID), the one
of HOST and of every helper by default, and CPC3 (CPC3_ID), where a
resize or a cold migration to another CPC goes.  Helpers that look at
one CPC take its object-id (cpc_id) and default to the topology's first.
"""

import atexit
import contextlib
import dataclasses
import tempfile
import uuid as uuid_lib

from nova.network import model as network_model

from nova_ibmz.conf import dpm as dpm_conf
from nova_ibmz.conf import types
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.hmc import naming
from nova_ibmz.dpm import storage
from tests import hmcsim

CPC_ID = '9b9a1e32-7ed7-11ee-8a4c-0a00000000c1'
FCP_1 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000201'
FCP_2 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000202'
VSWITCH_OSD_1 = 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000301'
VSWITCH_OSD_2 = 'b2c2d2e2-7ed7-11ee-a0a0-0a0000000302'
CPC_NAME = hmcsim.CPC_NAME
# The default topology's second DPM CPC, with its own FCP adapter and OSD
# virtual switches (a partition of one CPC cannot use the other's).
CPC3_NAME = hmcsim.CPC3_NAME
CPC3_ID = '9b9a1e32-7ed7-11ee-8a4c-0a00000000c3'
CPC3_FCP = 'a1b1c1d1-7ed7-11ee-b35a-0a0000030201'
CPC3_VSWITCH_OSD_1 = 'b2c2d2e2-7ed7-11ee-a0a0-0a0000030301'
CPC3_VSWITCH_OSD_2 = 'b2c2d2e2-7ed7-11ee-a0a0-0a0000030302'
# The storage side of the simulated SAN: two target ports of one array.
TARGETS = ('500507680b215660', '500507680b225660')
HOST = 'subset-1'
# The storage-groups topology (dpm-storage-management on): its CPC2.
SG = 'storage-groups'
SG_CPC_ID = '6f1d3b20-8a11-11ef-9d2f-0a00000000c1'
SG_FCP_1 = '6f1d3b20-8a11-11ef-9d2f-0a0000000201'
SG_FCP_2 = '6f1d3b20-8a11-11ef-9d2f-0a0000000202'
SG_VSWITCH_OSD_1 = '6f1d3b20-8a11-11ef-9d2f-0a0000000301'
# Taken on import (test collection): nova's TestCase points tempfile at a
# directory of its own that goes away after each test.
TMP_ROOT = tempfile.gettempdir()
_servers = {}
# topology -> the object-ids of its CPCs, the first one HOST's.
_CPCS = {'default': (CPC_ID, CPC3_ID), SG: (SG_CPC_ID,)}
# CPC object-id -> the FCP adapter of its default storage mapping (port 0).
CPC_FCP = {CPC_ID: FCP_1, CPC3_ID: CPC3_FCP, SG_CPC_ID: SG_FCP_1}


def server(topology='default'):
    """The process's simulator (an HMCServer) of a shipped topology,
    started on first use."""
    if topology not in _servers:
        stack = contextlib.ExitStack()
        certs_dir = stack.enter_context(tempfile.TemporaryDirectory(
            prefix='nova-ibmz-test-hmc-', dir=TMP_ROOT))
        _servers[topology] = stack.enter_context(
            hmcsim.serve(certs_dir, topology))
        atexit.register(stack.close)
    return _servers[topology]


def make_config(topology='default', cpc_id=None, **changes):
    """The [dpm] configuration of HOST on the simulator, with changes; of
    a subset of CPC cpc_id (its FCP adapter's port 0) if given."""
    hmc = server(topology)
    cpc_id = cpc_id or _CPCS[topology][0]
    return dataclasses.replace(dpm_conf.DPMConfig(
        hmc=types.HostPort('127.0.0.1', hmc.port),
        hmc_username=hmcsim.USERID, hmc_password=hmcsim.PASSWORD,
        hmc_ca_file=str(hmc.certs.ca_file), cpc_object_id=cpc_id,
        max_processors=20, max_memory=512 * 1024,
        physical_storage_adapter_mappings=(
            types.AdapterPort(CPC_FCP[cpc_id], 0),),
        retry_backoff=0.01), **changes)


def reset(topology='default'):
    """Back to the topology: no partitions of ours, no faults."""
    hmc = server(topology)
    hmc.sim.reset()
    hmc.log.clear()


def no_instances(host):
    """known_instances for tests without Nova's database: none."""
    return set()


def driver(virtapi, config=None, host=HOST, topology='default',
           known_instances=None):
    """A driver of host on a freshly reset simulator.

    known_instances defaults to Nova's database (conformance tests have
    one); tests without it pass no_instances.
    """
    reset(topology)
    return dpm_driver.DPMDriver(
        virtapi, config=config or make_config(topology), host_name=host,
        known_instances=known_instances)


def faked_cpc(topology='default', cpc_id=None):
    """A CPC of the topology in the simulator's model (edit under its
    lock): cpc_id's, by default the topology's first (HOST's)."""
    return server(topology).sim.hmc.cpcs.lookup_by_oid(
        cpc_id or _CPCS[topology][0])


# The partitions of other workloads in each shipped topology, by CPC name.
FOREIGN = {'default': {CPC_NAME: ('PROD-DB2', 'PROD-WAS', 'TEST-SAP'),
                       CPC3_NAME: ('PROD-CRM',)},
           SG: {hmcsim.SG_CPC_NAME: ('PROD-DB2', 'PROD-MQ', 'QA-WEB')}}


def foreign_partitions(topology='default'):
    """{(CPC name, partition name): properties} of the foreign partitions
    of every CPC of the topology, to compare later (two CPCs may each
    have a partition of a name)."""
    with server(topology).sim.lock:
        return {(cpc.name, p.name): dict(p.properties)
                for cpc in server(topology).sim.hmc.cpcs.list()
                for p in cpc.partitions.list()
                if p.name in FOREIGN[topology].get(cpc.name, ())}


def find_partition(instance_uuid, host=HOST, topology='default',
                   cpc_id=None):
    """The faked partition host made for the instance on CPC cpc_id (the
    topology's first by default), or None."""
    name = naming.partition_name(host, instance_uuid)
    with server(topology).sim.lock:
        found = [p for p in faked_cpc(topology, cpc_id).partitions.list()
                 if p.name == name]
    return found[0] if found else None


def add_partition(host, instance_uuid, instance_name, ifls=1, memory=1024,
                  status='active', name=None, description=None,
                  cpc_id=None):
    """Put a partition into the simulator as host would have created it,
    on CPC cpc_id (CPC1 by default).

    name and description override the marks the driver sets, for decoys.
    """
    with server().sim.lock:
        return faked_cpc(cpc_id=cpc_id).partitions.add({
            'object-id': str(uuid_lib.uuid4()),
            'name': name or naming.partition_name(host, instance_uuid),
            'description': (naming.description(host, instance_name)
                            if description is None else description),
            'status': status,
            'type': 'linux',
            'ifl-processors': ifls,
            'initial-memory': memory,
            'maximum-memory': memory,
        })


def network_info(*vswitch_ids, vlan=None, active=True):
    """Neutron ports bound by networking-dpm, one per virtual switch, up
    already (active) or not yet."""
    return network_model.NetworkInfo([network_model.VIF(
        id=str(uuid_lib.uuid4()), address=f'fa:16:3e:00:00:{index:02x}',
        active=active,
        type='dpm_vswitch', details=dict(
            {'object_id': vswitch}, **({'vlan': vlan} if vlan else {})),
        network=network_model.Network(id='net-1', bridge=None,
                                      label='flat'))
        for index, vswitch in enumerate(vswitch_ids)])


def fc_connection(instance, lun=1, targets=TARGETS, volume_id=None,
                  host=HOST):
    """What Cinder's FC drivers answer for host's connector of the
    instance."""
    wwpns = storage.remembered_wwpns(instance, host)
    return {'driver_volume_type': 'fibre_channel',
            'serial': volume_id or str(uuid_lib.uuid4()),
            'data': {'target_discovered': False, 'target_lun': lun,
                     'target_wwn': list(targets),
                     'initiator_target_map': {w: list(targets)
                                              for w in wwpns}}}


def boot_from_volume(instance, **connection):
    """block_device_info with one FC boot volume."""
    return {'root_device_name': '/dev/sda', 'ephemerals': [], 'swap': None,
            'block_device_mapping': [{
                'boot_index': 0, 'mount_device': '/dev/sda',
                'delete_on_termination': False,
                'connection_info': fc_connection(instance, **connection)}]}
