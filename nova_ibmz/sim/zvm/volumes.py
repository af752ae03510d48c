# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""FCP devices, FCP Multipath Templates and volume attachment.

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

import ast
import re
import uuid

from zvmsdk.sdkwsgi.schemas import volume as schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import guests

# The volume handlers' valid_true_values for host_default.
TRUE_VALUES = (True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on',
               'YES', 'Yes', 'yes')
_RANGE = '[0-9a-fA-F]{1,4}(-[0-9a-fA-F]{1,4})?'
_PATH = f'{_RANGE}(,{_RANGE})*'
FCP_DEVICES = re.compile(f'^{_PATH}(;{_PATH})*;?$')
# Where the connector's attach rollback ends when its database lacks a
# device of the connection.
UNBOUND = UnboundLocalError("cannot access local variable 'fcp_connections'"
                            " where it is not associated with a value")


def _unexpected(error):
    return errors.sdkserver(f'unexpected exception: {error!r}')


# -- the FCP database ------------------------------------------------------

def _state(fcp):
    """z/VM's state and owner of the device, as the connector records
    them (lower case)."""
    if fcp.userid:
        return 'active', fcp.userid.lower()
    return 'free', 'none'


def _template(member, template_id):
    """The template of this id (compared without case), or None."""
    return next((t for key, t in member.templates.items()
                 if key.lower() == str(template_id).lower()), None)


def _path_count(fcp_paths):
    return len(set(fcp_paths.values()))


def _min_paths(template):
    """min_fcp_paths_count, whose -1 (not set) means every path."""
    count = template['min_fcp_paths_count']
    return _path_count(template['fcps']) if count == -1 else count


def _base(template):
    """A template's basic information, as every template route gives it."""
    return {'id': template['id'], 'name': template['name'],
            'description': template['description'],
            'host_default': template['host_default'],
            'storage_providers': list(template['storage_providers']),
            'min_fcp_paths_count': _min_paths(template)}


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


def _shrink(fcp_ids):
    """'1A00 - 1A02, 1A05': FCP ids in runs, as the connector lists them
    (a lone id keeps its text)."""
    if len(fcp_ids) == 1:
        return fcp_ids[0].upper()
    runs = []
    for n in sorted(int(f, 16) for f in fcp_ids):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ', '.join(f'{a:X}' if a == b else f'{a:X} - {b:X}'
                     for a, b in runs)


def _expand(text):
    """fcp_devices ('1a00-1a01;1b00,1b02') as {devno: path}: each ';'
    part is a path of ids and ranges."""
    if not text:
        return {}
    text = text.strip().replace(' ', '')
    if not FCP_DEVICES.match(text):
        raise errors.sdk('internal', 1, 'zvmsdk',
                         msg=f'Invalid FCP address {text}')
    paths = {}
    for path, part in enumerate(text.split(';')):
        for item in filter(None, part.split(',')):
            first, _, last = item.partition('-')
            for n in range(int(first, 16), int(last or first, 16) + 1):
                paths[f'{n:04x}'] = path
    return paths


def _literal(text):
    """A list the handlers take as its Python text ("['id1']")."""
    if not text:
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise _unexpected(e)


# -- get_volume_connector ----------------------------------------------------

def _connector_error(userid, msg):
    return errors.sdk('volume', 11, userid=userid, msg=msg)


@api.route('GET', '/volumes/conn/{userid}',
           query_schema=schemas.get_volume_connector, smapi=False)
def connector(req):
    """The guest's FC initiators for the storage to map volumes to.  The
    handler reads {"info": {"reserve", "fcp_template_id",
    "storage_provider"}} from the GET's body and tests reserve's truth, so
    the string 'false' reserves too."""
    if req.body is None:
        raise api.no_body()
    info = req.body.get('info')
    if not isinstance(info, dict) or 'reserve' not in info:
        raise errors.wsgi_500()
    userid, template_id = req.params['userid'], info.get('fcp_template_id')
    if template_id and _template(req.member, template_id) is None:
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
    template = (_template(member, template_id) if template_id
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
    if len(picked) < _path_count(template['fcps']) and \
            len(picked) < _min_paths(template):
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
    template = _template(member, template_id)
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
        raise _unexpected(AttributeError(
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
        raise _unexpected(UNBOUND)
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
    if req.body is None:
        raise api.no_body()
    info = req.body.get('info') or {}
    if not {'fcpchannel', 'wwpn', 'lun'} <= set(info):
        raise errors.wsgi_500()
    template_id = info.get('fcp_template_id')
    if template_id:
        template = _template(req.member, template_id)
        if template is None:
            raise errors.not_found(f'min_fcp_paths_count from '
                                   f'fcp_template_id {template_id}', 'zvmsdk')
        if _min_paths(template) == 0:
            raise errors.sdkserver(
                f'exception without results defined, error: z/VM SDK '
                f'error: No FCP devices were found in the FCP Multipath '
                f'Template {template_id},stop refreshing bootmap.')
    if info.get('guest_networks') and not info.get('transportfiles'):
        raise errors.sdk('volume', 10)
    return {fcp: list(info['wwpn']) for fcp in info['fcpchannel']}


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


# -- FCP Multipath Templates -------------------------------------------------

def _listed(member, template_ids):
    """The templates of the ids, in the database's order; 404 naming the
    missing ones."""
    missing = [i for i in template_ids if _template(member, i) is None]
    if missing:
        raise errors.not_found(f'FCP Multipath Templates {missing} ',
                               'zvmsdk')
    wanted = {str(i).lower() for i in template_ids}
    return [t for t in member.templates.values()
            if t['id'].lower() in wanted]


@api.route('GET', '/volumes/fcptemplates',
           query_schema=schemas.get_fcp_templates,
           extra_status=errors.NOT_FOUND, smapi=False)
def list_templates(req):
    """By ids, else by a guest's reservations, else as storage providers'
    defaults (['all'] for all), else by host_default, else all."""
    member = req.member
    ids = _literal(req.arg('template_id_list'))
    assigner = req.arg('assigner_id')
    providers = _literal(req.arg('storage_providers'))
    host_default = req.arg('host_default')
    if ids:
        templates = _listed(member, ids)
    elif assigner:
        used = {f.tmpl_id.lower() for f in member.fcps.values()
                if f.assigner_id.upper() == assigner.upper()}
        templates = [t for t in member.templates.values()
                     if t['id'].lower() in used]
    elif providers:
        templates = _provider_defaults(member, providers)
    elif host_default is not None:
        # An empty value asks for the templates that are not the default.
        wanted = bool(host_default) and host_default in TRUE_VALUES
        templates = [t for t in member.templates.values()
                     if t['host_default'] == wanted]
    else:
        templates = list(member.templates.values())
    return {'fcp_templates': [_base(t) for t in templates]}


def _provider_defaults(member, providers):
    everyone = len(providers) == 1 and providers[0].lower() == 'all'
    names = [p.lower() for p in providers]
    found = {}
    for name in names:
        for template in member.templates.values():
            own = [s.lower() for s in template['storage_providers']]
            if own and (everyone or name in own):
                found.setdefault(template['id'], template)
    return list(found.values())


@api.route('GET', '/volumes/fcptemplates/detail',
           query_schema=schemas.get_fcp_templates_details,
           extra_status=errors.NOT_FOUND, smapi=False)
def template_details(req):
    """Basic information, with the devices' database rows per path (raw)
    and their usage per path (statistics, on unless statistics=false)."""
    member = req.member
    ids = _literal(req.arg('template_id_list'))
    templates = (_listed(member, ids) if ids
                 else list(member.templates.values()))
    raw = (req.arg('raw') or 'false').lower() == 'true'
    statistics = (req.arg('statistics') or 'true').lower() == 'true'
    answer = []
    for template in templates:
        info = _base(template)
        if raw:
            info['raw'] = _raw(member, template)
        if statistics:
            info['statistics'] = _statistics(member, template)
        answer.append(info)
    return {'fcp_templates': answer}


def _by_path(template):
    """(devno, path) of the template, by path and id."""
    return sorted(template['fcps'].items(), key=lambda i: (i[1], i[0]))


def _raw(member, template):
    """Per path the rows (fcp_id, template, assigner, connections,
    reserved, NPIV and physical WWPN, CHPID, state, owner, the template
    it was reserved from); a device z/VM lacks has None past its id."""
    rows = {}
    for devno, path in _by_path(template):
        fcp = member.fcps.get(devno)
        row = [devno, template['id']] + ([None] * 9 if fcp is None else [
            fcp.assigner_id, fcp.connections, fcp.reserved, fcp.wwpn_npiv,
            fcp.wwpn_phy, fcp.chpid.lower(), *_state(fcp), fcp.tmpl_id])
        rows.setdefault(str(path), []).append(row)
    return rows


def _usage(fcp):
    """The statistics sections a device counts in, besides total."""
    state = _state(fcp)[0]
    if not fcp.connections:
        if fcp.reserved:
            return ['reserve_only']
        return ['available'] if state == 'free' else []
    sections = ['allocated' if fcp.reserved else 'connection_only']
    return sections + (['allocated_but_free'] if state == 'free' else [])


def _statistics(member, template):
    lists = ('total', 'available', 'allocated', 'reserve_only',
             'connection_only', 'allocated_but_free', 'notfound', 'offline')
    paths = {}
    for devno, path in _by_path(template):
        usage = paths.setdefault(str(path), dict(
            {name: [] for name in lists}, unallocated_but_active={},
            CHPIDs={}))
        fcp_id, fcp = devno.upper(), member.fcps.get(devno)
        usage['total'].append(fcp_id)
        if fcp is None:
            usage['notfound'].append(fcp_id)
            continue
        for section in _usage(fcp):
            usage[section].append(fcp_id)
        state, owner = _state(fcp)
        if state == 'active' and not (fcp.connections or fcp.reserved):
            usage['unallocated_but_active'][fcp_id] = owner
        usage['CHPIDs'].setdefault(fcp.chpid.lower(), []).append(fcp_id)
    for usage in paths.values():
        usage['total_count'] = len(usage['total'])
        usage['available_count'] = len(usage['available'])
        for name in lists:
            usage[name] = _shrink(usage[name]) if usage[name] else ''
        usage['CHPIDs'] = {c: _shrink(ids)
                           for c, ids in usage['CHPIDs'].items()}
        parts = [p.strip() for p in usage['total'].split(',')]
        usage['range_fcp'] = ', '.join(p for p in parts if '-' in p)
        usage['single_fcp'] = ', '.join(p for p in parts if '-' not in p)
    return paths


def _set_defaults(member, template, host_default, providers):
    """Only one template is the host's default, and a storage provider
    has one default template."""
    if host_default:
        for other in member.templates.values():
            other['host_default'] = False
    if host_default is not None:
        template['host_default'] = host_default
    if providers is not None:
        taken = {p.lower() for p in providers}
        for other in member.templates.values():
            other['storage_providers'] = [
                s for s in other['storage_providers']
                if s.lower() not in taken]
        template['storage_providers'] = list(providers)


def _check_min_paths(min_paths, path_count, message):
    if isinstance(min_paths, str):
        # positive_integer admits '2', which the connector compares with a
        # number.
        raise _unexpected(TypeError("'>' not supported between instances "
                                    "of 'str' and 'int'"))
    if min_paths > path_count:
        raise errors.sdk('conflict', 23, 'volume', msg=message.format(
            min_paths, path_count))


@api.route('POST', '/volumes/fcptemplates',
           schema=schemas.create_fcp_template, smapi=False)
def create_template(req):
    body, member = req.body, req.member
    fcp_paths = _expand(body.get('fcp_devices', ''))
    min_paths = body.get('min_fcp_paths_count')
    if min_paths:
        _check_min_paths(min_paths, _path_count(fcp_paths),
                         'min_fcp_paths_count {} is larger than fcp device '
                         'path count {}, adjust fcp_devices or '
                         'min_fcp_paths_count.')
    providers = body.get('storage_providers', [])
    template_id = str(uuid.uuid1())
    template = {'id': template_id, 'name': body['name'],
                'description': body.get('description', ''),
                'host_default': False, 'storage_providers': [],
                'min_fcp_paths_count': min_paths or -1, 'fcps': fcp_paths}
    _set_defaults(member, template,
                  body.get('host_default', False) in TRUE_VALUES,
                  providers)
    member.templates[template_id] = template
    return {'fcp_template': _base(template)}


@api.route('PUT', '/volumes/fcptemplates/{template_id}', smapi=False)
def edit_template(req):
    """Change what is given; the template's devices only while none of
    them it reserved would be dropped, and its paths only while it has
    reserved none."""
    if req.body is None:
        raise api.no_body()
    # The handler adds the path's id to the body, then validates it.
    body = dict(req.body, fcp_template_id=req.params['template_id'])
    api.validate(schemas.edit_fcp_template, body)
    member = req.member
    template = _template(member, body['fcp_template_id'])
    if template is None:
        raise errors.not_found(
            f"FCP Multipath Template {body['fcp_template_id']}", 'zvmsdk')
    in_use = {devno for devno, f in member.fcps.items()
              if f.tmpl_id.lower() == template['id'].lower()}
    devices = body.get('fcp_devices')
    if devices is not None:
        _check_paths_kept(template, devices, in_use)
    _check_new_min_paths(template, devices, body.get('min_fcp_paths_count'))
    if devices is not None:
        _replace_devices(member, template, _expand(devices), in_use)
    for key in ('name', 'description', 'min_fcp_paths_count'):
        if body.get(key) is not None:
            template[key] = body[key]
    host_default = body.get('host_default')
    _set_defaults(member, template, None if host_default is None
                  else host_default in TRUE_VALUES,
                  body.get('storage_providers'))
    return {'fcp_template': _base(template)}


def _check_paths_kept(template, devices, in_use):
    count = len([part for part in devices.split(';') if part])
    if count != _path_count(template['fcps']) and in_use:
        raise errors.sdk('conflict', 24, 'volume', msg=(
            f'The FCP devices ({_shrink(sorted(in_use))}) are allocated to '
            f'virtual machines by the FCP Multipath Template '
            f'(id={template["id"]}). Adding or deleting a FCP device path '
            f'from a FCP Multipath Template is not allowed if there is any '
            f'FCP device allocated from the template. You must deallocate '
            f'those FCP devices before adding or deleting a path from the '
            f'template.'))


def _check_new_min_paths(template, devices, min_paths):
    if not (min_paths or devices):
        return
    count = _path_count(_expand(devices) if devices else template['fcps'])
    _check_min_paths(min_paths or template['min_fcp_paths_count'], count,
                     'min_fcp_paths_count {} is larger than fcp device path '
                     'count {}. Adjust the fcp_devices setting or '
                     'min_fcp_paths_count.')


def _replace_devices(member, template, fcp_paths, in_use):
    dropped = sorted(
        devno for devno in set(template['fcps']) - set(fcp_paths)
        if devno in in_use and (member.fcps[devno].connections or
                                member.fcps[devno].reserved))
    if dropped:
        raise errors.sdk('conflict', 24, 'volume', msg=(
            f'The FCP devices ({_shrink(dropped)}) are missing from the FCP '
            f'device list. These FCP devices are allocated to virtual '
            f'machines from the FCP Multipath Template '
            f'(id={template["id"]}). Deleting the allocated FCP devices from '
            f'this template is not allowed. You must ensure those FCP '
            f'devices are included in the FCP device list.'))
    template['fcps'] = fcp_paths


@api.route('DELETE', '/volumes/fcptemplates/{template_id}',
           extra_status=errors.NOT_FOUND, smapi=False)
def delete_template(req):
    member, template_id = req.member, req.params['template_id']
    template = _template(member, template_id)
    if template is None:
        raise errors.not_found(f'FCP Multipath Template {template_id} ',
                               'zvmsdk')
    in_use = sorted(devno for devno, f in member.fcps.items()
                    if f.tmpl_id.lower() == template['id'].lower())
    if in_use:
        raise errors.sdk('conflict', 22, 'volume', msg=(
            f'The FCP devices ({_shrink(in_use)}) are allocated to virtual '
            f'machines by the FCP Multipath Template (id={template["id"]}). '
            f'Deleting a FCP Multipath Template is not allowed if there is '
            f'any FCP device allocated from the template. You must '
            f'deallocate those FCP devices before deleting the template.'))
    del member.templates[template['id']]
    return ''
