# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Guests: the user directory, CP state, minidisks, resize and relocation.

What the connector checks itself comes back in its own codes (a guest
missing from its database is 404/404/1 modID 10, pause of a logged-off
guest 300/300/5); what z/VM refuses comes back as SMAPI's rc and rs with
modID 1.  A guest is "on" for the member it is logged on to and "off" for
the others; a paused guest is still "on", as CP reports it.
"""

import time

from zvmsdk.sdkwsgi.schemas import guest as schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import disks
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import model as zmodel

CONSOLE_LINES = 2000          # the console spool kept per guest
DEFAULT_MAX_CPU = 32          # the connector's [zvm] user_default_max_cpu
DEFAULT_MAX_MEM = '64G'       # and user_default_max_memory
SCRIPT_BYTES = 1024           # a shell script the connector punches
MAX_RESERVED_MB = 65536       # and user_default_max_reserved_memory (64G)


def memory_mb(text, what):
    """MB in '4096M', '4G' or '4096m' (the connector's size strings)."""
    text = str(text).strip().upper()
    try:
        if text.endswith('G'):
            return int(float(text[:-1]) * 1024)
        if text.endswith('M'):
            return int(float(text[:-1]))
        return int(text)
    except ValueError:
        raise errors.invalid(f'{what} {text!r} is not a memory size')


def console(guest, *lines):
    stamp = time.strftime('%H:%M:%S', time.gmtime())
    guest.console.extend(f'{stamp} {line}' for line in lines)
    del guest.console[:-CONSOLE_LINES]


def power_state(guest, member):
    """'on' for the member it is logged on to (paused too), else 'off'."""
    on = guest.state != 'off' and guest.member == member.name
    return 'on' if on else 'off'


STATES = ('on', 'off', 'paused')


def set_state(model, guest, member, state):
    """Log on (to member), pause or log off, with what CP writes."""
    if state not in STATES:
        raise ValueError(f'state must be on, off or paused, not {state!r}')
    if guest.state == 'off' and state != 'off':
        guest.member = member.name
        guest.logon_time = time.time()
        # CP defines no CPU beyond the directory's MACHINE ESA maximum.
        guest.active_vcpus = min(guest.vcpus, guest.max_cpu)
        root = guest.disks.get(zmodel.ROOT_VDEV)
        console(guest, f'LOGON {guest.userid} AT {member.name}',
                f'IPL {zmodel.ROOT_VDEV}')
        if root and root.image:
            console(guest, f'Linux version ({root.image}) on {member.name}',
                    f'{guest.hostname or guest.userid.lower()} login:')
        else:
            console(guest, 'HCPGIR450W CP entered; disabled wait PSW '
                    '00020000 80000000 00000000 00000000')
    elif guest.state != 'off' and state == 'off':
        guest.cpu_us = guest.cpu_time_us()
        guest.member = ''
        guest.active_vcpus = 0
        console(guest, f'USER DSCONNECT LOGOFF AS {guest.userid}')
    elif state == 'paused':
        console(guest, f'{guest.userid} STOPPED (paused by CP)')
    elif guest.state == 'paused' and state == 'on':
        console(guest, f'{guest.userid} RESUMED')
    guest.state = state


def userid_list(req):
    """The userids of ?userid=A,B (the statistics queries)."""
    return [u.upper() for u in
            ','.join(req.query.get('userid', [])).replace(' ', '')
            .strip(',').split(',') if u]


def punch(guest, name, size=SCRIPT_BYTES):
    """A file punched to the guest's virtual reader in class X, which the
    guest's activation engine (zvmguestconfigure) reads."""
    guest.reader.append({'file': name, 'class': 'X', 'size': size})


def managed_on(req):
    """The request's guest, which this connector must manage."""
    return req.model.managed(req.member, req.params['userid'])


def user_direct(guest):
    """The directory entry, as Image_Query_DM shows it."""
    lines = [f'USER {guest.userid} NOLOG {guest.memory_mb}M '
             f'{guest.max_mem_mb}M G',
             f'INCLUDE {guest.profile}',
             f'COMMAND DEFINE CPU 00-{guest.vcpus - 1:02X}' if guest.vcpus > 1
             else 'CPU 00 BASE',
             f'MACHINE ESA {guest.max_cpu}']
    # makevm writes a comment line per comment, in upper case.
    lines += [f'* {comment}' for comment in guest.comments]
    for disk in guest.disks.values():
        device = '3390' if disk.pool.startswith('ECKD') else '9336'
        lines.append(f'MDISK {disk.vdev} {device} T-DISK {disk.units} '
                     f'{disk.pool.split(":")[1]} MR')
    for nic in guest.nics.values():
        lan = f' LAN SYSTEM {nic.vswitch}' if nic.vswitch else ''
        lines.append(f'NICDEF {nic.vdev} TYPE QDIO{lan} MACID '
                     f'{nic.mac.replace(":", "")[-6:].upper()}')
    return lines


def define_foreign(model, member, data):
    """A guest someone else defined (and perhaps logged on)."""
    userid, state = data['userid'].upper(), data.get('state', 'on')
    if userid in model.guests:
        raise ValueError(f'{userid} is already defined')
    if state not in STATES:
        raise ValueError(f'state must be on, off or paused, not {state!r}')
    guest = zmodel.Guest(userid, int(data.get('vcpus', 1)),
                         int(data.get('memory_mb', 1024)),
                         max_cpu=DEFAULT_MAX_CPU,
                         max_mem_mb=memory_mb(DEFAULT_MAX_MEM, 'max_mem'))
    try:
        disks.add(model, guest, [{'size': data.get('root', '1g'),
                                  'is_boot_disk': True, 'format': 'none'}])
    except errors.ConnectorError as e:   # a bad size or a full pool
        raise ValueError(f'root {data.get("root")!r}: {e}')
    model.guests[userid] = guest
    set_state(model, guest, member, state)
    return {'userid': userid, 'state': guest.state}


# -- the guest routes --------------------------------------------------

@api.route('POST', '/guests', schema=schemas.create,
           extra_status=errors.ALREADY_EXISTS)
def create(req):
    """A guest as the SDK makes it: its checks of the request, then the
    directory entry (makevm, with the comments and the DEDICATE
    statements) and the connector's database, then the minidisks one by
    one (disks.add).  A disk that cannot be made fails the request with
    that disk's error and leaves the guest defined and listed, with the
    disks made before it: the SDK undoes nothing."""
    spec = req.body['guest']
    model, userid = req.model, spec['userid'].upper()
    disk_list = [dict(d) for d in spec.get('disk_list') or []]
    _check_disk_pools(model, disk_list)
    try:
        # smtclient.create_vm formats the counts into makevm's request.
        '%i %i' % (spec['memory'], spec['vcpus'])
    except TypeError as e:
        raise errors.sdkserver(f'unexpected exception: {e!r}')
    max_cpu = spec.get('max_cpu', DEFAULT_MAX_CPU)
    max_mem_text = spec.get('max_mem', DEFAULT_MAX_MEM)
    max_mem = memory_mb(max_mem_text, 'max_mem')
    # More vcpus than max_cpu is no error: the directory takes the entry,
    # and CP defines at most max_cpu CPUs at logon.  Memory above max_mem
    # is refused by the SMT layer's makevm (ULTMVM0206E, 4/4/206), which
    # the SDK passes on (HTTP 500).
    if spec['memory'] > max_mem:
        raise errors.ConnectorError(
            4, 4, 206, errors.MOD['smt'],
            f"Failed to create userid '{userid}'. SMT error: SMT request "
            f"failed. RequestData: 'makevm {userid} directory LBYONLY "
            f"{spec['memory']}m G --cpus {spec['vcpus']} --maxCPU "
            f"{max_cpu} --maxMemSize {max_mem_text}', Results: "
            f"'ULTMVM0206E Max memory size {max_mem_text.upper()} specified "
            f"is less than initial memory size {spec['memory']}M.'.")
    if userid in model.guests:
        raise errors.smapi('Image_Create_DM', 400, 8,
                           f'HCPDIR... {userid} is already defined')
    guest = zmodel.Guest(userid, spec['vcpus'], spec['memory'], max_cpu,
                         max_mem, profile=(spec.get('user_profile') or
                                           'OSDFLT').upper())
    guest.comments = [c.upper() for c in spec.get('comments') or []]
    model.guests[userid] = guest
    req.member.registry.append(userid)
    # DEDICATE statements for the FCP devices a guest booting from a
    # volume IPLs through (the devices of this member only).
    for devno in spec.get('dedicate_vdevs') or []:
        fcp = req.member.fcps.get(devno.lower())
        if fcp is not None and not fcp.userid:
            fcp.userid = userid
    if disk_list and disk_list[0].get('is_boot_disk'):
        # The SDK never makes a file system on the root disk, and says so.
        disk_list[0]['format'] = 'none'
    return disks.add(model, guest, disk_list)


def _check_disk_pools(model, disk_list):
    """api.guest_create's check of each disk's pool (the connector's
    [zvm] disk_pool when it names none), skipped for a lone swap disk."""
    if len(disk_list) == 1 and disk_list[0].get('format', '').lower() == \
            'swap':
        return
    for disk in disk_list:
        kind, colon, _ = (disk.get('disk_pool') or model.disk_pool) \
            .partition(':')
        if not colon or kind.upper() not in ('ECKD', 'FBA'):
            raise errors.invalid('Invalid disk_pool input, its format must '
                                 'be ECKD:eckdpoolname or FBA:fbapoolname')


@api.route('GET', '/guests', smapi=False)
def list_guests(req):
    return list(req.member.registry)


@api.route('GET', '/guests/stats',
           query_schema=schemas.userid_list_array_query)
def stats(req):
    guests = [req.model.managed(req.member, u) for u in userid_list(req)]
    now = time.time()
    return {g.userid: {
        'guest_cpus': g.active_vcpus,
        'used_cpu_time_us': g.cpu_time_us(now),
        'elapsed_cpu_time_us': int((now - g.logon_time) * 1e6),
        'min_cpu_count': 0, 'max_cpu_limit': g.max_cpu * 100,
        'samples_cpu_in_use': 0, 'samples_cpu_delay': 0,
        'used_mem_kb': g.memory_mb * 1024, 'max_mem_kb': g.max_mem_mb * 1024,
        'min_mem_kb': 0, 'shared_mem_kb': 0,
    } for g in guests if power_state(g, req.member) == 'on'}


@api.route('GET', '/guests/{userid}', query_schema=schemas.userid_list_query,
           extra_status=errors.NOT_FOUND)
def definition(req):
    return {'user_direct': user_direct(managed_on(req))}


# Image_Query_DM of any guest of the directory: unlike most guest routes,
# the SDK does not look for it in the connector's database.
@api.route('GET', '/guests/{userid}/user_direct',
           query_schema=schemas.userid_list_query,
           extra_status=errors.NOT_FOUND)
def get_user_direct(req):
    return {'user_direct': user_direct(req.model.guest(req.params['userid']))}


@api.route('DELETE', '/guests/{userid}')
def delete(req):
    model, member = req.model, req.member
    userid = req.params['userid'].upper()
    if userid not in member.registry:
        if userid in model.guests:      # someone else's guest
            raise errors.not_found(f"Guest '{userid}'", 'guest')
        return ''                       # gone already: nothing to do
    member.registry.remove(userid)
    guest = model.guests.pop(userid, None)
    if guest is not None:
        for vswitch in model.vswitches.values():
            vswitch.grants.pop(userid, None)
        for fcp in member.fcps.values():
            if fcp.userid == userid:
                fcp.userid, fcp.connections = '', 0
    return ''


# The power state is CP's QUERY USER, not SMAPI: it answers while SMAPI is
# down.
@api.route('GET', '/guests/{userid}/power_state',
           query_schema=schemas.userid_list_query,
           extra_status=errors.NOT_FOUND, smapi=False)
def get_power_state(req):
    userid = req.params['userid'].upper()
    if userid in req.member.registry and userid not in req.model.guests:
        # In the database but gone from the directory: the SDK says so.
        raise errors.sdk('notExist', 3, 'guest', obj_desc=f"Guest '{userid}'")
    return power_state(managed_on(req), req.member)


@api.route('GET', '/guests/{userid}/power_state_real',
           query_schema=schemas.userid_list_query,
           extra_status=errors.NOT_FOUND, smapi=False)
def get_power_state_real(req):
    # Asked of CP directly: any guest of the directory, managed or not.
    return power_state(req.model.guest(req.params['userid']), req.member)


@api.route('GET', '/guests/{userid}/info',
           query_schema=schemas.userid_list_query,
           extra_status=errors.NOT_FOUND)
def info(req):
    guest = managed_on(req)
    state = power_state(guest, req.member)
    on = state == 'on'
    return {'power_state': state,
            'max_mem_kb': guest.max_mem_mb * 1024,
            'mem_kb': guest.memory_mb * 1024 if on else 0,
            'num_cpu': guest.vcpus,
            'cpu_time_us': guest.cpu_time_us() if on else 0,
            'online_cpu_num': guest.active_vcpus if on else 0,
            'os_distro': guest.os_version if on else '',
            'kernel_info': ''}


# -- actions -------------------------------------------------------------

def _active(req, guest):
    """409 unless the guest is logged on to this member."""
    if power_state(guest, req.member) != 'on':
        raise errors.sdk('conflict', 1, 'guest', userid=guest.userid)


def _off_refused(guest, action):
    # The connector checks the power state itself before a pause or an
    # unpause, and reuses its capture message for it (rs 5).
    raise errors.sdk('guest', 5, userid=guest.userid,
                     msg=f'The vm {guest.userid} is powered off, please '
                     f'start up it before {action}')


def _not_active(api_name, guest):
    return errors.smapi(api_name, 200, 12,
                        f'HCPCQU045E {guest.userid} not logged on')


@api.action('start', schema=schemas.start)
def start(req):
    guest = managed_on(req)
    if guest.state != 'off' and guest.member != req.member.name:
        raise errors.smapi('Image_Activate', 200, 8,
                           f'{guest.userid} - SSI: logged on at '
                           f'{guest.member}')
    if guest.state == 'off':
        set_state(req.model, guest, req.member, 'on')
    return ''


def _log_off(req, shutdown):
    guest = managed_on(req)
    if power_state(guest, req.member) == 'on':
        if shutdown:
            console(guest, 'Received signal SHUTDOWN', 'System halted')
        set_state(req.model, guest, req.member, 'off')
    return ''


@api.action('stop', schema=schemas.stop)
def stop(req):
    return _log_off(req, shutdown=False)


@api.action('softstop', schema=schemas.softstop)
def softstop(req):
    return _log_off(req, shutdown=True)


@api.action('pause')
def pause(req):
    guest = managed_on(req)
    if power_state(guest, req.member) != 'on':
        _off_refused(guest, 'pause')
    set_state(req.model, guest, req.member, 'paused')
    return ''


@api.action('unpause')
def unpause(req):
    guest = managed_on(req)
    if power_state(guest, req.member) != 'on':
        _off_refused(guest, 'unpause')
    set_state(req.model, guest, req.member, 'on')
    return ''


def _iucv_unreachable(guest, command, request):
    """The SMT layer's IUCV call into a guest that is not logged on here:
    iucvclnt cannot connect (rc 4, errno ENETUNREACH), overallRC 2."""
    cmd = f'sudo /opt/zthin/bin/IUCV/iucvclnt {guest.userid} {command}'
    out = ('ERROR connecting socket:\nNetwork is unreachable\nReturn code 4, '
           'Reason code 101.\n')
    results = {'overallRC': 2, 'rc': 4, 'rs': 101, 'errno': 0,
               'strError': '', 'response': [
                   f'ULTVMU0315E IUCV socket error sending command to '
                   f'{guest.userid}. cmd: {cmd}, rc: 4, rs: 101, out: {out}']}
    return errors.ConnectorError(
        2, 4, 101, errors.MOD['smt'],
        f"SMT error: SMT request failed. RequestData: '{request}', "
        f"Results: '{results}'.")


@api.action('reboot')
def reboot(req):
    """Soft: the SMT layer runs "shutdown -r now" in the guest through
    IUCV, and the guest IPLs again."""
    guest = managed_on(req)
    if power_state(guest, req.member) != 'on':
        raise _iucv_unreachable(guest, 'shutdown -r now',
                                f'PowerVM {guest.userid} reboot')
    console(guest, 'Received signal SHUTDOWN (reboot)')
    set_state(req.model, guest, req.member, 'off')
    set_state(req.model, guest, req.member, 'on')
    return ''


@api.action('reset')
def reset(req):
    """Hard: log off (a logged-off guest is fine) and log on again."""
    guest = managed_on(req)
    if guest.state != 'off' and guest.member != req.member.name:
        raise _not_active('Image_Deactivate', guest)
    set_state(req.model, guest, req.member, 'off')
    set_state(req.model, guest, req.member, 'on')
    return ''


@api.action('get_console_output')
def get_console_output(req):
    guest = managed_on(req)
    return ''.join(line + '\n' for line in guest.console)


@api.action('register_vm', schema=schemas.register_vm)
def register_vm(req):
    """Take a guest of the directory into this connector's database."""
    userid = req.params['userid'].upper()
    guest = req.model.guest(userid)
    if userid not in req.member.registry:
        req.member.registry.append(userid)
    guest.os_version = guest.os_version or req.body['meta']
    return ''


@api.action('deregister_vm', schema=schemas.deregister_vm)
def deregister_vm(req):
    """Out of this connector's database; the SDK checks nothing first."""
    userid = req.params['userid'].upper()
    if userid in req.member.registry:
        req.member.registry.remove(userid)
    return ''


@api.action('resize_cpus', schema=schemas.resize_cpus)
def resize_cpus(req):
    """The directory's CPU count: it counts from the next logon."""
    guest = managed_on(req)
    count = req.body['cpu_cnt']
    if count > guest.max_cpu:
        raise errors.sdk('conflict', 4, 'guest', userid=guest.userid,
                         req=count, max=guest.max_cpu)
    guest.vcpus = count
    return ''


@api.action('live_resize_cpus', schema=schemas.resize_cpus)
def live_resize_cpus(req):
    guest = managed_on(req)
    _active(req, guest)
    count = req.body['cpu_cnt']
    if count < guest.active_vcpus:
        raise errors.sdk('conflict', 2, 'guest', userid=guest.userid,
                         active=guest.active_vcpus, req=count)
    if count > guest.max_cpu:
        raise errors.sdk('conflict', 4, 'guest', userid=guest.userid,
                         req=count, max=guest.max_cpu)
    guest.vcpus = guest.active_vcpus = count
    return ''


@api.action('resize_mem', schema=schemas.resize_mem)
def resize_mem(req):
    guest = managed_on(req)
    size = memory_mb(req.body['size'], 'size')
    if size > guest.max_mem_mb:
        raise errors.sdk('conflict', 20, 'guest', userid=guest.userid,
                         req=size, max=guest.max_mem_mb)
    guest.memory_mb = size
    return ''


@api.action('live_resize_mem', schema=schemas.resize_mem)
def live_resize_mem(req):
    """The SDK's checks in its order: active memory above the request
    (rs 18), an increase above [zvm] user_default_max_reserved_memory
    (rs 21), then the cold resize's max_mem (rs 20)."""
    guest = managed_on(req)
    _active(req, guest)
    size = memory_mb(req.body['size'], 'size')
    if size < guest.memory_mb:
        raise errors.sdk('conflict', 18, 'guest', userid=guest.userid,
                         active=guest.memory_mb, req=size)
    increase = size - guest.memory_mb
    if increase > MAX_RESERVED_MB:
        raise errors.sdk('conflict', 21, 'guest', userid=guest.userid,
                         inc=increase, max=MAX_RESERVED_MB)
    if size > guest.max_mem_mb:
        raise errors.sdk('conflict', 20, 'guest', userid=guest.userid,
                         req=size, max=guest.max_mem_mb)
    guest.memory_mb = size
    return ''


@api.action('grow_root_volume', schema=schemas.grow_root_volume)
def grow_root_volume(req):
    managed_on(req)
    return ''


@api.action('live_migrate_vm', schema=schemas.live_migrate_vm)
def live_migrate_vm(req):
    """VMRELOCATE: 'test' checks eligibility, 'move' relocates.

    After a move the source connector marks the guest migrated in its
    database: it lists it no more and answers 404 for it, which the
    simulator does by taking it out of the source's registry.  The caller
    then deregisters it on the source (no error either way) and registers
    it on the destination.
    """
    if 'parms' not in req.body:
        raise errors.wsgi_500()     # the real handler reads body['parms']
    model, guest = req.model, managed_on(req)
    _active(req, guest)
    destination = req.body['destination'].upper()
    operation = req.body['operation'].lower()
    if operation not in ('move', 'test'):
        return ''                   # the SDK does neither, and says nothing
    refuse = _relocation_refusal(model, guest, destination)
    if refuse:
        # VMRELOCATE's own codes: TEST rc 4, MOVE rc 8, both rs 3000, with
        # CP's messages in the details.
        raise errors.smapi('VMRELOCATE', 4 if operation == 'test' else 8,
                           3000, f'Details: HCPRLH1940E {guest.userid} is '
                           f'not relocated from {guest.member} to '
                           f'{destination}: {refuse}')
    if operation == 'move':
        source = guest.member
        guest.member = destination
        req.member.registry.remove(guest.userid)
        console(guest, f'HCPRLH1822I Relocation of {guest.userid} from '
                f'{source} to {destination} completed')
    return ''


def _relocation_refusal(model, guest, destination):
    """Why VMRELOCATE refuses, or ''."""
    if not model.ssi_name:
        return 'HCPRLH1944E the system is not a member of an SSI cluster'
    if destination not in model.members:
        return f'HCPRLH1942E {destination} is not a member of the cluster'
    if destination == guest.member:
        return f'HCPRLH1941E {guest.userid} is already on {destination}'
    if guest.state == 'paused':
        return 'HCPRLL1813I the guest is stopped (paused)'
    used = sum(g.memory_mb for g in model.guests.values()
               if g.state != 'off' and g.member == destination)
    free = model.member(destination).memory_mb - used
    if guest.memory_mb > free:
        return (f'HCPRLL1813I {destination} has {free} MB of storage free, '
                f'{guest.memory_mb} MB needed')
    return ''
