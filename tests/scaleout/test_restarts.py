# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A compute host or an agent restarted in the middle of work (issue 18,
item 5): kill -9 of a nova-compute process during a spawn, a resize and a
delete, of a network agent, and a restart of RabbitMQ; then the same
command line started again, as an operator does.

Each kill lands at a known step: a fault rule of the simulator holds one
request of the operation (latency, once), and the test kills the process
once the simulator has taken that request (the rule is used up).  The
held request is answered only long after the process is gone, into a
closed connection.  Afterwards every instance is in the state Nova's
init_host promises (compute/manager.py _init_instance), no orphan is left
once its server is deleted, a partition and guests of other workloads are
untouched, and the next boot on the host works.

Every service killed is started again before its test ends, whatever
happens.  Each test prints its row of the table in doc/deployment.md
("Restarting a compute host or an agent"): run with -s to see them.
"""

import time
import uuid

import pytest
import requests

from nova_ibmz.sandbox import backing
from nova_ibmz.sandbox import seed
from tests.scaleout import cloud as scaleout_cloud
from tests.scaleout.cloud import until
from tests.scaleout.cloud import utcnow

DPM_HOST, OTHER_DPM_HOST = scaleout_cloud.DPM_HOSTS
ZVM_HOST, OTHER_ZVM_HOST = scaleout_cloud.ZVM_HOSTS
# How long a held request waits in the simulator: far longer than the
# kill, the restart and the rest of the test take.
HOLD_MS = 90000
# A restarted process's init_host, and the first report of a service.
RECOVER_SECONDS = 120
FOREIGN_GUEST = 'LINUXA1'           # in the connector's database
LOOKALIKE_GUEST = 'OS0FFFFF'        # named as ours, in no database


def _dpm(host):
    return host in scaleout_cloud.DPM_HOSTS


def _boot(cloud, name, host, **kwargs):
    volume = cloud.volume(name) if _dpm(host) else None
    return cloud.boot(name, host, volume_id=volume, **kwargs)


def _partition(server_id, host):
    return f'OpenStack-{host}-{server_id}'


def _userid(cloud, server_id):
    """The userid of the guest marked as the server's (None: none)."""
    return next((uid for uid, marked in cloud.guests().items()
                 if marked == server_id), None)


def _on_hypervisor(cloud, server_id, host):
    """The server's partition or guest, as its simulator shows it (None
    if it has none)."""
    if _dpm(host):
        return cloud.partitions().get(_partition(server_id, host))
    return _userid(cloud, server_id)


def _hold(cloud, simulator, method, path):
    """Hold the next request that matches in the simulator: a callable
    that says whether it has been taken (is held now)."""
    cloud.fault(simulator, {'method': method, 'path': path,
                            'latency_ms': HOLD_MS, 'times': 1})
    return lambda: not any(rule['path'] == path
                           for rule in cloud.fault(simulator))


def _next_boot_works(cloud, host):
    server_id = _boot(cloud, f'restart-next-{host}', host)
    assert cloud.wait(server_id, 'ACTIVE')['OS-EXT-SRV-ATTR:host'] == host
    cloud.delete(server_id)


def _kill_and_restart(cloud, host, server_id, held, status, **wait):
    """kill -9 of host's nova-compute once it waits on the held request
    (server_id's object still on the hypervisor), then the same command
    line again: (the server once its status is status, seconds from the
    restart until then and until the compute reports again)."""
    until(held, 'the request held')
    with cloud.down(f'nova-compute-{host}'):
        assert _on_hypervisor(cloud, server_id, host)
        since = utcnow()
    started = time.monotonic()
    server = cloud.wait(server_id, status, timeout=RECOVER_SECONDS, **wait)
    until(lambda: cloud.compute_reported(host, since), f'{host} reporting',
          timeout=RECOVER_SECONDS)
    return server, time.monotonic() - started


def _report(scenario, kill_point, state, orphans, seconds):
    print(f'\n| {scenario} | {kill_point} | {state} | {len(orphans)} | '
          f'ACTIVE | {seconds:.0f} |')


@pytest.fixture(scope='module')
def foreign(sandbox):
    """What other workloads have on the hypervisors, made through the
    simulators' own APIs: a partition named as DPM_HOST's would be but not
    described as OpenStack's, a guest in ZVM_HOST's connector database
    whose userid the instance name template cannot give, and a guest
    whose userid it can give but that no connector manages.  A callable:
    their state now."""
    cloud = scaleout_cloud.Cloud(sandbox)
    name = _partition(uuid.uuid4(), DPM_HOST)
    with cloud.cpc() as cpc:
        cpc.partitions.create({
            'name': name, 'description': 'Another workload',
            'ifl-processors': 1, 'initial-memory': 1024,
            'maximum-memory': 1024})
    cloud.zvm(ZVM_HOST, 'POST', '/guests', {'guest': {
        'userid': FOREIGN_GUEST, 'vcpus': 1, 'memory': 1024,
        'disk_list': [{'size': '1g', 'is_boot_disk': True,
                       'disk_pool': 'ECKD:POOL1'}]}})
    url = sandbox.sims.connectors[0].url
    requests.post(
        f'{url}/_sim/guests', json={'userid': LOOKALIKE_GUEST},
        timeout=60).raise_for_status()

    def state():
        guests = {uid: (cloud.zvm(ZVM_HOST, 'GET',
                                  f'/guests/{uid}/user_direct'),
                        cloud.zvm(ZVM_HOST, 'GET',
                                  f'/guests/{uid}/power_state_real'))
                  for uid in (FOREIGN_GUEST, LOOKALIKE_GUEST)}
        return cloud.partitions()[name], guests
    yield state
    with cloud.cpc() as cpc:
        cpc.partitions.find(name=name).delete()
    cloud.zvm(ZVM_HOST, 'DELETE', f'/guests/{FOREIGN_GUEST}')


@pytest.fixture
def restarts(cloud, foreign):
    """The cloud; after the test, no fault rule left, the other
    workloads' partition and guests as they were, no server of the
    test's left (a failed test's are deleted)."""
    before = foreign()
    try:
        yield cloud
    finally:
        cloud.clear_faults()
        left = [s for s, server in cloud.servers().items()
                if server['name'].startswith('restart-')]
        if left:
            cloud.delete(*left)
    assert foreign() == before


# -- nova-compute killed -----------------------------------------------

@pytest.mark.parametrize('host', [DPM_HOST, ZVM_HOST])
def test_compute_killed_during_spawn(restarts, host):
    """Nova: an instance BUILDING when its compute died goes to ERROR at
    the restart; its half-made partition or guest stays with it until the
    ERROR server is deleted, which removes it."""
    cloud = restarts
    if _dpm(host):      # the start, once the NICs and boot properties are
        held = _hold(cloud, 'hmc', 'POST',
                     r'^/api/partitions/[^/]+/operations/start$')
    else:               # the deploy of the image, once the guest is defined
        held = _hold(cloud, 'zvm', 'POST', r'^/guests/OS[0-9A-F]+/action$')
    server_id = _boot(cloud, f'restart-spawn-{host}', host)
    cloud.wait(server_id, 'BUILD', task_state='spawning')
    _, seconds = _kill_and_restart(cloud, host, server_id, held, 'ERROR')
    # The ERROR server still owns it: init_host leaves it alone.
    assert _on_hypervisor(cloud, server_id, host)
    assert cloud.server(server_id)['OS-EXT-STS:task_state'] is None
    # The config drive the z/VM spawn was deploying, on the compute host.
    drive = (cloud.sandbox.sims.state_dir / host / 'images' /
             f'{server_id}.iso')
    assert drive.exists() is not _dpm(host)

    cloud.delete(server_id)
    orphans = cloud.orphans()
    assert orphans == []
    assert not _on_hypervisor(cloud, server_id, host)
    assert not drive.exists()
    _next_boot_works(cloud, host)
    _report(f'spawn ({host})', 'spawning: the partition\'s start request '
            '(HBAs and NICs made)' if _dpm(host) else 'spawning: the deploy '
            'request (guest defined)', 'ERROR; deleted on request', orphans,
            seconds)


def test_compute_killed_during_resize(restarts):
    """Nova: an instance in resize_migrating when its source compute died
    is rolled back at the restart (finish_revert_migration): ACTIVE on its
    host with its old flavor."""
    cloud = restarts
    server_id = _boot(cloud, 'restart-resize', ZVM_HOST)
    cloud.wait(server_id, 'ACTIVE')
    uid = _userid(cloud, server_id)
    # The source's check of the guest's directory entry, the first
    # request of migrate_disk_and_power_off.
    held = _hold(cloud, 'zvm', 'GET', f'^/guests/{uid}$')
    cloud.api('POST', f'/servers/{server_id}/action',
              {'resize': {'flavorRef': seed.stable_id(
                  f'flavor-{seed.RESIZE_FLAVOR}')}})
    cloud.wait(server_id, 'RESIZE', task_state='resize_migrating')
    server, seconds = _kill_and_restart(cloud, ZVM_HOST, server_id, held,
                                        'ACTIVE', task_state=None)
    assert server['OS-EXT-SRV-ATTR:host'] == ZVM_HOST
    assert server['flavor']['original_name'] == seed.SMALL_FLAVOR
    assert cloud.zvm(ZVM_HOST, 'GET', f'/guests/{uid}/power_state') == 'on'
    orphans = cloud.orphans()
    assert orphans == []

    _next_boot_works(cloud, ZVM_HOST)
    cloud.delete(server_id)
    _report(f'resize ({ZVM_HOST})', 'resize_migrating: the source\'s '
            'check of the guest', 'ACTIVE, old flavor, running', orphans,
            seconds)


@pytest.mark.parametrize('host', [DPM_HOST, ZVM_HOST])
def test_compute_killed_during_delete(restarts, host):
    """Nova: a delete under way when the compute died is completed by
    init_host at the restart."""
    cloud = restarts
    server_id = _boot(cloud, f'restart-delete-{host}', host)
    cloud.wait(server_id, 'ACTIVE')
    if _dpm(host):      # the stop of the partition, before its delete
        oid = cloud.partitions()[_partition(server_id, host)]['object-id']
        held = _hold(cloud, 'hmc', 'POST',
                     f'^/api/partitions/{oid}/operations/stop$')
    else:               # the release of its FCP devices, before its delete
        held = _hold(cloud, 'zvm', 'GET', r'^/volumes/fcptemplates\?'
                     f'assigner_id={_userid(cloud, server_id)}$')
    cloud.api('DELETE', f'/servers/{server_id}')
    cloud.wait(server_id, 'ACTIVE', task_state='deleting')
    _, seconds = _kill_and_restart(cloud, host, server_id, held, 'DELETED')
    orphans = cloud.orphans()
    assert orphans == []
    assert not _on_hypervisor(cloud, server_id, host)
    _next_boot_works(cloud, host)
    _report(f'delete ({host})', 'deleting: the partition\'s stop request'
            if _dpm(host) else 'deleting: the FCP release before the guest\'s '
            'DELETE', 'deleted by init_host', orphans, seconds)


# -- a network agent killed ----------------------------------------------

@pytest.mark.parametrize('host', [OTHER_DPM_HOST, OTHER_ZVM_HOST])
def test_agent_killed_during_a_boot(restarts, host):
    """The host's agent dies: a running server keeps running with its
    port ACTIVE; a boot on the host waits for its port (network-vif-
    plugged) and completes once the agent is back and reports it."""
    cloud = restarts
    kind = 'dpm' if _dpm(host) else 'zvm'
    kept = _boot(cloud, f'restart-kept-{host}', host)
    cloud.wait(kept, 'ACTIVE')
    with cloud.down(f'neutron-ibmz-{kind}-agent-{host}'):
        waiting = _boot(cloud, f'restart-waiting-{host}', host)
        cloud.wait(waiting, 'BUILD', task_state='spawning')
        if _dpm(host):      # NICs made, partition started: then the wait
            until(lambda: (cloud.partitions().get(_partition(
                waiting, host)) or {}).get('status') == 'active',
                'the partition started')
        else:               # NIC made and coupled: then the wait
            uid = until(lambda: _userid(cloud, waiting), 'the guest')
            until(lambda: [n for n in cloud.zvm(
                host, 'GET', f'/guests/nics?userid={uid}')
                if n['switch']], 'the NIC coupled')
        assert cloud.server(waiting)['status'] == 'BUILD'
        assert [p['status'] for p in cloud.neutron(
            f'/ports?device_id={waiting}')['ports']] == ['DOWN']
        assert cloud.server(kept)['status'] == 'ACTIVE'
        since = utcnow()
    started = time.monotonic()
    assert cloud.wait(waiting, 'ACTIVE', timeout=RECOVER_SECONDS)[
        'OS-EXT-SRV-ATTR:host'] == host
    until(lambda: cloud.agent_reported(host, since), f'{host}\'s agent '
          'reporting', timeout=RECOVER_SECONDS)
    seconds = time.monotonic() - started
    for server_id in (kept, waiting):
        assert cloud.server(server_id)['status'] == 'ACTIVE'
        assert [p['status'] for p in cloud.neutron(
            f'/ports?device_id={server_id}')['ports']] == ['ACTIVE']
    cloud.delete(kept, waiting)
    orphans = cloud.orphans()
    assert orphans == []
    _report(f'{kind.upper()} agent ({host})', 'a boot waiting for '
            'network-vif-plugged', 'running server and boot ACTIVE',
            orphans, seconds)


# -- RabbitMQ restarted ----------------------------------------------------

def test_rabbitmq_restarted_while_idle(restarts, sandbox):
    """Every compute service and agent reconnects and reports again, and a
    boot on each kind of host works."""
    cloud = restarts
    broker = sandbox.backing[0]
    assert isinstance(broker, backing.RabbitMQ)
    since = utcnow()
    started = time.monotonic()
    broker.restart()
    hosts = scaleout_cloud.DPM_HOSTS + scaleout_cloud.ZVM_HOSTS
    until(lambda: all(cloud.compute_reported(h, since) and
                      cloud.agent_reported(h, since) for h in hosts),
          'every compute service and agent reporting',
          timeout=RECOVER_SECONDS)
    seconds = time.monotonic() - started
    servers = [_boot(cloud, f'restart-rabbit-{h}', h)
               for h in (OTHER_DPM_HOST, OTHER_ZVM_HOST)]
    for server_id in servers:
        cloud.wait(server_id, 'ACTIVE')
    cloud.delete(*servers)
    orphans = cloud.orphans()
    assert orphans == []
    _report('RabbitMQ restarted', 'idle', 'every compute and agent '
            'reporting', orphans, seconds)
