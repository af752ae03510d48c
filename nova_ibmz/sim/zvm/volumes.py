# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""FCP devices and volume attachment (the templates' own routes are in
fcptemplates.py).

Each member's connector keeps an FCP database: per FCP device the guest it
is reserved for (assigner), whether it is reserved, the template it came
from and how many volumes use it (model.Fcp); and its templates, which
group the member's FCP devices into paths (model.Member.templates, one
host default covering every device to start with).  get_volume_connector
reserves one free device per path for a guest, or releases those no volume
uses; attach counts a volume on the devices and dedicates a device to the
guest in z/VM with its first volume, detach the reverse.  z/VM's view of a
device is derived: "active", owned by the guest it is dedicated to
(Fcp.userid), else "free".

The connector never checks that an assigner is one of its guests (a boot
volume's connector comes before its guest), and only the database changes
for a root volume or update_connections_only; the simulator refuses to
touch a foreign guest where the real one would dedicate devices to it or
punch scripts to it.  Devices are picked lowest first, where the real one
picks at random within a path.
"""


from zvmsdk.sdkwsgi.schemas import volume as schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import guests

# Where the connector's attach rollback ends when its database lacks a
# device of the connection.
UNBOUND = UnboundLocalError("cannot access local variable 'fcp_connections'"
                            " where it is not associated with a value")


def unexpected(error):
    """The SDK server's internal error for an exception of its own."""
    return errors.sdkserver(f'unexpected exception: {error!r}')


# -- the FCP database ------------------------------------------------------

def find_template(member, template_id):
    """The template of this id (compared without case), or None."""
    return next((t for key, t in member.templates.items()
                 if key.lower() == str(template_id).lower()), None)


def path_count(fcp_paths):
    return len(set(fcp_paths.values()))


def min_paths(template):
    """min_fcp_paths_count, whose -1 (not set) means every path."""
    count = template['min_fcp_paths_count']
    return path_count(template['fcps']) if count == -1 else count


def _devices(member, template, path=None):
    """The template's devices the member has (the database's inner join),
    lowest first, of one path or all."""
    return [member.fcps[devno]
            for devno, p in sorted(template['fcps'].items())
            if devno in member.fcps and path in (None, p)]


def _reserved_by(member, template, userid):
    """The devices of the template recorded for userid (without case)."""
    return [f for f in _devices(member, template)
            if f.assigner_id.upper() == userid.upper() and
            f.tmpl_id.lower() == template['id'].lower()]


# -- get_volume_connector ----------------------------------------------------

def _connector_error(userid, msg):
    return errors.sdk('volume', 11, userid=userid, msg=msg)


@api.route('GET', '/volumes/conn/{userid}', smapi=False)
def connector(req):
    """The guest's FC initiators for the storage to map volumes to.  The
    handler reads {"info": {"reserve", "fcp_template_id",
    "storage_provider"}} from the GET's body, then checks the path's
    userid, and tests reserve's truth, so the string 'false' reserves
    too."""
    body = req.json()
    api.handler_reads(lambda: body['info']['reserve'])
    info = body['info']
    api.validate(schemas.get_volume_connector, req.params, is_body=False)
    userid, template_id = req.params['userid'], info.get('fcp_template_id')
    if template_id and find_template(req.member, template_id) is None:
        raise _connector_error(userid,
                               f"fcp_template_id {template_id} doesn't "
                               f"exist.")
    if info['reserve']:
        fcps, template_id = _reserve(req, userid, template_id,
                                     info.get('storage_provider'))
    else:
        fcps = _release(req.member, userid, template_id)
    req.model.changed()     # a GET that changes reservations: save them
    if not fcps:
        return {'zvm_fcp': [], 'wwpns': [], 'host': '',
                'phy_to_virt_initiators': {}, 'fcp_paths': 0,
                'fcp_template_id': template_id}
    return {'zvm_fcp': [f.devno for f in fcps],
            'wwpns': [f.wwpn_npiv for f in fcps],
            'phy_to_virt_initiators': {f.wwpn_npiv: f.wwpn_phy
                                       for f in fcps},
            'host': f'{req.member.name}_{userid}',  # LPAR name_userid
            'fcp_paths': len(fcps), 'fcp_template_id': template_id}


def _default_template(member, userid, sp_name):
    """The storage provider's default template, else the host's."""
    for template in member.templates.values():
        if sp_name and sp_name.lower() in (
                s.lower() for s in template['storage_providers']):
            return template
    for template in member.templates.values():
        if template['host_default']:
            return template
    raise _connector_error(userid, 'No FCP Multipath Template is specified '
                           'and no default FCP Multipath Template is found.')


def _reserve(req, userid, template_id, sp_name):
    """The devices reserved for userid already, else one free device per
    path (if at least min_fcp_paths_count paths have one)."""
    member = req.member
    template = (find_template(member, template_id) if template_id
                else _default_template(member, userid, sp_name))
    answer_id = template_id or template['id']   # a given id as given
    mine = [f for f in _reserved_by(member, template, userid)
            if f.connections or f.reserved]
    if mine:
        return mine, answer_id
    if req.model.smapi_down():
        # The connector syncs its database with z/VM before it picks.
        raise _connector_error(userid, (
            f'Failed to reserve FCP devices for assigner {userid} by FCP '
            f'Multipath Template {template_id} error: '
            f'{errors.smapi_down("System_WWPN_Query").envelope["errmsg"]}'))
    picked = []
    for path in sorted(set(template['fcps'].values())):
        free = [f for f in _devices(member, template, path)
                if not (f.connections or f.reserved or f.userid)]
        picked += free[:1]
    if len(picked) < path_count(template['fcps']) and \
            len(picked) < min_paths(template):
        return [], answer_id
    for fcp in picked:
        fcp.assigner_id, fcp.reserved = userid.upper(), 1
        fcp.tmpl_id = template['id']
    return picked, answer_id


def _release(member, userid, template_id):
    """Unreserve userid's devices of the template that no volume uses;
    all its reserved devices back, those in use included."""
    if template_id is None:
        inner = _connector_error(userid, 'fcp_template_id is not specified '
                                 'while releasing FCP devices.')
        raise _connector_error(userid, (
            f'Failed to unreserve FCP devices for assigner {userid} by FCP '
            f'Multipath Template None. Error: {inner.envelope["errmsg"]}'))
    template = find_template(member, template_id)
    if template is None:
        return []
    fcps = [f for f in _reserved_by(member, template, userid) if f.reserved]
    for fcp in fcps:
        if not fcp.connections:
            fcp.reserved, fcp.tmpl_id = 0, ''
    return fcps


# -- attach and detach -------------------------------------------------------

def _connection(conn):
    """(userid, FCP ids) of a connection; multipath must be text, as the
    connector lowers it."""
    if not isinstance(conn['multipath'], str):
        raise unexpected(AttributeError(
            f"'{type(conn['multipath']).__name__}' object has no attribute "
            f"'lower'"))
    return conn['assigner_id'].upper(), [f.lower() for f in conn['zvm_fcp']]


def _volume(conn):
    """What the guest's record of a volume holds."""
    return {'zvm_fcp': sorted(f.lower() for f in conn['zvm_fcp']),
            'target_wwpn': sorted(w.lower() for w in conn['target_wwpn']),
            'target_lun': conn['target_lun'].lower(),
            'mount_point': conn['mount_point']}


def _same_volume(a, b):
    return (a['target_lun'], a['target_wwpn']) == \
        (b['target_lun'], b['target_wwpn'])


def _guest(req, userid, attaching):
    """The guest a volume operation changes: one of this connector's (the
    real one takes any guest of the directory).  A detach from a guest the
    directory no longer has changes the database only (None)."""
    guest = req.model.guests.get(userid)
    if guest is not None and userid in req.member.registry:
        return guest
    if guest is not None or attaching:
        raise errors.not_found(f"Guest '{userid}'", 'volume')
    return None


@api.route('POST', '/guests/volumes', schema=schemas.attach, smapi=False)
def attach(req):
    """Count the volume on its devices, dedicate those it is the first
    volume of (SMAPI), punch the script that brings it online; a root
    volume (its devices dedicated by refresh_bootmap) only counts."""
    conn = req.body['info']['connection']
    userid, fcp_ids = _connection(conn)
    root = conn.get('is_root_volume', False)
    guest = None if root else _guest(req, userid, attaching=True)
    fcps = _count_on(req.member, userid, fcp_ids)
    if guest is None:
        return ''
    first = [fcp for fcp in fcps if fcp.connections == 1]
    if first and req.model.smapi_down():
        for fcp in fcps:
            fcp.connections -= 1
        _unreserve_unused(fcps, userid)
        raise errors.smapi_down('Image_Device_Dedicate_DM')
    for fcp in first:
        fcp.userid = userid
    guests.punch(guest, 'atvol.sh')
    volume = _volume(conn)
    if not any(_same_volume(volume, v) for v in guest.volumes):
        guest.volumes.append(volume)
    return ''


def _count_on(member, userid, fcp_ids):
    """One more connection on each device recorded for userid, or none
    and the error: a device recorded for another guest is not found, and
    the connector's rollback unreserves the unused devices; a device the
    database lacks fails the rollback itself."""
    if any(devno not in member.fcps for devno in fcp_ids):
        raise unexpected(UNBOUND)
    fcps = [member.fcps[devno] for devno in fcp_ids]
    stranger = next((f for f in fcps if f.assigner_id.upper() != userid),
                    None)
    if stranger is not None:
        _unreserve_unused(fcps, userid)
        raise errors.not_found(f'FCP with id: {stranger.devno}', 'volume')
    for fcp in fcps:
        fcp.connections += 1
    return fcps


def _unreserve_unused(fcps, userid):
    """The rollback of a failed attach: the listed devices without
    connections are undedicated from userid and unreserved, whoever they
    were reserved for."""
    for fcp in fcps:
        if not fcp.connections:
            if fcp.userid == userid:
                fcp.userid = ''
            fcp.reserved, fcp.tmpl_id = 0, ''


@api.route('DELETE', '/guests/volumes', schema=schemas.detach, smapi=False)
def detach(req):
    """Uncount the volume (a device without connections stays at 0), then,
    unless only the database is asked for or the guest is gone, punch the
    script that takes it offline and undedicate the unused devices
    (SMAPI)."""
    conn = req.body['info']['connection']
    userid, fcp_ids = _connection(conn)
    db_only = conn.get('is_root_volume', False) or \
        conn.get('update_connections_only', False)
    guest = None if db_only else _guest(req, userid, attaching=False)
    fcps = [req.member.fcps[d] for d in fcp_ids if d in req.member.fcps]
    counted = [fcp for fcp in fcps if fcp.connections]
    for fcp in counted:
        fcp.connections -= 1
    if guest is None:
        return ''
    unused = [fcp for fcp in fcps
              if not fcp.connections and fcp.userid == userid]
    if unused and req.model.smapi_down():
        for fcp in counted:
            fcp.connections += 1
        raise errors.smapi_down('Image_Device_Undedicate_DM')
    guests.punch(guest, 'devol.sh')
    for fcp in unused:
        fcp.userid = ''
    volume = _volume(conn)
    guest.volumes = [v for v in guest.volumes if not _same_volume(volume, v)]
    return ''


@api.route('PUT', '/volumes/volume_refresh_bootmap', smapi=False)
def refresh_bootmap(req):
    """The connector's refresh_bootmap script: every FCP device given
    reaches every target WWPN (the simulator has no fabric)."""
    body = req.json()
    info = api.handler_reads(lambda: body['info'])
    api.handler_reads(lambda: [info[k] for k in ('fcpchannel', 'wwpn',
                                                 'lun')])
    template_id = info.get('fcp_template_id')
    if template_id:
        template = find_template(req.member, template_id)
        if template is None:
            raise errors.not_found(f'min_fcp_paths_count from '
                                   f'fcp_template_id {template_id}', 'zvmsdk')
        if min_paths(template) == 0:
            raise errors.sdkserver(
                f'exception without results defined, error: z/VM SDK '
                f'error: No FCP devices were found in the FCP Multipath '
                f'Template {template_id},stop refreshing bootmap.')
    try:
        # The SDK joins both lists into the script's options.
        fcps = ','.join(info['fcpchannel']).split(',')
        wwpns = ','.join(info['wwpn']).split(',')
    except TypeError as e:
        raise errors.sdkserver(f'unexpected exception: {e!r}')
    if info.get('guest_networks') and not info.get('transportfiles'):
        raise errors.sdk('volume', 10)
    return {fcp: wwpns for fcp in fcps}


# -- FCP usage ---------------------------------------------------------------

def _fcp(req):
    """The device of the path: the id as given against the database's
    lower-case ids, so '1A00' is not found."""
    fcp = req.member.fcps.get(req.params['fcp_id'])
    if fcp is None:
        raise errors.not_found(f"FCP '{req.params['fcp_id']}'", 'volume')
    return fcp


@api.route('GET', '/volumes/fcp/{fcp_id}', query_schema=schemas.get_fcp_usage,
           extra_status=errors.NOT_FOUND, smapi=False)
def fcp_usage(req):
    fcp = _fcp(req)
    return [fcp.assigner_id, fcp.reserved, fcp.connections, fcp.tmpl_id]


@api.route('PUT', '/volumes/fcp/{fcp_id}', schema=schemas.set_fcp_usage,
           smapi=False)
def set_fcp_usage(req):
    """The database's record, as given; the handler answers HTTP 200
    whatever the envelope says."""
    info = req.body['info']
    if not {'userid', 'fcp_template_id'} <= set(info):
        raise errors.wsgi_500()
    try:
        fcp = _fcp(req)
    except errors.ConnectorError as e:
        e.status = 200
        raise
    fcp.assigner_id, fcp.reserved = info['userid'], info['reserved']
    fcp.connections = info['connections']
    fcp.tmpl_id = info['fcp_template_id'] or ''
    return ''
