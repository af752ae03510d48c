# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator's state file, in process.

A Model with a state file loads it at start; the servers write it after
every change.  Everything the cluster holds must come back equal, and the
image files beside it must stay.
"""

import dataclasses
import json

from nova_ibmz.sim.zvm import model
from tests import zvmsim


def _guest():
    """A guest with every field set to something other than its default."""
    guest = model.Guest(
        'OS000001', vcpus=2, memory_mb=2048, max_cpu=8, max_mem_mb=8192,
        profile='OSPROF', state='paused', member='ZVMSIM2',
        os_version='rhel9.2', hostname='vm1', comments=['A COMMENT'],
        logon_time=1700000000.5,
        cpu_us=123456, active_vcpus=2)
    guest.disks = {
        '0100': model.Minidisk('0100', 'ECKD:POOL1', 3338, format='ext4',
                               mount='/', image='rhel92'),
        '0101': model.Minidisk('0101', 'FBA:POOLF1', 2097152,
                               format='xfs', mount='/mnt/eph0')}
    guest.nics = {'1000': model.Nic('1000', '02:00:0b:00:00:01',
                                    nic_id='port-1', vswitch='VSWITCH1',
                                    vlan_id=100)}
    guest.interfaces = [{'nic_vdev': '1000', 'ip_addr': '192.0.2.10',
                         'cidr': '192.0.2.0/24'}]
    guest.volumes = [{'fcp': '1a00', 'wwpn': '500507680b214ac1',
                      'lun': '0001000000000000', 'mount_point': '/dev/sdb'}]
    guest.reader = [{'spoolid': '0007', 'class': 'X', 'name': 'cfgdrive'}]
    guest.console = ['19:00:00 LOGON OS000001', '19:00:01 IPL 0100']
    return guest


def _populate(cluster):
    """Change everything the cluster holds away from a fresh one."""
    member = cluster.member('ZVMSIM2')
    member.vcpus, member.memory_mb, member.ipl_time = 8, 65536, 1600000000.0
    member.version, member.cec_model, member.zcc_userid = \
        '7.2.0', '3931', 'ZCCUSER'
    member.registry.append('OS000001')
    fcp = member.fcps['1a00']
    fcp.userid, fcp.connections = 'OS000001', 2
    fcp.assigner_id, fcp.reserved = 'OS000001', 1
    fcp.tmpl_id = next(iter(member.templates))
    cluster.guests['OS000001'] = _guest()
    cluster.pools['ECKD:POOL2'] = model.DiskPool('ECKD:POOL2', 20000)
    cluster.vswitches['VSWITCH1'].grants['OS000001'] = 100
    cluster.vswitches['VSW3'] = model.Vswitch(
        'VSW3', vlan_aware=False, real_dev='2000', grants={'OS000001': 5})
    cluster.images['rhel92'] = model.Image(
        'rhel92', 'rhel9.2', 'c4ca4238a0b923820dcc509a6f75849b', 4096,
        '3338:CYL', type='alldisks', comments='golden',
        last_access=1650000000.0)
    cluster.image_path('rhel92').write_bytes(b'\0' * 4096)
    cluster.ssi_name = 'PRODSSI'
    cluster.next_mac()
    cluster.token_generation = 3


def _at_default(obj):
    """The fields of a dataclass instance that still hold their default."""
    def default(field):
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        return field.default    # MISSING for a field without a default

    return [f.name for f in dataclasses.fields(obj)
            if getattr(obj, f.name) == default(f)]


def test_the_round_trip_covers_every_field(tmp_path):
    """Every field of every kind of record the cluster holds is set away
    from its default below, so a field added to the model fails here until
    _populate() sets it and the round trip checks it."""
    cluster = model.Model(members=2, image_dir=tmp_path / 'images')
    _populate(cluster)
    guest = cluster.guests['OS000001']
    member = cluster.member('ZVMSIM2')
    records = [member, member.fcps['1a00'], guest, guest.disks['0100'],
               guest.nics['1000'], cluster.vswitches['VSW3'],
               cluster.images['rhel92']]
    assert {type(r).__name__: _at_default(r) for r in records} == \
        {type(r).__name__: [] for r in records}


def test_round_trip_keeps_everything(tmp_path):
    """Saved and loaded into a new Model: every member, guest, pool,
    vswitch and image compares equal, as do the SSI name, the MAC counter
    and the token generation; the image file stays."""
    state_file = tmp_path / 'zvm-state.json'
    first = model.Model(members=2, state_file=state_file,
                        image_dir=tmp_path / 'images')
    _populate(first)
    first.save()

    second = model.Model(members=2, state_file=state_file,
                         image_dir=tmp_path / 'images')
    for attr in ('members', 'guests', 'pools', 'vswitches', 'images',
                 'ssi_name', 'mac_counter', 'token_generation'):
        assert getattr(second, attr) == getattr(first, attr), attr
    assert second.to_json() == first.to_json()
    assert json.loads(state_file.read_text()) == first.to_json()
    assert second.image_path('rhel92').read_bytes() == b'\0' * 4096
    assert second.next_mac() == '02:00:0b:00:00:02'


def test_reset_removes_image_files_and_is_saved(tmp_path):
    """POST /_sim/reset's model.reset(): back to an empty cluster, image
    files gone, and the next start loads the empty cluster."""
    state_file = tmp_path / 'zvm-state.json'
    cluster = model.Model(members=2, state_file=state_file,
                          image_dir=tmp_path / 'images')
    _populate(cluster)
    cluster.save()
    cluster.reset()
    cluster.save()
    assert list((tmp_path / 'images').iterdir()) == []
    again = model.Model(members=2, state_file=state_file,
                        image_dir=tmp_path / 'images')
    assert (again.guests, again.images, again.ssi_name) == ({}, {}, 'SIMSSI')


def test_servers_save_after_each_change(tmp_path):
    """A guest created through the API is in the state file before the
    servers stop, and a new cluster on the same file serves it."""
    state_file = tmp_path / 'zvm-state.json'
    with zvmsim.serve(tmp_path, members=2,
                      state_file=state_file) as servers:
        zvmsim.Client(servers[0]).create_guest('KEPT1')
        saved = json.loads(state_file.read_text())
    assert [g['userid'] for g in saved['guests']] == ['KEPT1']

    with zvmsim.serve(tmp_path, members=2,
                      state_file=state_file) as servers:
        first, second = (zvmsim.Client(s) for s in servers)
        assert first.ok('GET', '/guests') == ['KEPT1']
        assert second.ok('GET', '/guests') == []     # not its connector's
        assert first.ok('GET', '/guests/KEPT1/power_state') == 'off'


def test_expired_tokens_stay_expired_after_a_restart(tmp_path):
    """Tokens are JWTs signed with the admin token, so they outlive a
    restart as the real ones do; those expired by /_sim/tokens/expire do
    not come back."""
    state_file = tmp_path / 'zvm-state.json'
    with zvmsim.serve(tmp_path, state_file=state_file) as servers:
        client = zvmsim.Client(servers[0])
        client.new_token()
        expired = client.token
        zvmsim.Controls(servers[0]).call('POST', '/tokens/expire')
        client.new_token()
        valid = client.token

    with zvmsim.serve(tmp_path, state_file=state_file) as servers:
        client = zvmsim.Client(servers[0])
        client.token = valid
        assert client.call('GET', '/host')[0] == 200
        client.token = expired
        assert client.call('GET', '/host')[0] == 401


def test_fcp_reservation_by_a_get_is_saved(tmp_path):
    """GET /volumes/conn reserves FCP devices: the state file has them at
    once, not only after the next change."""
    state_file = tmp_path / 'zvm-state.json'
    with zvmsim.serve(tmp_path, state_file=state_file) as servers:
        client = zvmsim.Client(servers[0])
        client.create_guest('OS1')
        status, envelope = client.call('GET', '/volumes/conn/OS1',
                                       {'info': {'reserve': True}})
        assert status == 200
        devices = envelope['output']['zvm_fcp']
        saved = json.loads(state_file.read_text())
    fcps = saved['members'][0]['fcps']
    reserved = [devno for devno, fcp in fcps.items()
                if fcp['assigner_id'] == 'OS1' and fcp['reserved']]
    assert devices and sorted(reserved) == sorted(devices)
