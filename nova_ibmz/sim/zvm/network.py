# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Guest NICs, vswitches and the network configuration punched to guests.

A NIC is a NICDEF in the guest's directory entry and a row of the
connector's switch table, which GET /guests/nics reads.  Coupling writes
LAN SYSTEM into the NICDEF and nothing else checks it; with active=true
the connector also couples the NIC in CP, and only CP refuses a missing
vswitch or a guest without a grant, after which the connector uncouples
the NICDEF again.  The simulator keeps one coupling per NIC, the
directory's: a change made while the guest runs counts at once.

Errors carry the codes the connector turns SMAPI's answers into
(zvmsdk.smtclient's _*_exception methods), and each route keeps its real
handler's status mapping.
"""

import time

from zvmsdk import constants as sdk_constants
from zvmsdk.sdkwsgi import util as wsgi_util
from zvmsdk.sdkwsgi.schemas import guest as guest_schemas
from zvmsdk.sdkwsgi.schemas import vswitch as vswitch_schemas

from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import guests
from nova_ibmz.sim.zvm import model as zmodel

DEFAULT_NIC_VDEV = f'{zmodel.NIC_FIRST_VDEV:X}'   # [zvm] default_nic_vdev
NIC_DEVICES = 3         # a QDIO NIC's read, write and data devices
TAR_RECORD = 10240      # the network.doscript tar holds a few small files
# What Virtual_Network_Vswitch_Query_Extended reports of what the
# simulator does not model; the connector passes the text on.
VSWITCH_FIXED = {
    'transport_type': 'ETHERNET', 'queue_memory_limit': '8',
    'routing_value': 'NA', 'gvrp_request_attribute': 'GVRP',
    'gvrp_enabled_attribute': 'GVRP', 'link_ag': 'LAG', 'lag_interval': '0',
    'lag_group': '(NOGRP)', 'IP_timeout': '5', 'switch_type': 'QDIO',
    'isolation_status': 'NOISOLATION', 'MAC_protect': 'NOMACPROTECT',
    'user_port_based': 'USERBASED', 'VLAN_counters': 'OFF'}
# Traffic of a coupled NIC per second of its guest's uptime.
RX_BYTES, TX_BYTES, FRAME_BYTES = 2048, 1024, 512


def _flag(value):
    """A boolean of the body as the handlers read it (strictly)."""
    return wsgi_util.bool_from_string(value, strict=True)


def _logged_on(req, guest):
    """active=true works on the running guest only (conflict rs 1)."""
    if guests.power_state(guest, req.member) != 'on':
        raise errors.sdk('conflict', 1, 'network', userid=guest.userid)


def _smapi_text(api_name, rc, rs, detail):
    """The message of a SMAPI error the connector quotes in its own."""
    return errors.smapi(api_name, rc, rs, detail).envelope['errmsg']


def _nic(guest, vdev):
    """The NIC whose switch table row has this vdev (the table compares
    text without case), or None."""
    return next((nic for key, nic in guest.nics.items()
                 if key.upper() == vdev.upper()), None)


# -- NICs ----------------------------------------------------------------

def _nic_vdev(guest, vdev):
    """The vdev the connector picks from its switch table: the given one
    unless it overlaps a NIC's three devices, else [zvm] default_nic_vdev
    for the first NIC and three past the highest for the next (the highest
    as text, the result in lower case, as the real one computes it)."""
    used = list(guest.nics)
    if not used:
        chosen = vdev or DEFAULT_NIC_VDEV
    elif vdev is None:
        chosen = f'{int(max(used), 16) + NIC_DEVICES:x}'
    elif any(abs(int(vdev, 16) - int(u, 16)) < NIC_DEVICES for u in used):
        raise errors.sdk('conflict', 6, 'network', vdev=vdev,
                         userid=guest.userid,
                         msg=f'The specified virtual device number {vdev} '
                         f'has already been used.')
    else:
        chosen = vdev
    if len(chosen) > 4 or int(chosen, 16) + NIC_DEVICES - 1 > 0xFFFF:
        raise errors.invalid(f'Virtual device number {chosen} is not valid')
    return chosen


def _mac(model, mac_addr):
    """The NIC's MAC: z/VM takes only the last three bytes of a given
    address (the NICDEF's MACID) behind the system's MACPREFIX."""
    if mac_addr is None:
        return model.next_mac()
    return f'{zmodel.MAC_PREFIX}:{mac_addr.lower()[-8:]}'


def _add_nic(req, guest, vdev=None, nic_id=None, mac_addr=None,
             active=False):
    """A NIC in the directory (Virtual_Network_Adapter_Create_Extended_DM)
    and the switch table; its vdev back."""
    vdev = _nic_vdev(guest, vdev)
    if active:
        _logged_on(req, guest)
    first = int(vdev, 16)
    taken = sorted(d for d in guest.disks
                   if 0 <= int(d, 16) - first < NIC_DEVICES)
    if taken:
        raise errors.sdk('conflict', 6, 'network', vdev=vdev,
                         userid=guest.userid, msg=_smapi_text(
                             'Virtual_Network_Adapter_Create_Extended_DM',
                             404, 4, f'Image device {taken[0]} already '
                             f'defined'))
    guest.nics[vdev] = zmodel.Nic(vdev, _mac(req.model, mac_addr),
                                  nic_id or '')
    return vdev


def _remove_nic(req, guest, vdev, active):
    """A NIC the switch table does not know is gone already: no error."""
    if active:
        _logged_on(req, guest)
    for key in [k for k in guest.nics if int(k, 16) == int(vdev, 16)]:
        del guest.nics[key]


@api.route('POST', '/guests/{userid}/nic', schema=guest_schemas.create_nic)
def create_nic(req):
    guest = guests.managed_on(req)
    spec = req.body['nic']
    return _add_nic(req, guest, spec.get('vdev'), spec.get('nic_id'),
                    spec.get('mac_addr'), _flag(spec.get('active', False)))


@api.route('DELETE', '/guests/{userid}/nic/{vdev}')
def delete_nic(req):
    """The handler reads {"active": ...} before the SDK sees the guest:
    without a body this route fails for any guest."""
    body = req.json()
    active = api.handler_reads(lambda: _flag(body.get('active', False)))
    _remove_nic(req, guests.managed_on(req), req.params['vdev'], active)
    return ''


@api.route('PUT', '/guests/{userid}/nic/{vdev}',
           schema=guest_schemas.nic_couple_uncouple)
def couple_uncouple(req):
    guest = guests.managed_on(req)
    info = req.body['info']
    active = _flag(info.get('active', False))
    if not _flag(info['couple']):
        _uncouple(req, guest, req.params['vdev'], active)
    elif 'vswitch' not in info:
        raise errors.wsgi_500()     # the handler reads info['vswitch']
    else:
        _couple(req, guest, req.params['vdev'], info['vswitch'],
                info.get('vlan_id', -1), active)
    return ''


def _couple(req, guest, vdev, vswitch_name, vlan_id, active):
    """The NICDEF first, then CP (active), then the switch table."""
    nic = _nic(guest, vdev)
    if nic is not None:
        if nic.vswitch == vswitch_name.upper():
            return      # the NICDEF names it already: the connector stops
        nic.vswitch, nic.vlan_id = vswitch_name.upper(), vlan_id
    if active:
        # Checked after the NICDEF changed, so a refusal leaves it coupled.
        _logged_on(req, guest)
        _cp_couple(req, guest, vdev, nic, vswitch_name)
    if nic is None:
        raise errors.not_found(f'User {guest.userid} with nic {vdev}',
                               'network')


def _cp_couple(req, guest, vdev, nic, vswitch_name):
    """CP's COUPLE; when it refuses, the connector uncouples the NICDEF."""
    if nic is None:
        # CP has no such device, and the NICDEF to undo is not there
        # either: the connector reports both failures.
        raise errors.sdk(
            'network', 3, nic=vdev, vswitch=vswitch_name,
            couple_err=_smapi_text('Virtual_Network_Adapter_Connect_Vswitch',
                                   204, 8, f'HCPQVD040E Device {vdev} does '
                                   f'not exist'),
            revoke_err=_smapi_text('Virtual_Network_Adapter_Disconnect_DM',
                                   404, 8, f'Image device {vdev} not '
                                   f'defined'))
    vswitch = req.model.vswitches.get(vswitch_name.upper())
    if vswitch is None:
        nic.vswitch, nic.vlan_id = '', -1
        raise errors.not_found(f'Vswitch {vswitch_name}', 'network')
    if guest.userid not in vswitch.grants:
        nic.vswitch, nic.vlan_id = '', -1
        raise errors.sdk('conflict', 10, 'network', vdev=vdev,
                         userid=guest.userid, vsw=vswitch_name,
                         msg=_smapi_text(
                             'Virtual_Network_Adapter_Connect_Vswitch', 212,
                             8, f'HCPNDF2788E {guest.userid} is not '
                             f'authorized to couple to {vswitch.name}'))


def _uncouple(req, guest, vdev, active):
    if active:
        _logged_on(req, guest)
    nic = _nic(guest, vdev)
    if nic is None:     # Virtual_Network_Adapter_Disconnect_DM: 404 rs 8
        raise errors.not_found(f'Guest device {vdev}', 'network')
    nic.vswitch, nic.vlan_id = '', -1


@api.route('GET', '/guests/nics', extra_status=errors.NOT_FOUND, smapi=False)
def nic_records(req):
    """The switch table's rows that match every filter given, compared
    without case as the table does; NULL (None) matches no filter."""
    wanted = {'userid': req.arg('userid'), 'port': req.arg('nic_id'),
              'switch': req.arg('vswitch')}
    rows = []
    for userid in req.member.registry:
        guest = req.model.guests.get(userid)
        for nic in guest.nics.values() if guest else ():
            row = {'userid': userid, 'interface': nic.vdev,
                   'switch': nic.vswitch or None, 'port': nic.nic_id or None,
                   'comments': None}
            if all(value is None or (row[key] is not None and
                                     row[key].upper() == value.upper())
                   for key, value in wanted.items()):
                rows.append(row)
    return rows


@api.route('GET', '/guests/interfacestats',
           query_schema=guest_schemas.userid_list_array_query,
           extra_status=errors.NOT_FOUND)
def interface_stats(req):
    """Counters of the NICs coupled in CP, for guests running here."""
    listed = [req.model.managed(req.member, u)
              for u in guests.userid_list(req)]
    now = time.time()
    stats = {}
    for guest in listed:
        if guests.power_state(guest, req.member) != 'on':
            continue
        entries = [_counters(nic, now - guest.logon_time)
                   for nic in guest.nics.values()
                   if nic.vswitch in req.model.vswitches]
        if entries:
            stats[guest.userid] = entries
    return stats


def _counters(nic, seconds):
    rx, tx = int(seconds * RX_BYTES), int(seconds * TX_BYTES)
    return {'vswitch_name': nic.vswitch, 'nic_vdev': nic.vdev.upper(),
            'nic_fr_rx': rx // FRAME_BYTES, 'nic_fr_tx': tx // FRAME_BYTES,
            'nic_fr_rx_dsc': 0, 'nic_fr_tx_dsc': 0, 'nic_fr_rx_err': 0,
            'nic_fr_tx_err': 0, 'nic_rx': rx, 'nic_tx': tx}


# -- the guest's network configuration ------------------------------------

@api.route('POST', '/guests/{userid}/interface',
           schema=guest_schemas.create_network_interface)
def create_interface(req):
    """A NIC per network, then the configuration files punched to the
    reader as one network.doscript; the networks back with their vdevs.
    A NIC made before a later one fails stays, as in the real one."""
    guest = guests.managed_on(req)
    spec = req.body['interface']
    networks = spec['guest_networks']
    active = _flag(spec.get('active', False))
    if not networks:
        raise errors.invalid('API guest_create_network_interface: Network '
                             'information is required but not provided')
    for network in networks:
        network['nic_vdev'] = _interface_nic(req, guest, network, active)
    vdevs = {int(n['nic_vdev'], 16) for n in networks}
    guest.interfaces = [i for i in guest.interfaces
                        if int(i['nic_vdev'], 16) not in vdevs]
    guest.interfaces += [dict(n, os_version=spec['os_version'])
                         for n in networks]
    # RHCOS takes its network at deploy: the connector punches nothing.
    if not spec['os_version'].lower().startswith('rhcos'):
        guests.punch(guest, 'network.doscript', TAR_RECORD)
    return networks


def _interface_nic(req, guest, network, active):
    osa = network.get('osa_device')
    if osa is None:
        return _add_nic(req, guest, network.get('nic_vdev'),
                        network.get('nic_id'), network.get('mac_addr'),
                        active)
    # The simulated systems have no OSA to dedicate: Virtual_Network_OSA_
    # Query finds none free, after the vdev is checked.
    _nic_vdev(guest, network.get('nic_vdev'))
    raise errors.sdk('conflict', 14, 'network', osa=osa, userid=guest.userid,
                     msg=f'The specified OSA device number {osa} is not '
                     f'free')


@api.route('DELETE', '/guests/{userid}/interface',
           schema=guest_schemas.delete_network_interface)
def delete_interface(req):
    """The NIC, then a script that removes its configuration, punched."""
    guest = guests.managed_on(req)
    spec = req.body['interface']
    vdev = spec['vdev']
    _remove_nic(req, guest, vdev, _flag(spec.get('active', False)))
    guest.interfaces = [i for i in guest.interfaces
                        if int(i['nic_vdev'], 16) != int(vdev, 16)]
    guests.punch(guest, f'DEL{vdev.zfill(4)}.sh')
    return ''


# -- vswitches -------------------------------------------------------------

def _vswitch(model, name):
    vswitch = model.vswitches.get(name.upper())
    if vswitch is None:
        raise errors.not_found(f'Vswitch {name}', 'network')
    return vswitch


@api.route('GET', '/vswitches')
def list_vswitches(req):
    return list(req.model.vswitches)


@api.route('POST', '/vswitches', schema=vswitch_schemas.create,
           extra_status=errors.ALREADY_EXISTS)
def create_vswitch(req):
    spec = req.body['vswitch']
    name = spec['name'].upper()
    if name in req.model.vswitches:
        raise errors.smapi('Virtual_Network_Vswitch_Create_Extended', 212, 36,
                           f'HCPSWU2834E Virtual switch {name} already '
                           f'exists')
    req.model.vswitches[name] = zmodel.Vswitch(
        name, vlan_aware=str(spec.get('vid', 'UNAWARE')).upper() != 'UNAWARE',
        real_dev=(spec.get('rdev') or '').replace(',', ' ').upper())
    return ''


@api.route('GET', '/vswitches/{name}', extra_status=errors.NOT_FOUND)
def query_vswitch(req):
    return _describe(req, _vswitch(req.model, req.params['name']))


def _describe(req, vswitch):
    """Virtual_Network_Vswitch_Query_Extended as the connector parses it:
    the basic attributes, the real devices, the grants and the NICs
    coupled in CP (of guests running here)."""
    aware = vswitch.vlan_aware
    number = list(req.model.vswitches).index(vswitch.name) + 1
    prefix = zmodel.MAC_PREFIX.replace(':', '-').upper()
    info = dict(
        {'switch_name': vswitch.name}, **VSWITCH_FIXED,
        port_type='ACCESS' if aware else 'NONE',
        vlan_awareness='AWARE' if aware else 'UNAWARE',
        vlan_id='0001' if aware else '0000',
        native_vlan_id='0001' if aware else '0000',
        mac_address=f'{prefix}-FF-00-{number:02X}',
        switch_status=sdk_constants.SWITCH_STATUS[
            '8' if vswitch.real_dev else '1'])
    info['real_devices'] = {
        rdev: {'vdev': '0000', 'controller': 'DTCVSW1', 'port_name': 'NONE',
               'dev_status': sdk_constants.DEV_STATUS['1'],
               'dev_err': sdk_constants.DEV_ERROR['0']}
        for rdev in vswitch.real_dev.split()}
    # An unaware vswitch reports one VLAN per user, which the connector
    # drops (count 0, and an int then); a grant without a VLAN is on VLAN 1.
    info['authorized_users'] = {
        userid: {'port_num': '0000', 'prom_mode': 'NOPROM',
                 'osd_sim': 'NOOSDSIM', 'vlan_count': '1' if aware else 0,
                 'vlan_ids': [f'{vlan or 1:04d}'] if aware else []}
        for userid, vlan in vswitch.grants.items()}
    info['adapters'] = {
        f'{guest.userid}_{nic.vdev.upper()}': {
            'mac': nic.mac.replace(':', '-').upper(), 'type': 'QDIO'}
        for guest in req.model.guests.values()
        if guests.power_state(guest, req.member) == 'on'
        for nic in guest.nics.values() if nic.vswitch == vswitch.name}
    return info


@api.route('DELETE', '/vswitches/{name}')
def delete_vswitch(req):
    # A vswitch that is not there is what the caller wants: no error.
    req.model.vswitches.pop(req.params['name'].upper(), None)
    return ''


@api.route('PUT', '/vswitches/{name}', schema=vswitch_schemas.update,
           extra_status=errors.NOT_FOUND)
def update_vswitch(req):
    """One change per request, the first of grant, revoke and VLAN."""
    spec, name = req.body['vswitch'], req.params['name']
    if 'grant_userid' in spec:
        _grant(req, name, spec['grant_userid'], None)
    elif 'revoke_userid' in spec:
        # The connector ignores every error of a revoke, a missing vswitch
        # included.
        vswitch = req.model.vswitches.get(name.upper())
        if vswitch is not None:
            vswitch.grants.pop(spec['revoke_userid'].upper(), None)
    elif 'user_vlan_id' in spec:
        vlan = spec['user_vlan_id']
        _grant(req, name, vlan['userid'], vlan['vlanid'])
    else:
        raise errors.wsgi_500()     # the handler answers None, unmappable
    return ''


def _grant(req, name, userid, vlan):
    """SET VSWITCH GRANT, for a guest of this connector only; a VLAN on a
    VLAN-unaware vswitch is refused (CP's HCP2846E, conflict rs 5)."""
    userid = req.model.managed(req.member, userid).userid
    vswitch = _vswitch(req.model, name)
    if vlan is None:
        vswitch.grants.setdefault(userid, None)
        return
    if not vswitch.vlan_aware:
        raise errors.sdk('conflict', 5, 'network', vsw=name,
                         msg='Operation is not allowed for a VLAN UNAWARE '
                         'vswitch')
    vswitch.grants[userid] = vlan
