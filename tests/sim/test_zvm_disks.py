# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Minidisks, and a guest creation whose disk cannot be made.

The real connector (zvmsdk 1.6.3) creates a guest in steps: the directory
entry (makevm, comments included), the connector's database, then each
minidisk of the disk_list in order with its own SMT request.  A disk that
fails fails the request, with that SMT request's codes (modID 1, HTTP
500), and nothing is undone: the guest stays defined and listed with the
disks made before it, until DELETE /guests/{userid}.
"""

import pytest

from tests.zvmsim import codes
from tests.zvmsim import ok
from tests.zvmsim import sdk_error

GB_CYLINDERS = 1457             # a GB of 3390 cylinders, rounded up


def spec(*disks, userid='G1', **more):
    return {'guest': dict({'userid': userid, 'vcpus': 1, 'memory': 1024,
                           'comments': ['nova-ibmz instance 1234'],
                           'disk_list': list(disks)}, **more)}


@pytest.fixture
def pool_of_10g(connectors):
    model = connectors[0].model
    with model.lock:
        model.pools['ECKD:POOL1'].total_units = 10 * GB_CYLINDERS


def user_direct(zvm, userid='G1'):
    return zvm.ok('GET', f'/guests/{userid}/user_direct')['user_direct']


def minidisks(zvm, userid='G1'):
    """(vdev, cylinders) of the MDISK statements of the directory entry."""
    return [(line.split()[1], int(line.split()[4]))
            for line in user_direct(zvm, userid) if line.startswith('MDISK')]


def refused_disk(envelope, request):
    """The SMT request the error quotes, as the SDK's message starts."""
    return envelope['errmsg'].startswith(
        f"Failed to add mdisk to userid 'G1'. SMT error: SMT request "
        f"failed. RequestData: '{request}', Results: ")


NO_SPACE = 'ULGSMC5303E Requested image disk space not available'


def test_first_disk_too_big_for_the_pool(zvm, pool_of_10g):
    status, envelope = zvm.call('POST', '/guests', spec(
        {'size': '12g', 'is_boot_disk': True}))
    # SMAPI's Image_Disk_Create_DM refuses (408/24); no status rule of
    # the create route maps it.
    assert (status, codes(envelope)) == (500, (8, 408, 24, 1))
    assert refused_disk(envelope, 'changevm G1 add3390 POOL1 0100 12g '
                                  '--mode MR')
    assert NO_SPACE in envelope['errmsg']
    # The guest is defined, listed, logged off and has no disk.
    assert (zvm.ok('GET', '/guests'), minidisks(zvm),
            zvm.ok('GET', '/guests/G1/power_state'),
            zvm.ok('GET', '/host')['disk_used']) == (['G1'], [], 'off', 0)


def test_pool_exhausted_by_a_later_disk(zvm, pool_of_10g):
    status, envelope = zvm.call('POST', '/guests', spec(
        {'size': '4g', 'is_boot_disk': True}, {'size': '4g'},
        {'size': '4g', 'format': 'xfs'}))
    assert (status, codes(envelope)) == (500, (8, 408, 24, 1))
    assert refused_disk(envelope, 'changevm G1 add3390 POOL1 0102 4g '
                                  '--mode MR --filesystem xfs')
    # The disks before the one that failed stay (a disk without a format
    # gets ext4), and hold their space.
    assert (minidisks(zvm), zvm.ok('GET', '/host')['disk_used']) == \
        ([('0100', 4 * GB_CYLINDERS - 2), ('0101', 4 * GB_CYLINDERS - 2)],
         8)
    assert zvm.ok('GET', '/guests/G1')['user_direct'] == user_direct(zvm)


def test_the_directory_entry_is_written_before_the_disks(zvm, pool_of_10g):
    """makevm writes the comments (a driver's ownership mark) with the
    entry, so a guest left by a failed create carries them."""
    zvm.call('POST', '/guests', spec({'size': '12g', 'is_boot_disk': True}))
    entry = user_direct(zvm)
    assert (entry[0], [line for line in entry if line.startswith('*')]) == (
        'USER G1 NOLOG 1024M 65536M G', ['* NOVA-IBMZ INSTANCE 1234'])


def test_a_guest_left_by_a_failed_create(zvm, zvm_controls, pool_of_10g):
    """Creating it again is refused as for any defined guest; DELETE
    removes it with its disks, and then it can be made."""
    zvm.call('POST', '/guests', spec({'size': '4g', 'is_boot_disk': True},
                                     {'size': '8g'}))
    again = zvm.call('POST', '/guests', spec({'size': '4g',
                                              'is_boot_disk': True}))
    deleted = zvm.call('DELETE', '/guests/G1')
    assert (again[0], codes(again[1]), deleted) == \
        (409, (8, 400, 8, 1), (200, ok()))
    assert (zvm.ok('GET', '/guests'), zvm.ok('GET', '/host')['disk_used'],
            zvm.call('GET', '/guests/G1/user_direct')) == \
        ([], 0, (404, sdk_error('notExist', 1, 'guest',
                                obj_desc="Guest 'G1'")))
    assert zvm.call('POST', '/guests', spec({'size': '4g',
                                             'is_boot_disk': True}))[0] == 200


@pytest.mark.parametrize('size, smt, message', [
    # What the SMT layer says of the size (the 4/4/202 of a size that is
    # no number is smtLayer's own mix-up of its messages 0202 and 0204).
    ('lots', (4, 4, 202), 'ULTGUT0204E LOTS is not an integer size of '
                          'cylinders.'),
    ('fiveg', (4, 4, 203), 'ULTGUT0203E Failed to convert FIVE to a number '
                           'of cylinders.'),
    ('g', (4, 4, 200), 'ULTGUT0200E The size of the disk is not valid: G'),
    # An empty size leaves "MR" as an operand of the request too many.
    ('', (4, 4, 6), "ULTGUT0006E CHANGEVM's ADD3390 subfunction "
                    "encountered an unknown operand: MR"),
])
def test_a_later_disk_of_a_bad_size(zvm, size, smt, message):
    status, envelope = zvm.call('POST', '/guests', spec(
        {'size': '1g', 'is_boot_disk': True}, {'size': size}))
    assert (status, codes(envelope)) == (500, (*smt, 1))
    assert refused_disk(envelope, f'changevm G1 add3390 POOL1 0101 {size} '
                                  f'--mode MR --filesystem ext4')
    assert message in envelope['errmsg']
    assert (zvm.ok('GET', '/guests'), minidisks(zvm)) == \
        (['G1'], [('0100', GB_CYLINDERS)])


def test_a_disk_at_an_address_taken(zvm):
    status, envelope = zvm.call('POST', '/guests', spec(
        {'size': '1g', 'is_boot_disk': True},
        {'size': '1g', 'vdev': '0100'}))
    assert (status, codes(envelope)) == (500, (8, 408, 4, 1))
    assert 'ULGSMC5299E Image disk already defined' in envelope['errmsg']
    assert minidisks(zvm) == [('0100', GB_CYLINDERS)]


def test_create_answers_each_disk_at_its_index(zvm):
    """The SDK's vdevs are 0100 plus the disk's index (its own when
    given), and a size in units comes back in M or G."""
    assert zvm.call('POST', '/guests', spec(
        {'size': '1g', 'is_boot_disk': True},
        {'size': '3338', 'disk_pool': 'ECKD:POOL1'},
        {'size': '2g', 'vdev': '0200', 'format': 'none'},
        {'size': '200000', 'disk_pool': 'FBA:POOLF1'})) == (200, ok([
            {'size': '1g', 'is_boot_disk': True, 'format': 'none',
             'disk_pool': 'ECKD:POOL1', 'vdev': '0100'},
            {'size': '2.3G', 'disk_pool': 'ECKD:POOL1', 'vdev': '0101'},
            {'size': '2g', 'vdev': '0200', 'format': 'none',
             'disk_pool': 'ECKD:POOL1'},
            {'size': '97.7M', 'disk_pool': 'FBA:POOLF1', 'vdev': '0103'}]))


def test_a_pool_of_neither_type_is_refused_before_anything_is_made(zvm):
    status, envelope = zvm.call('POST', '/guests', spec(
        {'size': '1g', 'is_boot_disk': True},
        {'size': '1g', 'disk_pool': 'XYZ:POOL1'}))
    assert (status, envelope) == (400, sdk_error(
        'input', 3, 'zvmsdk', msg='Invalid disk_pool input, its format must '
        'be ECKD:eckdpoolname or FBA:fbapoolname'))
    assert zvm.ok('GET', '/guests') == []


@pytest.mark.parametrize('counts', [{'vcpus': '2'}, {'memory': '1024'}])
def test_counts_given_as_text_fail_before_anything_is_made(zvm, counts):
    """The schema takes digits as text, but makevm's request formats them
    as numbers: the SDK server's TypeError, its internal error."""
    status, envelope = zvm.call('POST', '/guests', spec(**counts))
    assert (status, envelope) == (500, sdk_error(
        'internal', 1, 'sdkserver', msg="(127.0.0.1:50000) SDK server got "
        "unexpected exception: TypeError('%i format: a real number is "
        "required, not str')"))
    assert zvm.ok('GET', '/guests') == []


def test_create_disks_keeps_those_made_before_a_failure(zvm):
    """POST /guests/{userid}/disks makes them after the last minidisk,
    one by one, as the create does."""
    zvm.create_guest('G1', root='1g')
    status, envelope = zvm.call('POST', '/guests/G1/disks', {'disk_info': {
        'disk_list': [{'size': '1g'}, {'size': 'lots'}]}})
    assert (status, codes(envelope)) == (500, (4, 4, 202, 1))
    assert refused_disk(envelope, 'changevm G1 add3390 POOL1 0102 lots '
                                  '--mode MR --filesystem ext4')
    assert (minidisks(zvm), zvm.call('POST', '/guests/G1/disks', {
        'disk_info': {'disk_list': []}})) == \
        ([('0100', GB_CYLINDERS), ('0101', GB_CYLINDERS)], (200, ok()))


def test_config_disks_checks_nothing(zvm, zvm_controls):
    """An entry without a vdev is the disk after the root disk at its
    index; one for a disk the guest lacks succeeds too (the script the SDK
    punches finds no disk in the guest)."""
    zvm.create_guest('G1', root='1g')
    zvm.ok('POST', '/guests/G1/disks', {'disk_info': {'disk_list': [
        {'size': '1g', 'format': 'none'}, {'size': '1g', 'format': 'none'}]}})
    assert zvm.call('PUT', '/guests/G1/disks', {'disk_info': {'disk_list': [
        {'format': 'xfs'}, {'format': 'swap', 'mntdir': '/x'},
        {'vdev': '0300', 'format': 'ext4'}]}}) == (200, ok())
    [guest] = zvm_controls.call('GET', '/state')['guests']
    assert {vdev: (d['format'], d['mount'])
            for vdev, d in guest['disks'].items()} == {
        '0100': ('', ''), '0101': ('xfs', '/mnt/ephemeral0101'),
        '0102': ('swap', 'swap')}
