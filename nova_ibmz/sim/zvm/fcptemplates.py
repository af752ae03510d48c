# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""FCP Multipath Templates: the routes that list, show, create, change
and delete a member's templates, which group its FCP devices into paths
(volumes.py reserves a device per path for a guest).
"""

import ast
import re
import uuid

from zvmsdk.sdkwsgi.schemas import volume as schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import volumes

# The volume handlers' valid_true_values for host_default.
TRUE_VALUES = (True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on',
               'YES', 'Yes', 'yes')
_RANGE = '[0-9a-fA-F]{1,4}(-[0-9a-fA-F]{1,4})?'
_PATH = f'{_RANGE}(,{_RANGE})*'
FCP_DEVICES = re.compile(f'^{_PATH}(;{_PATH})*;?$')


def _state(fcp):
    """z/VM's state and owner of the device, as the connector records
    them (lower case)."""
    if fcp.userid:
        return 'active', fcp.userid.lower()
    return 'free', 'none'


def _base(template):
    """A template's basic information, as every template route gives it."""
    return {'id': template['id'], 'name': template['name'],
            'description': template['description'],
            'host_default': template['host_default'],
            'storage_providers': list(template['storage_providers']),
            'min_fcp_paths_count': volumes.min_paths(template)}


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
        raise volumes.unexpected(e)


def _listed(member, template_ids):
    """The templates of the ids, in the database's order; 404 naming the
    missing ones."""
    missing = [i for i in template_ids
               if volumes.find_template(member, i) is None]
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
        # The database's column holds text: a number is kept as its text.
        providers = [str(p) for p in providers]
        taken = {p.lower() for p in providers}
        for other in member.templates.values():
            other['storage_providers'] = [
                s for s in other['storage_providers']
                if s.lower() not in taken]
        template['storage_providers'] = providers


def _check_min_paths(min_paths, path_count, message):
    if isinstance(min_paths, str):
        # positive_integer admits '2', which the connector compares with a
        # number.
        raise volumes.unexpected(TypeError(
            "'>' not supported between instances of 'str' and 'int'"))
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
        _check_min_paths(min_paths, volumes.path_count(fcp_paths),
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
    # The handler adds the path's id to the body, then validates it.
    body = req.json()
    if not isinstance(body, dict):
        raise errors.wsgi_500()
    body = dict(body, fcp_template_id=req.params['template_id'])
    api.validate(schemas.edit_fcp_template, body)
    member = req.member
    template = volumes.find_template(member, body['fcp_template_id'])
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
    if count != volumes.path_count(template['fcps']) and in_use:
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
    count = volumes.path_count(_expand(devices) if devices
                               else template['fcps'])
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
    template = volumes.find_template(member, template_id)
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
