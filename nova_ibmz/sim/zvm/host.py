# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The host: one member's resources, its disk pools and the SSI cluster."""

import time

from zvmsdk import version as sdk_version
from zvmsdk.sdkwsgi.handlers import version as version_handler
from zvmsdk.sdkwsgi.schemas import host as host_schemas
from zvmsdk.sdkwsgi.schemas import image as image_schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import model as zmodel

GB = 1024 ** 3


def pool_info(model, name):
    """Total, used and free GB of a pool ('ECKD:POOL1' or 'POOL1')."""
    if ':' not in name:
        matches = [p for p in model.pools if p.split(':')[1] == name.upper()]
        name = matches[0] if matches else name
    pool = model.pool(name)
    unit = -(-GB // zmodel.UNIT_BYTES[pool.kind])   # cylinders or blocks
    used = model.pool_used(pool.name)
    total_gb = pool.total_units // unit
    used_gb = -(-used // unit)          # a started GB counts as used
    return {'disk_total': total_gb, 'disk_used': used_gb,
            'disk_available': total_gb - used_gb}


@api.route('GET', '/host')
def get_info(req):
    model, member = req.model, req.member
    on_here = [g for g in model.guests.values()
               if g.state != 'off' and g.member == member.name]
    info = {
        'zcc_userid': member.zcc_userid,
        'zvm_host': member.name,
        'vcpus': member.vcpus,
        'vcpus_used': min(member.vcpus,
                          sum(g.active_vcpus for g in on_here)),
        'cpu_info': {'architecture': 's390x',
                     'cec_model': member.cec_model},
        'memory_mb': float(member.memory_mb),
        'memory_mb_used': float(sum(g.memory_mb for g in on_here)),
        'hypervisor_type': 'zvm',
        'hypervisor_version': int(member.version.replace('.', '')),
        'hypervisor_hostname': member.name,
        'ipl_time': time.strftime('IPL at %m/%d/%y %H:%M:%S UTC',
                                  time.gmtime(member.ipl_time)),
    }
    info.update(pool_info(model, model.disk_pool))
    return info


@api.route('GET', '/host/guests')
def guests_on_host(req):
    return sorted(req.model.guests)


@api.route('GET', '/host/diskpool', query_schema=image_schemas.diskpool,
           extra_status=errors.NOT_FOUND)
def diskpool(req):
    name = req.arg('poolname') or req.model.disk_pool
    # The SDK's own check of the name (api.host_diskpool_get_info); the
    # query's schema has made sure it has a colon.
    if name.split(':')[0].upper() not in ('ECKD', 'FBA'):
        raise errors.invalid('Invalid disk pool type found in disk_pool, '
                             'expectdisk_pool like ECKD:eckdpool or '
                             'FBA:fbapool')
    return pool_info(req.model, name)


@api.route('GET', '/host/diskpool_volumes',
           query_schema=image_schemas.diskpool)
def diskpool_volumes(req):
    name = req.arg('poolname') or req.model.disk_pool
    pool = req.model.pool(name if ':' in name else f'ECKD:{name}')
    prefix = pool.name.split(':')[1][:4]
    count = max(1, pool.total_units // 10017)   # 3390-9 volumes
    return {'diskpool_volumes': ' '.join(f'{prefix}{n:02d}'
                                         for n in range(count))}


@api.route('GET', '/host/volume', query_schema=host_schemas.volume)
def volume(req):
    name = req.arg('volumename') or ''
    return {'volume_name': name.upper(), 'volume_type': '3390-09',
            'volume_size': '10017'}


@api.route('GET', '/host/ssi')
def ssi(req):
    model = req.model
    if not model.ssi_name:
        return []
    lines = [f'ssi_name = {model.ssi_name}', 'ssi_mode = Stable',
             'ssi_pdr = SIMPDR_on_1000', 'cross_system_timeouts = Enabled',
             f'output.ssiInfoCount = {len(model.members)}', '']
    for slot, name in enumerate(model.members, 1):
        lines += [f'member_slot = {slot}', f'member_system_id = {name}',
                  'member_state = Joined', 'member_pdr_heartbeat = '
                  + time.strftime('%m/%d/%Y_%H:%M:%S'),
                  'member_received_heartbeat = '
                  + time.strftime('%m/%d/%Y_%H:%M:%S'), '']
    return lines


@api.route('GET', '/smapi-healthy', smapi=False)
def smapi_healthy(req):
    """What 1.6.3 answers: no envelope, and always healthy.

    Its smtLayer.vmStatus.GetSMAPIStatus() builds a new, empty status on
    every call (it assigns a misspelt global), and smcli's failures are
    counted in the SDK server's process, not the web server's: so the
    counts are always 0 and SMAPI always "healthy", even when it is down.
    """
    return api.Raw({'SMAPI': {'totalSuccess': 0, 'totalFail': 0,
                              'lastSuccess': '', 'lastFail': '',
                              'continueousFail': 0, 'healthy': True}})


@api.route('GET', '/', smapi=False)
def version(req):
    """The version handler's answer, nothing added."""
    return {'version': sdk_version.__version__,
            'api_version': version_handler.APIVERSION,
            'max_version': version_handler.APIVERSION,
            'min_version': version_handler.APIVERSION}
