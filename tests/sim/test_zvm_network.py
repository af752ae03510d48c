# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator's NICs, network interfaces and vswitches.

Expected answers are the real server's (zVMCloudConnector 1.6.3): the
connector's own errors come from zvmsdk.returncode (tests.zvmsim.
sdk_error), SMAPI's pass through with modID 1.  Effects are read back
through the API (user_direct, /guests/nics, GET /vswitches/{name}) and
the simulator's state (GET /_sim/state).
"""

import pytest

from tests.zvmsim import codes
from tests.zvmsim import ok
from tests.zvmsim import sdk_error
from tests.zvmsim import web_error

# What nova's in-tree driver sends in spawn (driver._setup_network).
NOVA_NETWORK = {'ip_addr': '192.0.2.10', 'gateway_addr': '192.0.2.1',
                'cidr': '192.0.2.0/24', 'mac_addr': 'fa:16:3e:12:34:56',
                'nic_id': '5c1a3ac8-0c56-4c5c-9d4e-0b6d0bd8f7c1'}


def guest_state(controls, userid):
    return {g['userid']: g
            for g in controls.call('GET', '/state')['guests']}[userid]


def nicdefs(zvm, userid):
    return [line for line in
            zvm.ok('GET', f'/guests/{userid}')['user_direct']
            if line.startswith('NICDEF')]


def add_nic(zvm, userid, **nic):
    return zvm.ok('POST', f'/guests/{userid}/nic', {'nic': nic})


def couple(zvm, userid, vdev, **info):
    return zvm.call('PUT', f'/guests/{userid}/nic/{vdev}',
                    {'info': dict({'couple': True}, **info)})


def grant(zvm, userid, vswitch='VSWITCH1'):
    zvm.ok('PUT', f'/vswitches/{vswitch}',
           {'vswitch': {'grant_userid': userid}})


@pytest.fixture
def os1(zvm):
    zvm.create_guest('OS1')
    return 'OS1'


@pytest.fixture
def running(zvm, os1):
    assert zvm.action(os1, 'start')[0] == 200
    return os1


@pytest.fixture
def foreign(zvm_controls):
    """A guest someone else defined and logged on: never to be changed."""
    zvm_controls.call('POST', '/guests', {'userid': 'FOREIGN1'})
    return guest_state(zvm_controls, 'FOREIGN1')


# -- NICs ------------------------------------------------------------------

def test_nics_take_three_devices_from_1000(zvm, zvm_controls, os1):
    """The connector's arithmetic: the first NIC at [zvm] default_nic_vdev,
    the next three past the highest, in lower case hex (the fifth is
    100c); a given MAC keeps its last three bytes behind MACPREFIX."""
    assert [add_nic(zvm, os1) for _ in range(4)] == \
        ['1000', '1003', '1006', '1009']
    assert add_nic(zvm, os1, mac_addr='FA:16:3E:AB:CD:EF',
                   nic_id='port-5') == '100c'
    nics = guest_state(zvm_controls, os1)['nics']
    assert nics['100c']['mac'] == '02:00:0b:ab:cd:ef'
    assert nics['100c']['nic_id'] == 'port-5'
    assert nicdefs(zvm, os1)[-1] == 'NICDEF 100c TYPE QDIO MACID ABCDEF'
    assert len({n['mac'] for n in nics.values()}) == 5


def test_nic_vdev_given(zvm, os1):
    assert add_nic(zvm, os1, vdev='2000') == '2000'
    assert add_nic(zvm, os1, vdev='2003') == '2003'
    assert add_nic(zvm, os1) == '2006'


@pytest.mark.parametrize('vdev', ['0FFE', '1000', '1002'])
def test_nic_vdev_overlapping_a_nic(zvm, os1, vdev):
    add_nic(zvm, os1)
    assert zvm.call('POST', '/guests/OS1/nic', {'nic': {'vdev': vdev}}) == (
        409, sdk_error('conflict', 6, 'network', vdev=vdev, userid='OS1',
                       msg=f'The specified virtual device number {vdev} has '
                       f'already been used.'))


def test_nic_over_a_minidisk_is_refused_by_smapi(zvm, zvm_controls, os1):
    """The connector's table knows no NIC there; SMAPI's 404 rs 4 comes
    back inside conflict rs 6."""
    status, envelope = zvm.call('POST', '/guests/OS1/nic',
                                {'nic': {'vdev': '00FF'}})
    assert (status, codes(envelope)) == (409, (409, 409, 6, 20))
    assert 'Failed to create nic 00FF for guest OS1, error: ' in \
        envelope['errmsg']
    assert 'rc: 404, rs: 4' in envelope['errmsg']
    assert guest_state(zvm_controls, os1)['nics'] == {}


def test_nic_vdev_past_ffff(zvm, os1):
    add_nic(zvm, os1, vdev='FFFA')
    assert add_nic(zvm, os1) == 'fffd'     # its devices end at FFFF
    assert zvm.call('POST', '/guests/OS1/nic', {'nic': {}}) == (
        400, sdk_error('input', 3, msg='Virtual device number 10000 is not '
                       'valid'))


def test_active_nic_needs_a_running_guest(zvm, zvm_controls, os1):
    assert zvm.call('POST', '/guests/OS1/nic', {'nic': {'active': True}}) == \
        (409, sdk_error('conflict', 1, 'network', userid='OS1'))
    assert guest_state(zvm_controls, os1)['nics'] == {}
    zvm.action(os1, 'start')
    assert add_nic(zvm, os1, active='yes') == '1000'


def test_delete_nic(zvm, zvm_controls, os1):
    add_nic(zvm, os1)
    add_nic(zvm, os1)
    assert zvm.call('DELETE', '/guests/OS1/nic/1000', {}) == (200, ok())
    assert list(guest_state(zvm_controls, os1)['nics']) == ['1003']
    # A NIC the connector does not know is gone already.
    assert zvm.call('DELETE', '/guests/OS1/nic/1000', {}) == (200, ok())
    assert zvm.call('DELETE', '/guests/OS1/nic/1003',
                    {'active': True}) == \
        (409, sdk_error('conflict', 1, 'network', userid='OS1'))


def test_delete_nic_reads_a_json_body(zvm, os1):
    add_nic(zvm, os1)
    assert zvm.call('DELETE', '/guests/OS1/nic/1000') == (400, web_error(
        400, 'Malformed JSON: Expecting value: line 1 column 1 (char 0)'))


def test_foreign_guest_is_left_alone(zvm, zvm_controls, foreign):
    missing = sdk_error('notExist', 1, 'guest', obj_desc="Guest 'FOREIGN1'")
    for method, path, body in [
            ('POST', '/guests/FOREIGN1/nic', {'nic': {}}),
            ('DELETE', '/guests/FOREIGN1/nic/1000', {}),
            ('PUT', '/guests/FOREIGN1/nic/1000',
             {'info': {'couple': True, 'vswitch': 'VSWITCH1'}}),
            ('POST', '/guests/FOREIGN1/interface',
             {'interface': {'os_version': 'rhel8',
                            'guest_networks': [NOVA_NETWORK]}}),
            ('DELETE', '/guests/FOREIGN1/interface',
             {'interface': {'os_version': 'rhel8', 'vdev': '1000'}}),
            ('GET', '/guests/interfacestats?userid=FOREIGN1', None),
            ('PUT', '/vswitches/VSWITCH1',
             {'vswitch': {'grant_userid': 'FOREIGN1'}}),
            ('PUT', '/vswitches/VSWITCH1',
             {'vswitch': {'user_vlan_id': {'userid': 'FOREIGN1',
                                           'vlanid': 10}}})]:
        assert zvm.call(method, path, body) == (404, missing), path
    assert guest_state(zvm_controls, 'FOREIGN1') == foreign
    assert 'FOREIGN1' not in zvm.ok('GET', '/vswitches/VSWITCH1')[
        'authorized_users']


# -- couple and uncouple ---------------------------------------------------

def test_couple_in_the_directory(zvm, zvm_controls, os1):
    """Without active the NICDEF changes and nothing checks the vswitch
    or the grant; a VLAN is recorded with it."""
    add_nic(zvm, os1)
    add_nic(zvm, os1)
    assert couple(zvm, os1, '1000', vswitch='vswitch1', vlan_id=100) == \
        (200, ok())
    assert couple(zvm, os1, '1003', vswitch='NOSUCH') == (200, ok())
    assert nicdefs(zvm, os1) == [
        'NICDEF 1000 TYPE QDIO LAN SYSTEM VSWITCH1 MACID 000001',
        'NICDEF 1003 TYPE QDIO LAN SYSTEM NOSUCH MACID 000002']
    nic = guest_state(zvm_controls, os1)['nics']['1000']
    assert (nic['vswitch'], nic['vlan_id']) == ('VSWITCH1', 100)


def test_couple_to_the_same_vswitch_changes_nothing(zvm, zvm_controls, os1):
    """The connector stops when the NICDEF names the vswitch already: the
    VLAN stays, and active is not even checked."""
    add_nic(zvm, os1)
    couple(zvm, os1, '1000', vswitch='VSWITCH1', vlan_id=100)
    assert couple(zvm, os1, '1000', vswitch='VSWITCH1', vlan_id=200,
                  active=True) == (200, ok())
    assert guest_state(zvm_controls, os1)['nics']['1000']['vlan_id'] == 100


def test_active_couple_needs_the_grant(zvm, zvm_controls, running):
    """CP refuses an ungranted guest (SMAPI 212 rs 8, conflict rs 10) and
    the connector uncouples the NICDEF again; granted, it couples."""
    add_nic(zvm, running)
    status, envelope = couple(zvm, running, '1000', vswitch='VSWITCH1',
                              active=True)
    assert (status, codes(envelope)) == (409, (409, 409, 10, 20))
    assert envelope['errmsg'].startswith(
        'Failed to couple nic 1000 of guest OS1 with vswitch VSWITCH1, '
        'error: ')
    assert 'rc: 212, rs: 8' in envelope['errmsg']
    assert guest_state(zvm_controls, running)['nics']['1000']['vswitch'] == ''

    grant(zvm, running)
    assert couple(zvm, running, '1000', vswitch='VSWITCH1', active=True) == \
        (200, ok())
    assert nicdefs(zvm, running) == [
        'NICDEF 1000 TYPE QDIO LAN SYSTEM VSWITCH1 MACID 000001']
    assert list(zvm.ok('GET', '/vswitches/VSWITCH1')['adapters']) == \
        ['OS1_1000']


def test_active_couple_to_a_missing_vswitch(zvm, zvm_controls, running):
    add_nic(zvm, running)
    assert couple(zvm, running, '1000', vswitch='NOSUCH', active=True) == \
        (404, sdk_error('notExist', 1, 'network', obj_desc='Vswitch NOSUCH'))
    assert guest_state(zvm_controls, running)['nics']['1000']['vswitch'] == ''


def test_active_couple_of_a_logged_off_guest(zvm, os1):
    """The connector checks the state after it changed the NICDEF, so the
    409 leaves the NIC coupled in the directory."""
    add_nic(zvm, os1)
    assert couple(zvm, os1, '1000', vswitch='VSWITCH1', active=True) == \
        (409, sdk_error('conflict', 1, 'network', userid='OS1'))
    assert nicdefs(zvm, os1) == [
        'NICDEF 1000 TYPE QDIO LAN SYSTEM VSWITCH1 MACID 000001']


def test_couple_a_missing_nic(zvm, running):
    assert couple(zvm, running, '2000', vswitch='VSWITCH1') == (
        404, sdk_error('notExist', 1, 'network',
                       obj_desc='User OS1 with nic 2000'))
    status, envelope = couple(zvm, running, '2000', vswitch='VSWITCH1',
                              active=True)
    assert (status, codes(envelope)) == (500, (300, 300, 3, 20))
    assert envelope['errmsg'].startswith(
        'Failed to couple nic 2000 to vswitch VSWITCH1 on the active guest '
        'system, error: ')


def test_couple_without_a_vswitch(zvm, os1):
    add_nic(zvm, os1)
    assert couple(zvm, os1, '1000') == (
        500, web_error(500, 'The server has either erred or is incapable of '
                       'performing the requested operation.'))


def test_uncouple(zvm, zvm_controls, running):
    add_nic(zvm, running)
    grant(zvm, running)
    couple(zvm, running, '1000', vswitch='VSWITCH1', vlan_id=5)
    body = {'info': {'couple': 'false', 'active': True}}
    assert zvm.call('PUT', '/guests/OS1/nic/1000', body) == (200, ok())
    nic = guest_state(zvm_controls, running)['nics']['1000']
    assert (nic['vswitch'], nic['vlan_id']) == ('', -1)
    # Not coupled is no error (SMAPI's 212 rs 32 is ignored).
    assert zvm.call('PUT', '/guests/OS1/nic/1000', body) == (200, ok())
    assert zvm.call('PUT', '/guests/OS1/nic/2000', body) == (
        404, sdk_error('notExist', 1, 'network', obj_desc='Guest device 2000'))
    zvm.action(running, 'stop')
    assert zvm.call('PUT', '/guests/OS1/nic/1000', body) == \
        (409, sdk_error('conflict', 1, 'network', userid='OS1'))


# -- network interfaces ----------------------------------------------------

def test_nova_network_interface(zvm, zvm_controls, os1):
    """What nova's driver sends: a NIC with the port's MAC and id, the
    configuration punched to the reader; the networks come back with
    their vdevs."""
    body = {'interface': {'os_version': 'rhel8.6',
                          'guest_networks': [NOVA_NETWORK]}}
    assert zvm.ok('POST', '/guests/OS1/interface', body) == \
        [dict(NOVA_NETWORK, nic_vdev='1000')]
    guest = guest_state(zvm_controls, os1)
    assert guest['nics']['1000']['nic_id'] == NOVA_NETWORK['nic_id']
    assert guest['nics']['1000']['mac'] == '02:00:0b:12:34:56'
    assert guest['interfaces'] == [dict(NOVA_NETWORK, nic_vdev='1000',
                                        os_version='rhel8.6')]
    assert [(f['file'], f['class']) for f in guest['reader']] == \
        [('network.doscript', 'X')]
    assert zvm.ok('GET', f'/guests/nics?nic_id={NOVA_NETWORK["nic_id"]}') == \
        [{'userid': 'OS1', 'interface': '1000', 'switch': None,
          'port': NOVA_NETWORK['nic_id'], 'comments': None}]


def test_two_networks_and_rhcos(zvm, zvm_controls, os1):
    """RHCOS takes its network at deploy: nothing is punched."""
    body = {'interface': {'os_version': 'rhcos4.12', 'guest_networks': [
        {'cidr': '192.0.2.0/24'}, {'nic_vdev': '2000'}]}}
    assert [n['nic_vdev'] for n in
            zvm.ok('POST', '/guests/OS1/interface', body)] == ['1000', '2000']
    assert guest_state(zvm_controls, os1)['reader'] == []


def test_network_interface_refusals(zvm, zvm_controls, os1):
    body = {'interface': {'os_version': 'sles15', 'guest_networks': []}}
    assert zvm.call('POST', '/guests/OS1/interface', body) == (
        400, sdk_error('input', 3, msg='API guest_create_network_interface: '
                       'Network information is required but not provided'))
    body['interface']['guest_networks'] = [{'osa_device': '0a00'}]
    assert zvm.call('POST', '/guests/OS1/interface', body) == (
        409, sdk_error('conflict', 14, 'network', osa='0a00', userid='OS1',
                       msg='The specified OSA device number 0a00 is not '
                       'free'))
    assert guest_state(zvm_controls, os1)['nics'] == {}


def test_delete_network_interface(zvm, zvm_controls, os1):
    body = {'interface': {'os_version': 'rhel9',
                          'guest_networks': [NOVA_NETWORK]}}
    zvm.ok('POST', '/guests/OS1/interface', body)
    assert zvm.call('DELETE', '/guests/OS1/interface', {'interface': {
        'os_version': 'rhel9', 'vdev': '1000'}}) == (200, ok())
    guest = guest_state(zvm_controls, os1)
    assert (guest['nics'], guest['interfaces']) == ({}, [])
    assert [f['file'] for f in guest['reader']] == \
        ['network.doscript', 'DEL1000.sh']


# -- the switch table and statistics ------------------------------------------

def test_nic_records_filtered(zvm, zvm_controls, os1):
    zvm.create_guest('OS2')
    add_nic(zvm, os1, nic_id='port-a')
    add_nic(zvm, 'OS2', nic_id='port-b')
    couple(zvm, 'OS2', '1000', vswitch='VSWITCH1')
    zvm_controls.call('POST', '/guests', {'userid': 'FOREIGN1'})
    every = zvm.ok('GET', '/guests/nics')
    assert [(r['userid'], r['port'], r['switch']) for r in every] == \
        [('OS1', 'port-a', None), ('OS2', 'port-b', 'VSWITCH1')]
    assert zvm.ok('GET', '/guests/nics?userid=os2') == [every[1]]
    assert zvm.ok('GET', '/guests/nics?vswitch=vswitch1') == [every[1]]
    assert zvm.ok('GET', '/guests/nics?userid=OS1&nic_id=PORT-A') == \
        [every[0]]
    assert zvm.ok('GET', '/guests/nics?userid=OS1&vswitch=VSWITCH1') == []


def test_interface_stats_of_running_guests(zvm, running):
    zvm.create_guest('OS2')
    add_nic(zvm, running)
    add_nic(zvm, running)
    add_nic(zvm, 'OS2')
    grant(zvm, running)
    couple(zvm, running, '1003', vswitch='VSWITCH1', active=True)
    couple(zvm, 'OS2', '1000', vswitch='VSWITCH1')
    stats = zvm.ok('GET', '/guests/interfacestats?userid=OS1,OS2')
    assert list(stats) == ['OS1']
    [entry] = stats['OS1']
    assert (entry['vswitch_name'], entry['nic_vdev']) == ('VSWITCH1', '1003')
    assert entry['nic_rx'] >= entry['nic_tx'] >= 0
    assert entry['nic_fr_rx'] == entry['nic_rx'] // 512
    assert zvm.call('GET', '/guests/interfacestats?userid=OS1,NOSUCH') == (
        404, sdk_error('notExist', 1, 'guest', obj_desc="Guest 'NOSUCH'"))


# -- vswitches ---------------------------------------------------------------

def test_vswitch_create_list_query_delete(zvm):
    assert zvm.ok('GET', '/vswitches') == ['VSWITCH1', 'XCATVSW2']
    assert zvm.call('POST', '/vswitches', {'vswitch': {
        'name': 'vsw3', 'rdev': '2000 2003', 'vid': 100}}) == (200, ok())
    info = zvm.ok('GET', '/vswitches/VSW3')
    assert (info['switch_name'], info['vlan_awareness']) == ('VSW3', 'AWARE')
    assert list(info['real_devices']) == ['2000', '2003']
    assert (info['authorized_users'], info['adapters']) == ({}, {})
    assert zvm.ok('GET', '/vswitches/XCATVSW2')['vlan_awareness'] == \
        'UNAWARE'
    assert zvm.call('DELETE', '/vswitches/VSW3') == (200, ok())
    assert zvm.call('DELETE', '/vswitches/VSW3') == (200, ok())
    assert zvm.ok('GET', '/vswitches') == ['VSWITCH1', 'XCATVSW2']


def test_vswitch_create_existing(zvm):
    status, envelope = zvm.call('POST', '/vswitches',
                                {'vswitch': {'name': 'VSWITCH1'}})
    assert (status, codes(envelope)) == (409, (8, 212, 36, 1))


def test_vswitch_query_missing(zvm):
    assert zvm.call('GET', '/vswitches/NOSUCH') == (
        404, sdk_error('notExist', 1, 'network', obj_desc='Vswitch NOSUCH'))


def test_grant_vlan_and_revoke(zvm, os1):
    grant(zvm, os1)
    users = zvm.ok('GET', '/vswitches/VSWITCH1')['authorized_users']
    assert users['OS1']['vlan_ids'] == ['0001']
    zvm.ok('PUT', '/vswitches/VSWITCH1',
           {'vswitch': {'user_vlan_id': {'userid': 'os1', 'vlanid': 100}}})
    users = zvm.ok('GET', '/vswitches/VSWITCH1')['authorized_users']
    assert (users['OS1']['vlan_count'], users['OS1']['vlan_ids']) == \
        ('1', ['0100'])
    grant(zvm, os1, 'XCATVSW2')
    assert zvm.ok('GET', '/vswitches/XCATVSW2')['authorized_users']['OS1'][
        'vlan_count'] == 0
    assert zvm.call('PUT', '/vswitches/VSWITCH1',
                    {'vswitch': {'revoke_userid': 'OS1'}}) == (200, ok())
    assert zvm.ok('GET', '/vswitches/VSWITCH1')['authorized_users'] == {}
    # The connector ignores every error of a revoke.
    assert zvm.call('PUT', '/vswitches/NOSUCH',
                    {'vswitch': {'revoke_userid': 'OS1'}}) == (200, ok())


def test_vswitch_update_refusals(zvm, os1):
    assert zvm.call('PUT', '/vswitches/XCATVSW2', {'vswitch': {
        'user_vlan_id': {'userid': 'OS1', 'vlanid': 100}}}) == (
        409, sdk_error('conflict', 5, 'network', vsw='XCATVSW2',
                       msg='Operation is not allowed for a VLAN UNAWARE '
                       'vswitch'))
    assert zvm.call('PUT', '/vswitches/NOSUCH',
                    {'vswitch': {'grant_userid': 'OS1'}}) == (
        404, sdk_error('notExist', 1, 'network', obj_desc='Vswitch NOSUCH'))
    assert zvm.call('PUT', '/vswitches/VSWITCH1',
                    {'vswitch': {'grant_userid': 'NOSUCH'}}) == (
        404, sdk_error('notExist', 1, 'guest', obj_desc="Guest 'NOSUCH'"))
    assert zvm.call('PUT', '/vswitches/VSWITCH1', {'vswitch': {}}) == (
        500, web_error(500, 'The server has either erred or is incapable of '
                       'performing the requested operation.'))
