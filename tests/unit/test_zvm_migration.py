# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Live migration between SSI members and resize, against a two-member
Cloud Connector simulator over HTTP with the driver's client."""

from nova.compute import manager
from nova import exception
from nova import objects
import pytest

from nova_ibmz.sim.zvm import faults as zvm_faults
from nova_ibmz.sim.zvm import guests as sim_guests
from nova_ibmz.zvm import client
from nova_ibmz.zvm import migration
from tests import zvmsim

objects.register_all()

USERID = 'OS000001'
MEMBER1, MEMBER2 = 'ZVMSIM1', 'ZVMSIM2'


class Counted:
    """A connector's client and the API requests it sent (POST /token
    left out)."""

    def __init__(self, server):
        self.cc = client.CloudConnector(server.url,
                                        admin_token=zvmsim.ADMIN_TOKEN,
                                        timeout=10, backoff=0.01)
        self.cc.get('/host')            # the token, before any counting
        self.sent = []
        self.cc._http.hooks['response'].append(self._record)
        self.moves = migration.Migrations(self.cc)

    def _record(self, resp, *args, **kwargs):
        if resp.request.path_url != '/token':
            self.sent.append(f'{resp.request.method} '
                             f'{resp.request.path_url.split("?")[0]}')

    def requests(self, func, *args):
        """The requests func(*args) sends (also when it raises)."""
        first = len(self.sent)
        try:
            func(*args)
        finally:
            self.requests_sent = self.sent[first:]
        return self.requests_sent


@pytest.fixture
def servers(tmp_path):
    with zvmsim.serve(tmp_path, members=2) as servers:
        yield servers


@pytest.fixture
def member1(servers):
    return Counted(servers[0])


@pytest.fixture
def member2(servers):
    return Counted(servers[1])


def create(member, userid=USERID, vcpus=1, memory=1024, start=True):
    """A guest of member's connector: at most 4 CPUs and 8 GB."""
    member.cc.post('/guests', {'guest': {
        'userid': userid, 'vcpus': vcpus, 'memory': memory, 'max_cpu': 4,
        'max_mem': '8G', 'disk_list': [{'size': '1g',
                                        'is_boot_disk': True}]}})
    if start:
        member.cc.action(userid, 'start')


def where(servers, userid=USERID):
    """(CP state, member logged on to, members whose connector manages
    it), from the simulator's model."""
    model = servers[0].model
    with model.lock:
        guest = model.guests[userid]
        return (guest.state, guest.member,
                [m.name for m in model.members.values()
                 if userid in m.registry])


def directory(servers, userid=USERID):
    model = servers[0].model
    with model.lock:
        return sim_guests.user_direct(model.guests[userid])


def flavor(vcpus=1, memory_mb=1024, root_gb=1, ephemeral_gb=0):
    return objects.Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb,
                          ephemeral_gb=ephemeral_gb, swap=0,
                          name=f'zvm.{vcpus}', flavorid=str(vcpus),
                          extra_specs={})


def refusal(excinfo):
    """The ResizeError inside an InstanceFaultRollback, as a string."""
    assert isinstance(excinfo.value.inner_exception, exception.ResizeError)
    return str(excinfo.value.inner_exception)


# -- the destination ------------------------------------------------------

def test_system_name_is_the_node_name():
    assert migration.system_name('zvmsim2') == MEMBER2
    for node in ('compute-1.example.com', '', None):
        with pytest.raises(exception.MigrationPreCheckError,
                           match='is not a z/VM system name'):
            migration.system_name(node)


def test_migrate_data_travels_and_asks_for_no_cleanup():
    data = migration.migrate_data('zvmsim2')
    # Through RPC as nova serializes it, to the conductor and the source.
    back = objects.base.NovaObject.obj_from_primitive(
        data.obj_to_primitive())
    assert migration.destination(back) == MEMBER2
    # Neither driver.cleanup at the source after the move, nor
    # rollback_live_migration_at_destination after a failure: the guest's
    # directory entry and minidisks are the cluster's.
    assert manager.ComputeManager._live_migration_cleanup_flags(
        None, back) == (False, False)
    with pytest.raises(exception.MigrationPreCheckError):
        migration.destination(objects.LibvirtLiveMigrateData())


# -- check ----------------------------------------------------------------

def test_check_passes_and_moves_nothing(servers, member1):
    create(member1)
    sent = member1.requests(member1.moves.check, USERID, MEMBER2)
    assert sent == ['GET /host/ssi', f'POST /guests/{USERID}/action']
    assert where(servers) == ('on', MEMBER1, [MEMBER1])


def test_check_refuses_a_paused_guest(servers, member1):
    create(member1)
    member1.cc.action(USERID, 'pause')
    with pytest.raises(exception.MigrationPreCheckError,
                       match=f'z/VM refuses to relocate {USERID} to '
                             f'{MEMBER2}: .*the guest is stopped'):
        member1.moves.check(USERID, MEMBER2)
    assert where(servers) == ('paused', MEMBER1, [MEMBER1])


def test_check_refuses_a_logged_off_guest(servers, member1):
    create(member1, start=False)
    with pytest.raises(exception.MigrationPreCheckError,
                       match=f"{USERID}' is not in active status"):
        member1.moves.check(USERID, MEMBER2)


def test_check_refuses_a_destination_without_the_memory(servers, member1):
    create(member1, memory=2048)
    zvmsim.add_guest(servers[0].model, 'BIGDB', memory_mb=262144 - 1024,
                     state='on', member=MEMBER2, managed=False)
    with pytest.raises(exception.MigrationPreCheckError,
                       match=f'{MEMBER2} has 1024 MB of storage free, 2048 '
                             f'MB needed'):
        member1.moves.check(USERID, MEMBER2)
    assert where(servers) == ('on', MEMBER1, [MEMBER1])


def test_check_refuses_a_system_outside_the_cluster(member1):
    create(member1)
    with pytest.raises(exception.MigrationPreCheckError) as e:
        member1.requests(member1.moves.check, USERID, 'ZVMSIM9')
    assert 'ZVMSIM9 is not a member of SSI cluster SIMSSI (members: ' \
        'ZVMSIM1, ZVMSIM2)' in str(e.value)
    assert member1.requests_sent == ['GET /host/ssi']   # no VMRELOCATE


class SSIQuery:
    """A connector that answers GET /host/ssi only: the simulator's
    members are always joined."""

    def __init__(self, lines):
        self.lines = lines

    def get(self, path):
        assert path == '/host/ssi'
        return self.lines


def test_check_refuses_a_member_that_is_not_joined():
    # SSI_Query's answer, as zvmsdk's host_get_ssi_info documents it.
    lines = ['ssi_name = SSI', 'ssi_mode = Stable',
             'output.ssiInfoCount = 2', '',
             'member_slot = 1', 'member_system_id = BOEIAAS7',
             'member_state = Joined', '',
             'member_slot = 2', 'member_system_id = BOEIAAS8',
             'member_state = Down', '']
    moves = migration.Migrations(SSIQuery(lines))
    with pytest.raises(exception.MigrationPreCheckError,
                       match='BOEIAAS8 of SSI cluster SSI is Down, not '
                             'Joined'):
        moves.check(USERID, 'BOEIAAS8')


def test_check_refuses_a_single_system(tmp_path):
    with zvmsim.serve(tmp_path, members=1) as servers:
        single = Counted(servers[0])
        create(single)
        with pytest.raises(exception.MigrationPreCheckError,
                           match='this z/VM system is in no SSI cluster'):
            single.requests(single.moves.check, USERID, MEMBER2)
        assert single.requests_sent == ['GET /host/ssi']


# -- move -----------------------------------------------------------------

def test_move_then_register_at_the_destination(servers, member1, member2):
    create(member1)
    sent = member1.requests(member1.moves.move, USERID, MEMBER2,
                            {'maxtotal': 60, 'maxquiesce': 10})
    assert sent == [f'POST /guests/{USERID}/action']
    assert where(servers) == ('on', MEMBER2, [])
    with pytest.raises(client.ConnectorNotFound):
        member1.cc.get(f'/guests/{USERID}')

    sent = member2.requests(member2.moves.register, USERID, 'rhel8.6',
                            [('02:00:0b:00:00:01', 'port-1')])
    assert sent == [f'POST /guests/{USERID}/action']
    assert member1.requests(member1.moves.release, USERID) == [
        f'POST /guests/{USERID}/action']
    assert where(servers) == ('on', MEMBER2, [MEMBER2])
    assert member2.cc.get('/guests') == [USERID]
    assert member2.cc.get(f'/guests/{USERID}/power_state') == 'on'
    assert member1.cc.get('/guests') == []
    assert member1.cc.get(f'/guests/{USERID}/power_state_real') == 'off'


def test_a_failed_move_leaves_the_guest_at_the_source(servers, member1,
                                                      member2):
    create(member1)
    model = servers[0].model
    with model.lock:
        model.faults.add(zvm_faults.parse_rule({
            'method': 'POST', 'path': f'^/guests/{USERID}/action$',
            'times': 1, 'status': 500, 'overallRC': 8, 'rc': 8, 'rs': 3000,
            'modID': 1, 'errmsg': 'VMRELOCATE: HCPRLH1940E not relocated: '
                                  'HCPRLL1813I maximum quiesce time '
                                  'exceeded'}))
    with pytest.raises(exception.MigrationError,
                       match=f'z/VM did not relocate {USERID} to {MEMBER2}; '
                             f'it stays where it was: .*quiesce time'):
        member1.moves.move(USERID, MEMBER2)
    assert where(servers) == ('on', MEMBER1, [MEMBER1])
    assert member1.cc.get(f'/guests/{USERID}/power_state') == 'on'
    with pytest.raises(client.ConnectorNotFound):
        member2.cc.get(f'/guests/{USERID}')


def test_a_move_refused_after_the_check_changes_nothing(servers, member1):
    """The destination fills up between the check and the move."""
    create(member1, memory=2048)
    member1.moves.check(USERID, MEMBER2)
    zvmsim.add_guest(servers[0].model, 'BIGDB', memory_mb=262144,
                     state='on', member=MEMBER2, managed=False)
    with pytest.raises(exception.MigrationError, match='storage free'):
        member1.moves.move(USERID, MEMBER2)
    assert where(servers) == ('on', MEMBER1, [MEMBER1])


# -- cold resize ----------------------------------------------------------

def test_cold_resize_up_and_revert(servers, member1):
    create(member1, start=False)
    old, new = flavor(), flavor(vcpus=2, memory_mb=4096)
    assert member1.requests(member1.moves.check_resize, USERID, old,
                            new) == [f'GET /guests/{USERID}']
    assert member1.requests(member1.moves.apply_flavor, USERID, 2,
                            4096) == [f'POST /guests/{USERID}/action'] * 2
    entry = directory(servers)
    assert entry[0] == f'USER {USERID} NOLOG 4096M 8192M G'
    assert 'COMMAND DEFINE CPU 00-01' in entry
    member1.cc.action(USERID, 'start')
    assert member1.cc.get(f'/guests/{USERID}/info')['online_cpu_num'] == 2

    member1.cc.action(USERID, 'stop')
    member1.moves.apply_flavor(USERID, old.vcpus, old.memory_mb)  # revert
    entry = directory(servers)
    assert entry[0] == f'USER {USERID} NOLOG 1024M 8192M G'
    assert 'CPU 00 BASE' in entry


def test_memory_in_whole_gb_above_9999_mb(servers, member1):
    assert [migration.memory_size(mb) for mb in (512, 9999, 10240, 65536)] \
        == ['512m', '9999m', '10g', '64g']
    assert migration.memory_size(12800) is None
    create(member1, start=False)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.moves.check_resize(USERID, flavor(),
                                   flavor(memory_mb=12800))
    assert '12800 MB of memory: the Cloud Connector takes at most 9999 MB, ' \
        'or whole GB' in refusal(e)


def test_shrinking_the_root_disk_is_refused(servers, member1):
    create(member1, start=False)
    before = directory(servers)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.requests(member1.moves.check_resize, USERID,
                         flavor(root_gb=10), flavor(vcpus=2, root_gb=5))
    assert 'the root disk would shrink from 10 GB to 5 GB and lose data' \
        in refusal(e)
    assert member1.requests_sent == []
    assert directory(servers) == before


def test_disk_changes_refused(member1):
    create(member1, start=False)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.moves.check_resize(USERID, flavor(root_gb=5),
                                   flavor(root_gb=10), same_host=False)
    assert ('the root disk grows from 5 GB to 10 GB only on the same z/VM '
            'system') in refusal(e)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.moves.check_resize(USERID, flavor(root_gb=0),
                                   flavor(root_gb=10))
    assert 'cannot grow from the image size to 10 GB' in refusal(e)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.moves.check_resize(USERID, flavor(),
                                   flavor(ephemeral_gb=2))
    assert 'the ephemeral disks cannot go from 0 GB to 2 GB' in refusal(e)
    # root_gb 0 (the image's size) keeps the root disk: no refusal; nor
    # does a root disk that grows on the same member.
    member1.moves.check_resize(USERID, flavor(root_gb=5),
                               flavor(vcpus=2, root_gb=0))
    member1.moves.check_resize(USERID, flavor(root_gb=5),
                               flavor(root_gb=10))


def root_disk(servers, userid=USERID):
    model = servers[0].model
    with model.lock:
        disk = model.guests[userid].disks['0100']
        return disk.units, disk.image


def test_grow_root_keeps_the_data_on_a_larger_disk(servers, member1):
    create(member1, start=False)
    with servers[0].model.lock:
        servers[0].model.guests[USERID].disks['0100'].image = 'rhel-base'
    member1.moves.grow_root(USERID, 1, 2, 'ECKD:POOL1', 'resize-backup')
    units, image = root_disk(servers)
    # 2 GiB of 3390 cylinders, holding the backup of the old disk.
    assert (units, image) == (2913, 'resize-backup')
    # A revert puts a disk of the old size back from the backup.
    member1.moves.replace_root(USERID, 1, 'ECKD:POOL1', 'resize-backup')
    assert root_disk(servers) == (1457, 'resize-backup')


def test_grow_root_failing_puts_the_old_disk_back(servers, member1):
    create(member1, start=False)
    with servers[0].model.lock:
        servers[0].model.faults.add(zvm_faults.parse_rule({
            'method': 'POST', 'path': f'^/guests/{USERID}/disks$',
            'times': 1, 'status': 500, 'overallRC': 300, 'rc': 300,
            'rs': 2, 'modID': 10}))
    with pytest.raises(exception.ResizeError) as e:
        member1.moves.grow_root(USERID, 1, 2, 'ECKD:POOL1', 'resize-b')
    assert 'could not grow to 2 GB and is as it was' in str(e.value)
    assert root_disk(servers) == (1457, 'resize-b')


def test_cold_resize_beyond_the_directory_maximum_is_refused(servers,
                                                             member1):
    create(member1, start=False)
    before = directory(servers)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.moves.check_resize(USERID, flavor(), flavor(vcpus=8))
    assert f'8 vCPUs exceed the maximum of 4 in the directory entry of ' \
        f'{USERID}' in refusal(e)
    with pytest.raises(exception.InstanceFaultRollback) as e:
        member1.moves.check_resize(USERID, flavor(),
                                   flavor(memory_mb=16384))
    assert '16384 MB of memory exceed the maximum of 8192 MB' in refusal(e)
    assert directory(servers) == before


def test_cold_resize_to_another_member(servers, member1, member2):
    """The directory is the cluster's: the destination takes the
    logged-off guest into its database, resizes and starts it; the source
    lets it go at the confirm."""
    create(member1, start=False)
    member1.moves.check_resize(USERID, flavor(), flavor(vcpus=2))
    member2.moves.register(USERID, 'rhel8.6')                 # finish
    member2.moves.apply_flavor(USERID, 2, 2048)
    member2.cc.action(USERID, 'start')
    assert where(servers) == ('on', MEMBER2, [MEMBER1, MEMBER2])
    assert directory(servers)[0] == f'USER {USERID} NOLOG 2048M 8192M G'

    # Revert: the destination stops and releases it, the source applies
    # the old flavor and starts it again.
    member2.cc.action(USERID, 'stop')
    member2.moves.release(USERID)
    member1.moves.apply_flavor(USERID, 1, 1024)
    member1.cc.action(USERID, 'start')
    assert where(servers) == ('on', MEMBER1, [MEMBER1])
    assert member1.cc.get(f'/guests/{USERID}/info')['online_cpu_num'] == 1


# -- live resize ----------------------------------------------------------

def test_live_resize_within_the_maximum(servers, member1):
    create(member1)
    sent = member1.requests(member1.moves.live_resize, USERID, 4, 8192)
    assert sent == [f'GET /guests/{USERID}/info', f'GET /guests/{USERID}',
                    f'POST /guests/{USERID}/action',
                    f'POST /guests/{USERID}/action']
    info = member1.cc.get(f'/guests/{USERID}/info')
    assert (info['online_cpu_num'], info['mem_kb']) == (4, 8192 * 1024)
    # Nothing grows: no action.
    assert len(member1.requests(member1.moves.live_resize, USERID, 4,
                                8192)) == 2


def test_live_resize_beyond_the_maximum_changes_nothing(servers, member1):
    create(member1)
    before = directory(servers)
    with pytest.raises(exception.ResizeError,
                       match='5 vCPUs exceed the maximum of 4'):
        member1.requests(member1.moves.live_resize, USERID, 5, 2048)
    assert len(member1.requests_sent) == 2            # no action sent
    with pytest.raises(exception.ResizeError,
                       match='9216 MB of memory exceed the maximum of 8192'):
        member1.moves.live_resize(USERID, 2, 9216)
    assert directory(servers) == before


def test_live_resize_refuses_a_decrease_and_a_logged_off_guest(servers,
                                                               member1):
    create(member1, vcpus=2, memory=2048)
    with pytest.raises(exception.ResizeError,
                       match=f'{USERID} would go from 2 vCPUs and 2048 MB to '
                             f'1 and 4096 MB: only a cold resize removes'):
        member1.moves.live_resize(USERID, 1, 4096)
    member1.cc.action(USERID, 'stop')
    with pytest.raises(exception.ResizeError,
                       match=f'{USERID} is not logged on to this z/VM'):
        member1.moves.live_resize(USERID, 2, 4096)
    assert directory(servers)[0] == f'USER {USERID} NOLOG 2048M 8192M G'


def test_live_resize_refused_by_the_connector(servers, member1):
    """More than 64 GB more at once: the connector's reserved storage."""
    member1.cc.post('/guests', {'guest': {
        'userid': USERID, 'vcpus': 1, 'memory': 1024, 'max_mem': '128G',
        'disk_list': [{'size': '1g', 'is_boot_disk': True}]}})
    member1.cc.action(USERID, 'start')
    with pytest.raises(exception.ResizeError,
                       match='did not resize OS000001 live: .*reserved'):
        member1.moves.live_resize(USERID, 2, 98304)
    assert member1.cc.get(f'/guests/{USERID}/info')['online_cpu_num'] == 1


# -- foreign guests -------------------------------------------------------

def test_a_foreign_guest_is_never_changed(servers, member1):
    zvmsim.add_guest(servers[0].model, 'PRODDB2', vcpus=2, memory_mb=2048,
                     state='on', member=MEMBER1, managed=False)
    before = directory(servers, 'PRODDB2'), where(servers, 'PRODDB2')
    moves = member1.moves
    calls = [
        (exception.MigrationPreCheckError, moves.check, MEMBER2),
        (exception.MigrationError, moves.move, MEMBER2),
        (client.ConnectorNotFound, moves.check_resize, flavor(2, 2048),
         flavor(4, 4096)),
        (client.ConnectorNotFound, moves.apply_flavor, 4, 4096),
        (client.ConnectorNotFound, moves.live_resize, 4, 4096),
    ]
    for error, call, *args in calls:
        with pytest.raises(error, match="Guest 'PRODDB2' does not exist"):
            call('PRODDB2', *args)
    assert (directory(servers, 'PRODDB2'), where(servers, 'PRODDB2')) == \
        before == (before[0], ('on', MEMBER1, []))
