# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Partition operations, where the HMC differs from zhmcclient.mock.

The mock creates, updates and deletes partitions and checks their status;
these handlers add what an HMC also does: unique names (400,8), unique ids,
read-only properties, cleanup of NICs, HBAs and storage group attachments
on delete, asynchronous start, stop, dump, PSW restart and ISO mount jobs
with the transitional statuses, the CPC's IFLs and memory enforced when a
partition starts, and the OS messages a partition "prints".
"""

import uuid

from zhmcclient.mock import _urihandler as mock

from nova_ibmz.sim.hmc import common
from nova_ibmz.sim.hmc.common import TRANSITIONAL
from nova_ibmz.sim.hmc import devices
from nova_ibmz.sim.hmc import jobs

# Statuses in which a partition holds its memory on the CPC.
HOLDS_RESOURCES = frozenset(['active', 'paused', 'terminated', 'degraded',
                             'stopping'])
STOPPABLE = ['active', 'paused', 'terminated', 'degraded',
             'reservation-error']
MAX_BOOT_OS_PARAMETERS = 256
READ_ONLY = frozenset([
    'object-id', 'object-uri', 'class', 'parent', 'status', 'nic-uris',
    'hba-uris', 'storage-group-uris', 'virtual-function-uris',
    'has-unacceptable-status', 'is-locked', 'os-name', 'os-type',
    'os-version', 'degraded-adapters', 'current-ifl-processing-weight',
    'current-cp-processing-weight', 'reserved-memory'])


# -- create, update, delete ---------------------------------------------

def create(sim, req):
    cpc = common.lookup(sim, req, f'/api/cpcs/{req.parms[0]}')
    body = common.required(req, req.json(), ['name'])
    common.check_read_only(req, body, READ_ONLY)
    common.check_name_unique(req, cpc.partitions, body['name'], 'Partition')
    result = mock.PartitionsHandler.post(
        req.method, sim.hmc, req.path, req.parms,
        dict(body, **{'object-id': str(uuid.uuid4())}), True, True)
    partition = sim.hmc.lookup_by_uri(result['object-uri'])
    _unique_ids(cpc, partition, short_name_given='short-name' in body)
    return result


def _unique_ids(cpc, partition, short_name_given):
    """Replace the mock's random partition-id and short-name (they collide
    after about 20 partitions) with unused ones."""
    others = [p.properties for p in cpc.partitions.list()
              if p is not partition]
    props = partition.properties
    if props.get('autogenerate-partition-id', True):
        used = {p.get('partition-id') for p in others}
        # A CPC has at most 85 partitions; the simulator allows more for
        # scale tests, with ids past FF.
        props['partition-id'] = next(
            f'{n:02X}' for n in range(0x10000) if f'{n:02X}' not in used)
    if not short_name_given:
        used = {p.get('short-name') for p in others}
        stem = f'{props["name"].upper().replace("-", ""):_<4.4s}'
        props['short-name'] = next(
            f'{stem}{n:04X}' for n in range(0x10000)
            if f'{stem}{n:04X}' not in used)


def update(sim, req):
    partition = common.partition(sim, req)
    body = common.required(req, req.json(), [])
    common.check_read_only(req, body, READ_ONLY)
    common.check_status(req, partition, invalid=TRANSITIONAL)
    if 'name' in body:
        common.check_name_unique(req, partition.manager, body['name'],
                                 'Partition', partition)
    params = body.get('boot-os-specific-parameters', '')
    if not isinstance(params, str):
        raise common.bad_request(
            req, 7, "'boot-os-specific-parameters' must be a string, not "
            f'{params!r}')
    if len(params) > MAX_BOOT_OS_PARAMETERS:
        raise common.bad_request(
            req, 7, f"'boot-os-specific-parameters' is {len(params)} "
            f'characters long; at most {MAX_BOOT_OS_PARAMETERS} are allowed')
    _check_boot_refs(sim, req, partition, body)
    partition.update(body)


def _check_boot_refs(sim, req, partition, body):
    """Boot devices must belong to the partition, as on the HMC."""
    hba = body.get('boot-storage-device')
    if hba and hba not in partition.properties['hba-uris']:
        raise common.bad_request(req, 7, f"'boot-storage-device' {hba} is "
                                 f'not an HBA of partition {partition.name}')
    volume = body.get('boot-storage-volume')
    if volume and not any(
            volume in g.properties['storage-volume-uris']
            for g in sim.attached_storage_groups(partition)):
        raise common.bad_request(
            req, 7, f"'boot-storage-volume' {volume} is not in a storage "
            f'group attached to partition {partition.name}')


def delete(sim, req):
    """Delete a stopped partition with its NICs, HBAs and attachments."""
    partition = common.partition(sim, req)
    common.check_status(req, partition, valid=['stopped'])
    for nic in partition.nics.list():
        devices.remove_nic(sim, nic)
    for hba in partition.hbas.list():
        partition.hbas.remove(hba.oid)
    for group in sim.attached_storage_groups(partition):
        devices.detach(partition, group)
    sim.forget(partition)
    partition.manager.remove(partition.oid)


# -- asynchronous operations ----------------------------------------------

def start(sim, req):
    partition = common.partition(sim, req)
    common.check_status(req, partition, valid=['stopped'])
    set_status(sim, partition, 'starting')
    return sim.start_job('start', req.method, req.path, partition.uri)


def stop(sim, req):
    partition = common.partition(sim, req)
    common.check_status(req, partition, valid=STOPPABLE)
    set_status(sim, partition, 'stopping')
    return sim.start_job('stop', req.method, req.path, partition.uri)


def dump(sim, req):
    partition = common.partition(sim, req)
    mock.PartitionScsiDumpHandler.post(req.method, sim.hmc, req.path,
                                       req.parms, req.json(), True, True)
    sim.event(partition, 'dump', **req.json())
    return sim.start_job('dump', req.method, req.path, partition.uri)


def psw_restart(sim, req):
    partition = common.partition(sim, req)
    common.check_status(req, partition,
                        valid=['active', 'paused', 'terminated'])
    sim.event(partition, 'psw-restart')
    return sim.start_job('psw-restart', req.method, req.path, partition.uri)


def mount_iso(sim, req):
    partition = common.partition(sim, req)
    mock.PartitionMountIsoImageHandler.post(req.method, sim.hmc, req.uri,
                                            req.parms, req.body, True, True)
    sim.event(partition, 'mount-iso',
              image=partition.properties['boot-iso-image-name'],
              size=len(req.body or b''))
    return sim.start_job('mount-iso', req.method, req.path, partition.uri)


def complete(sim, job):
    """Apply the end of a job to its partition, then finish the job."""
    partition = sim.hmc.all_resources.get(job.target_uri)
    failure = job.failure
    if partition is None:
        failure = jobs.Failure(404, 1, f'{job.target_uri} no longer exists')
    elif job.kind == 'start':
        failure = failure or _shortage(partition)
        if failure:
            set_status(sim, partition, 'stopped')
        else:
            set_status(sim, partition, 'active')
            _boot_messages(sim, partition)
    elif job.kind == 'stop':
        set_status(sim, partition, 'active' if failure else 'stopped')
    elif job.kind == 'dump' and not failure:
        sim.os_message(partition, 'Dump written to the dump device; the '
                       'partition continues.')
    elif job.kind == 'psw-restart' and not failure:
        sim.os_message(partition, 'PSW restart: the kernel took its restart '
                       'interrupt.')
        if partition.properties['status'] in ('paused', 'terminated'):
            set_status(sim, partition, 'active')
    job.finish(failure)


def _shortage(partition):
    """A job failure if the CPC lacks IFLs or memory for the partition."""
    cpc = partition.manager.parent
    props = partition.properties
    for kind, count in (('ifl', 'processor-count-ifl'),
                        ('cp', 'processor-count-general-purpose')):
        wanted = props.get(f'{kind}-processors') or 0
        have = cpc.properties.get(count) or 0
        if wanted > have:
            return jobs.Failure(409, 0, (
                f'Partition {partition.name} needs {wanted} '
                f'{kind.upper()}s; CPC {cpc.name} has {have}'))
    held = sum(p.properties.get('initial-memory', 0)
               for p in cpc.partitions.list()
               if p is not partition and
               p.properties['status'] in HOLDS_RESOURCES)
    total = cpc.properties.get('storage-customer', 0)
    wanted = props.get('initial-memory', 0)
    if held + wanted > total:
        return jobs.Failure(409, 0, (
            f'Partition {partition.name} needs {wanted} MB of memory; CPC '
            f'{cpc.name} has {total - held} MB of {total} MB free'))
    return None


# -- status and OS messages -------------------------------------------

def set_status(sim, partition, status):
    old = partition.properties['status']
    partition.properties['status'] = status
    sim.os_message(partition, f'Partition status changed from {old} to '
                   f'{status}.')


def _boot_messages(sim, partition):
    """What a Linux guest prints while it boots (simulated text)."""
    props = partition.properties
    cpc = partition.manager.parent

    def say(text):
        sim.os_message(partition, text)

    say(f'Linux version 6.8.0-s390x on {cpc.properties.get("machine-type")} '
        f'partition {props.get("short-name", "")} ({partition.name})')
    say(f'Kernel command line: {props.get("boot-os-specific-parameters")}')
    device = props.get('boot-device')
    if device == 'storage-adapter':
        hba = sim.hmc.all_resources.get(props.get('boot-storage-device'))
        devno = hba.properties['device-number'] if hba else '?'
        say(f'zfcp 0.0.{devno}: booting from WWPN '
            f'{props.get("boot-world-wide-port-name")} LUN '
            f'{props.get("boot-logical-unit-number")}')
    elif device == 'storage-volume':
        say(f'Booting from storage volume {props.get("boot-storage-volume")}')
    elif device == 'iso-image':
        say(f'Booting from ISO image {props.get("boot-iso-image-name")}')
    else:
        say(f'Boot device {device!r}: no operating system loaded')
    for nic in partition.nics.list():
        say(f'qeth 0.0.{nic.properties.get("device-number")}: MAC address '
            f'{nic.properties.get("mac-address")} (NIC {nic.name})')
    say(f'{partition.name} login:')


def list_os_messages(sim, req):
    partition = common.partition(sim, req)
    begin = int(req.query.get('begin-sequence-number', 0))
    end = req.query.get('end-sequence-number')
    return {'os-messages': [
        m for m in sim.os_messages.get(partition.uri, [])
        if m['sequence-number'] >= begin and
        (end is None or m['sequence-number'] <= int(end))]}
