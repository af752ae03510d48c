# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator's FCP devices, templates and volumes.

Expected answers are the real server's (zVMCloudConnector 1.6.3): its
own errors come from zvmsdk.returncode (tests.zvmsim.sdk_error).  The
member has FCP devices 1a00, 1a01 (CHPID 27) and 1b00, 1b01 (CHPID 28),
grouped by the host default template into path 0 and path 1.
"""

import uuid

import pytest

from nova_ibmz.sim.zvm import model
from tests.zvmsim import codes
from tests.zvmsim import ok
from tests.zvmsim import sdk_error
from tests.zvmsim import web_error

DEFAULT = next(iter(model.default_template('ZVMSIM1', model.default_members(
    1)[0].fcps)))
LUN = '0x0001000000000000'
WWPN = '0x500507680B214AC1'


def fcps(controls):
    """The member's FCP devices as GET /_sim/state has them."""
    return controls.call('GET', '/state')['members'][0]['fcps']


def guest_state(controls, userid):
    return {g['userid']: g
            for g in controls.call('GET', '/state')['guests']}[userid]


def connector(zvm, userid, reserve=True, **info):
    return zvm.call('GET', f'/volumes/conn/{userid}',
                    {'info': dict({'reserve': reserve}, **info)})


def connection(userid, devices, lun=LUN, **more):
    return {'info': {'connection': dict({
        'assigner_id': userid, 'zvm_fcp': devices, 'target_wwpn': [WWPN],
        'target_lun': lun, 'os_version': 'rhel8.6', 'multipath': 'true',
        'mount_point': '/dev/sdz'}, **more)}}


def usage(zvm, devno):
    return zvm.ok('GET', f'/volumes/fcp/{devno}')


@pytest.fixture
def os1(zvm):
    zvm.create_guest('OS1')
    return 'OS1'


# -- get_volume_connector ----------------------------------------------------

def test_connector_reserves_a_device_per_path(zvm, zvm_controls, os1):
    status, envelope = connector(zvm, 'os1')
    assert (status, envelope['overallRC']) == (200, 0)
    assert envelope['output'] == {
        'zvm_fcp': ['1a00', '1b00'],
        'wwpns': ['c0507601ee000000', 'c0507601ee000002'],
        'phy_to_virt_initiators': {'c0507601ee000000': 'c0507601ff000000',
                                   'c0507601ee000002': 'c0507601ff000001'},
        'host': 'ZVMSIM1_os1', 'fcp_paths': 2, 'fcp_template_id': DEFAULT}
    assert usage(zvm, '1a00') == ['OS1', 1, 0, DEFAULT]
    # Asked again, the same devices; another guest gets the next ones.
    assert connector(zvm, 'OS1')[1]['output']['zvm_fcp'] == ['1a00', '1b00']
    assert connector(zvm, 'OS2')[1]['output']['zvm_fcp'] == ['1a01', '1b01']


def test_connector_without_free_devices(zvm):
    connector(zvm, 'OS1')
    connector(zvm, 'OS2')
    assert connector(zvm, 'OS3') == (200, ok({
        'zvm_fcp': [], 'wwpns': [], 'host': '',
        'phy_to_virt_initiators': {}, 'fcp_paths': 0,
        'fcp_template_id': DEFAULT}))


def test_connector_release(zvm, zvm_controls):
    connector(zvm, 'OS1')
    released = connector(zvm, 'OS1', reserve=False, fcp_template_id=DEFAULT)
    assert released[1]['output']['zvm_fcp'] == ['1a00', '1b00']
    assert usage(zvm, '1a00') == ['OS1', 0, 0, '']
    assert connector(zvm, 'OS1', reserve=False,
                     fcp_template_id=DEFAULT)[1]['output']['zvm_fcp'] == []


def test_connector_refusals(zvm):
    missing = str(uuid.uuid4())
    assert connector(zvm, 'OS1', fcp_template_id=missing) == (
        500, sdk_error('volume', 11, userid='OS1',
                       msg=f"fcp_template_id {missing} doesn't exist."))
    inner = sdk_error('volume', 11, userid='OS1', msg='fcp_template_id is '
                      'not specified while releasing FCP devices.')['errmsg']
    assert connector(zvm, 'OS1', reserve=False) == (
        500, sdk_error('volume', 11, userid='OS1', msg=(
            f'Failed to unreserve FCP devices for assigner OS1 by FCP '
            f'Multipath Template None. Error: {inner}')))
    assert zvm.call('GET', '/volumes/conn/OS1') == (400, web_error(
        400, 'Malformed JSON: Expecting value: line 1 column 1 (char 0)'))


def test_connector_of_a_storage_provider(zvm):
    """A provider's default template wins over the host's."""
    created = zvm.ok('POST', '/volumes/fcptemplates', {
        'name': 'v7k', 'fcp_devices': '1a01;1b01',
        'storage_providers': ['v7k60']})['fcp_template']
    answer = connector(zvm, 'OS1', storage_provider='V7K60')[1]['output']
    assert (answer['zvm_fcp'], answer['fcp_template_id']) == \
        (['1a01', '1b01'], created['id'])
    assert connector(zvm, 'OS2', storage_provider='other')[1]['output'][
        'zvm_fcp'] == ['1a00', '1b00']


# -- attach and detach -------------------------------------------------------

def test_attach_detach_round_trip(zvm, zvm_controls, os1):
    """Two volumes over the reserved devices: the first dedicates them,
    the last detached undedicates them, and then they can be released."""
    connector(zvm, 'OS1')
    devices = ['1a00', '1b00']
    assert zvm.call('POST', '/guests/volumes',
                    connection('OS1', devices)) == (200, ok())
    zvm.ok('POST', '/guests/volumes',
           connection('os1', ['1A00', '1B00'], lun='0x0002000000000000'))
    state = fcps(zvm_controls)
    assert [(state[d]['connections'], state[d]['userid']) for d in devices] \
        == [(2, 'OS1'), (2, 'OS1')]
    guest = guest_state(zvm_controls, 'OS1')
    assert [v['target_lun'] for v in guest['volumes']] == \
        ['0x0001000000000000', '0x0002000000000000']
    assert [f['file'] for f in guest['reader']] == ['atvol.sh', 'atvol.sh']

    assert zvm.call('DELETE', '/guests/volumes',
                    connection('OS1', devices)) == (200, ok())
    assert fcps(zvm_controls)['1a00']['userid'] == 'OS1'
    zvm.ok('DELETE', '/guests/volumes',
           connection('OS1', devices, lun='0x0002000000000000'))
    state = fcps(zvm_controls)
    assert [(state[d]['connections'], state[d]['userid']) for d in devices] \
        == [(0, ''), (0, '')]
    guest = guest_state(zvm_controls, 'OS1')
    assert guest['volumes'] == []
    assert [f['file'] for f in guest['reader']][2:] == \
        ['devol.sh', 'devol.sh']
    connector(zvm, 'OS1', reserve=False, fcp_template_id=DEFAULT)
    assert usage(zvm, '1a00') == ['OS1', 0, 0, '']


def test_attach_twice_and_detach_what_is_not_attached(zvm, zvm_controls,
                                                      os1):
    """The connector keeps no record of volumes: a second attach counts
    again, and a detach of a device without connections leaves it at 0."""
    connector(zvm, 'OS1')
    body = connection('OS1', ['1a00', '1b00'])
    zvm.ok('POST', '/guests/volumes', body)
    zvm.ok('POST', '/guests/volumes', body)
    assert fcps(zvm_controls)['1a00']['connections'] == 2
    assert len(guest_state(zvm_controls, 'OS1')['volumes']) == 1
    for _ in range(3):
        assert zvm.call('DELETE', '/guests/volumes', body) == (200, ok())
    assert fcps(zvm_controls)['1a00']['connections'] == 0


def test_smapi_down_while_dedicating_or_undedicating(zvm, zvm_controls,
                                                     os1):
    """The first volume's dedicate fails: the connector's rollback undoes
    the count and unreserves the devices.  The last volume's undedicate
    fails: the count comes back."""
    connector(zvm, 'OS1')
    body = connection('OS1', ['1a00', '1b00'])
    zvm_controls.call('POST', '/smapi-down', {'seconds': 30})
    status, envelope = zvm.call('POST', '/guests/volumes', body)
    assert (status, codes(envelope)) == (500, (500, -108, 0, 1))
    assert 'Image_Device_Dedicate_DM' in envelope['errmsg']
    assert usage(zvm, '1a00') == ['OS1', 0, 0, '']

    zvm_controls.call('POST', '/smapi-down', {'seconds': 0})
    connector(zvm, 'OS1')
    zvm.ok('POST', '/guests/volumes', body)
    zvm_controls.call('POST', '/smapi-down', {'seconds': 30})
    status, envelope = zvm.call('DELETE', '/guests/volumes', body)
    assert (status, codes(envelope)) == (500, (500, -108, 0, 1))
    assert 'Image_Device_Undedicate_DM' in envelope['errmsg']
    state = fcps(zvm_controls)['1a00']
    assert (state['connections'], state['userid']) == (1, 'OS1')


def test_attach_through_devices_of_another_guest(zvm, zvm_controls, os1):
    """Not found, and the rollback unreserves the unused devices listed,
    the other guest's included."""
    connector(zvm, 'OS1')
    connector(zvm, 'OS2')
    assert zvm.call('POST', '/guests/volumes',
                    connection('OS1', ['1a00', '1b01'])) == (
        404, sdk_error('notExist', 1, 'volume', obj_desc='FCP with id: 1b01'))
    assert usage(zvm, '1a00') == ['OS1', 0, 0, '']
    assert usage(zvm, '1b01') == ['OS2', 0, 0, '']
    assert usage(zvm, '1b00') == ['OS1', 1, 0, DEFAULT]


def test_attach_through_an_unknown_device(zvm, os1):
    """The connector's rollback trips over the device its database lacks:
    an internal error of its socket server."""
    connector(zvm, 'OS1')
    status, envelope = zvm.call('POST', '/guests/volumes',
                                connection('OS1', ['1a00', '1c00']))
    assert (status, codes(envelope)) == (500, (500, 500, 1, 100))
    assert "UnboundLocalError(\"cannot access local variable " \
        "'fcp_connections'" in envelope['errmsg']
    assert usage(zvm, '1a00') == ['OS1', 1, 0, DEFAULT]


def test_attach_needs_multipath_as_text(zvm, os1):
    connector(zvm, 'OS1')
    status, envelope = zvm.call('POST', '/guests/volumes', connection(
        'OS1', ['1a00', '1b00'], multipath=True))
    assert (status, codes(envelope)) == (500, (500, 500, 1, 100))
    assert "AttributeError(\"'bool' object has no attribute 'lower'\")" in \
        envelope['errmsg']
    assert usage(zvm, '1a00')[2] == 0


def test_attach_to_a_missing_or_foreign_guest(zvm, zvm_controls):
    zvm_controls.call('POST', '/guests', {'userid': 'FOREIGN1'})
    before = guest_state(zvm_controls, 'FOREIGN1')
    for userid in ('NOSUCH', 'FOREIGN1'):
        connector(zvm, userid)
        devices = connector(zvm, userid)[1]['output']['zvm_fcp']
        for method in ('POST', 'DELETE'):
            if (method, userid) == ('DELETE', 'NOSUCH'):
                continue    # gone from the directory: the database only
            assert zvm.call(method, '/guests/volumes', connection(
                userid, devices)) == (404, sdk_error(
                    'notExist', 1, 'volume', obj_desc=f"Guest '{userid}'"))
    assert guest_state(zvm_controls, 'FOREIGN1') == before
    assert all(f['connections'] == 0 and f['userid'] == ''
               for f in fcps(zvm_controls).values())


def test_root_volume_and_update_connections_only(zvm, zvm_controls):
    """The database only: the guest need not exist yet (boot from volume)
    and nothing is dedicated or punched."""
    connector(zvm, 'BFV1')
    body = connection('BFV1', ['1a00', '1b00'], is_root_volume=True)
    assert zvm.call('POST', '/guests/volumes', body) == (200, ok())
    assert (usage(zvm, '1a00'), fcps(zvm_controls)['1a00']['userid']) == \
        (['BFV1', 1, 1, DEFAULT], '')
    body = connection('BFV1', ['1a00', '1b00'], update_connections_only=True)
    assert zvm.call('DELETE', '/guests/volumes', body) == (200, ok())
    assert usage(zvm, '1a00') == ['BFV1', 1, 0, DEFAULT]


def test_guest_defined_with_dedicated_fcp_devices(zvm, zvm_controls):
    """POST /guests with dedicate_vdevs (boot from volume): the guest's
    directory entry dedicates the devices; deleting the guest frees them.
    A device dedicated to another guest stays with it."""
    zvm.create_guest('OTHER1', dedicate_vdevs=['1b00'])
    zvm.ok('POST', '/guests', {'guest': {
        'userid': 'BFV1', 'vcpus': 1, 'memory': 1024, 'disk_list': [],
        'ipl_from': '1a00', 'dedicate_vdevs': ['1A00', '1b00'],
        'loaddev': {'portname': WWPN[2:], 'lun': LUN[2:]}}})
    assert [(d, f['userid']) for d, f in sorted(fcps(zvm_controls).items())
            if f['userid']] == [('1a00', 'BFV1'), ('1b00', 'OTHER1')]
    zvm.ok('DELETE', '/guests/BFV1')
    assert fcps(zvm_controls)['1a00']['userid'] == ''


def test_detach_from_a_deleted_guest(zvm, zvm_controls, os1):
    connector(zvm, 'OS1')
    zvm.ok('POST', '/guests/volumes', connection('OS1', ['1a00', '1b00']))
    zvm.ok('DELETE', '/guests/OS1')
    assert zvm.call('DELETE', '/guests/volumes',
                    connection('OS1', ['1a00', '1b00'])) == (200, ok())
    assert usage(zvm, '1a00') == ['OS1', 1, 0, DEFAULT]


# -- FCP usage ---------------------------------------------------------------

def test_fcp_usage(zvm):
    assert usage(zvm, '1a01') == ['', 0, 0, '']
    # The database's ids are lower case, and the id is compared as given.
    assert zvm.call('GET', '/volumes/fcp/1A01') == (
        404, sdk_error('notExist', 1, 'volume', obj_desc="FCP '1A01'"))
    body = {'info': {'userid': 'OS9', 'reserved': 1, 'connections': 3,
                     'fcp_template_id': None}}
    assert zvm.call('PUT', '/volumes/fcp/1a01', body) == (200, ok())
    assert usage(zvm, '1a01') == ['OS9', 1, 3, '']
    # The handler answers 200 whatever the envelope says.
    assert zvm.call('PUT', '/volumes/fcp/9999', body) == (
        200, sdk_error('notExist', 1, 'volume', obj_desc="FCP '9999'"))


# -- FCP Multipath Templates -------------------------------------------------

def test_templates_list_and_filters(zvm):
    default = {'id': DEFAULT, 'name': 'default',
               'description': 'The FCP devices of ZVMSIM1',
               'host_default': True, 'storage_providers': [],
               'min_fcp_paths_count': 2}
    assert zvm.ok('GET', '/volumes/fcptemplates') == \
        {'fcp_templates': [default]}
    created = zvm.ok('POST', '/volumes/fcptemplates', {
        'name': 't2', 'description': 'two', 'fcp_devices': '1a01;1b01',
        'host_default': 'yes', 'storage_providers': ['sp1'],
        'min_fcp_paths_count': 1})['fcp_template']
    assert created == {'id': created['id'], 'name': 't2',
                       'description': 'two', 'host_default': True,
                       'storage_providers': ['sp1'],
                       'min_fcp_paths_count': 1}
    default['host_default'] = False     # one host default only
    listed = zvm.ok('GET', '/volumes/fcptemplates')['fcp_templates']
    assert listed == [default, created]
    assert zvm.ok('GET', '/volumes/fcptemplates?host_default=false') == \
        {'fcp_templates': [default]}
    assert zvm.ok('GET', "/volumes/fcptemplates?storage_providers=['all']") \
        == {'fcp_templates': [created]}
    assert zvm.ok('GET', f"/volumes/fcptemplates?template_id_list="
                  f"['{DEFAULT}']") == {'fcp_templates': [default]}
    connector(zvm, 'OS1', fcp_template_id=created['id'])
    assert zvm.ok('GET', '/volumes/fcptemplates?assigner_id=OS1') == \
        {'fcp_templates': [created]}
    assert zvm.call('GET', "/volumes/fcptemplates?template_id_list="
                    "['nosuch']") == (404, sdk_error(
                        'notExist', 1, 'zvmsdk',
                        obj_desc="FCP Multipath Templates ['nosuch'] "))


def test_template_create_refusals(zvm):
    assert zvm.call('POST', '/volumes/fcptemplates', {
        'name': 't', 'fcp_devices': '1a00', 'min_fcp_paths_count': 2}) == (
        409, sdk_error('conflict', 23, 'volume', msg=(
            'min_fcp_paths_count 2 is larger than fcp device path count 1, '
            'adjust fcp_devices or min_fcp_paths_count.')))
    assert zvm.call('POST', '/volumes/fcptemplates', {
        'name': 't', 'fcp_devices': '1a00-'}) == (
        500, sdk_error('internal', 1, 'zvmsdk',
                       msg='Invalid FCP address 1a00-'))
    assert len(zvm.ok('GET', '/volumes/fcptemplates')['fcp_templates']) == 1


def test_template_details(zvm, zvm_controls, os1):
    connector(zvm, 'OS1')
    zvm.ok('POST', '/guests/volumes', connection('OS1', ['1a00', '1b00']))
    [details] = zvm.ok('GET', '/volumes/fcptemplates/detail?raw=true')[
        'fcp_templates']
    assert details['raw']['0'][0] == [
        '1a00', DEFAULT, 'OS1', 1, 1, 'c0507601ee000000',
        'c0507601ff000000', '27', 'active', 'os1', DEFAULT]
    assert details['raw']['1'][1][8:10] == ['free', 'none']
    path = details['statistics']['0']
    assert (path['total'], path['total_count'], path['available'],
            path['allocated'], path['CHPIDs']) == \
        ('1A00 - 1A01', 2, '1A01', '1A00', {'27': '1A00 - 1A01'})
    assert (path['range_fcp'], path['single_fcp']) == ('1A00 - 1A01', '')
    assert 'raw' not in zvm.ok('GET', '/volumes/fcptemplates/detail')[
        'fcp_templates'][0]


def test_template_edit(zvm):
    created = zvm.ok('POST', '/volumes/fcptemplates', {
        'name': 't', 'fcp_devices': '1a01;1b01'})['fcp_template']
    path = f"/volumes/fcptemplates/{created['id']}"
    edited = zvm.ok('PUT', path, {'name': 'renamed', 'host_default': True,
                                  'fcp_devices': '1a00-1a01;1b00-1b01'})
    assert edited['fcp_template'] == dict(created, name='renamed',
                                          host_default=True)
    [details] = zvm.ok('GET', "/volumes/fcptemplates/detail?template_id_list"
                       f"=['{created['id']}']")['fcp_templates']
    assert details['statistics']['1']['total'] == '1B00 - 1B01'
    assert zvm.call('PUT', '/volumes/fcptemplates/nosuch', {'name': 'x'}) == (
        404, sdk_error('notExist', 1, 'zvmsdk',
                       obj_desc='FCP Multipath Template nosuch'))


def test_template_edit_keeps_reserved_devices(zvm):
    connector(zvm, 'OS1')
    path = f'/volumes/fcptemplates/{DEFAULT}'
    status, envelope = zvm.call('PUT', path, {'fcp_devices': '1a01;1b01'})
    assert (status, codes(envelope)) == (409, (409, 409, 24, 30))
    assert envelope['errmsg'].startswith(
        'Failed to edit FCP Multipath Template, error: The FCP devices '
        '(1A00, 1B00) are missing from the FCP device list.')
    status, envelope = zvm.call('PUT', path, {'fcp_devices': '1a00-1b01'})
    assert (status, codes(envelope)) == (409, (409, 409, 24, 30))
    assert 'Adding or deleting a FCP device path' in envelope['errmsg']
    assert zvm.call('PUT', path, {'min_fcp_paths_count': 3}) == (
        409, sdk_error('conflict', 23, 'volume', msg=(
            'min_fcp_paths_count 3 is larger than fcp device path count 2. '
            'Adjust the fcp_devices setting or min_fcp_paths_count.')))
    assert zvm.ok('GET', '/volumes/fcptemplates')['fcp_templates'][0][
        'min_fcp_paths_count'] == 2


def test_template_delete(zvm):
    connector(zvm, 'OS1')
    status, envelope = zvm.call('DELETE', f'/volumes/fcptemplates/{DEFAULT}')
    assert (status, codes(envelope)) == (409, (409, 409, 22, 30))
    assert '(1A00, 1B00)' in envelope['errmsg']
    connector(zvm, 'OS1', reserve=False, fcp_template_id=DEFAULT)
    assert zvm.call('DELETE', f'/volumes/fcptemplates/{DEFAULT}') == \
        (200, ok())
    assert zvm.call('DELETE', f'/volumes/fcptemplates/{DEFAULT}') == (
        404, sdk_error('notExist', 1, 'zvmsdk',
                       obj_desc=f'FCP Multipath Template {DEFAULT} '))
    assert connector(zvm, 'OS1') == (500, sdk_error(
        'volume', 11, userid='OS1', msg='No FCP Multipath Template is '
        'specified and no default FCP Multipath Template is found.'))


# -- refresh_bootmap ---------------------------------------------------------

def test_refresh_bootmap(zvm):
    body = {'info': {'fcpchannel': ['1a00', '1b00'], 'wwpn': [WWPN[2:]],
                     'lun': LUN, 'fcp_template_id': DEFAULT}}
    assert zvm.ok('PUT', '/volumes/volume_refresh_bootmap', body) == \
        {'1a00': [WWPN[2:]], '1b00': [WWPN[2:]]}
    body['info']['fcp_template_id'] = 'nosuch'
    assert zvm.call('PUT', '/volumes/volume_refresh_bootmap', body) == (
        404, sdk_error('notExist', 1, 'zvmsdk', obj_desc=(
            'min_fcp_paths_count from fcp_template_id nosuch')))
    body['info'].update(fcp_template_id=None, guest_networks=[{}])
    assert zvm.call('PUT', '/volumes/volume_refresh_bootmap', body) == \
        (500, sdk_error('volume', 10))
