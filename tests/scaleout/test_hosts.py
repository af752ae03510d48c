# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Servers across the scale-out cloud's hosts: two CPC subsets of one CPC,
two SSI members, each a stock nova-compute process over RabbitMQ."""

from tests.scaleout import cloud as scaleout_cloud


def test_every_host_is_a_compute_service_and_a_hypervisor(cloud):
    services = cloud.api('GET', '/os-services?binary=nova-compute')
    assert {(s['host'], s['state'], s['status'])
            for s in services['services']} == {
        (host, 'up', 'enabled') for host in
        scaleout_cloud.DPM_HOSTS + scaleout_cloud.ZVM_HOSTS}
    agents = cloud.neutron('/agents')['agents']
    assert {(a['host'], a['agent_type'], a['alive']) for a in agents} == {
        *((h, 'DPM agent', True) for h in scaleout_cloud.DPM_HOSTS),
        *((h, 'z/VM agent', True) for h in scaleout_cloud.ZVM_HOSTS)}


def test_boot_on_each_host_migrate_and_delete(cloud):
    servers = {}
    for host in scaleout_cloud.DPM_HOSTS:
        servers[host] = cloud.boot(f'lpar-{host}', host,
                                   volume_id=cloud.volume(f'boot-{host}'))
    for host in scaleout_cloud.ZVM_HOSTS:
        servers[host] = cloud.boot(f'vm-{host}', host)
    for host, server_id in servers.items():
        server = cloud.wait(server_id, 'ACTIVE')
        assert server['OS-EXT-SRV-ATTR:host'] == host
    partitions = cloud.partitions()
    for host in scaleout_cloud.DPM_HOSTS:
        name = f'OpenStack-{host}-{servers[host]}'
        assert partitions[name]['status'] == 'active', name
    marked = set(cloud.guests().values())
    assert {servers[h] for h in scaleout_cloud.ZVM_HOSTS} <= marked
    for server_id in servers.values():
        ports = cloud.neutron(f'/ports?device_id={server_id}')['ports']
        assert [p['status'] for p in ports] == ['ACTIVE'], server_id

    # Live migration between the SSI members, through the conductor and
    # both nova-compute processes over RabbitMQ.
    moving = servers['zvm-1']
    cloud.api('POST', f'/servers/{moving}/action',
              {'os-migrateLive': {'host': 'zvm-2', 'block_migration':
                                  'auto'}})
    server = cloud.wait(moving, 'ACTIVE', task_state=None)
    assert server['OS-EXT-SRV-ATTR:host'] == 'zvm-2'

    cloud.delete(*servers.values())
    assert cloud.orphans() == []
    assert not any(name.startswith('OpenStack-')
                   for name in cloud.partitions())


def test_dpm_server_moves_between_subsets(cloud):
    """A cold migration from one CPC subset to the other, confirmed, and
    one back, reverted: each nova-compute makes or removes only its own
    partition; the volume follows through Cinder to the destination's
    WWPNs; the port is bound to where the server runs."""
    source, dest = scaleout_cloud.DPM_HOSTS
    server_id = cloud.boot('lpar-moving', source,
                           volume_id=cloud.volume('boot-moving'))
    cloud.wait(server_id, 'ACTIVE')
    names = {host: f'OpenStack-{host}-{server_id}'
             for host in scaleout_cloud.DPM_HOSTS}

    def move(to, finish):
        cloud.api('POST', f'/servers/{server_id}/action',
                  {'migrate': {'host': to}})
        server = cloud.wait(server_id, 'VERIFY_RESIZE')
        assert server['OS-EXT-SRV-ATTR:host'] == to
        partitions = cloud.partitions()
        back = source if to == dest else dest
        assert (partitions[names[to]]['status'],
                partitions[names[back]]['status']) == ('active', 'stopped')
        cloud.api('POST', f'/servers/{server_id}/action', {finish: None})
        return cloud.wait(server_id, 'ACTIVE', task_state=None)

    server = move(dest, 'confirmResize')
    assert server['OS-EXT-SRV-ATTR:host'] == dest
    partitions = cloud.partitions()
    assert names[source] not in partitions
    assert partitions[names[dest]]['status'] == 'active'
    port, = cloud.neutron(f'/ports?device_id={server_id}')['ports']
    assert (port['binding:host_id'], port['status']) == (dest, 'ACTIVE')

    server = move(source, 'revertResize')
    assert server['OS-EXT-SRV-ATTR:host'] == dest
    partitions = cloud.partitions()
    assert names[source] not in partitions
    assert partitions[names[dest]]['status'] == 'active'
    scaleout_cloud.until(lambda: cloud.neutron(
        f'/ports?device_id={server_id}')['ports'][0]['binding:host_id'] ==
        dest, 'the port bound to the destination again')

    cloud.delete(server_id)
    assert cloud.orphans() == []
    assert not any(name.startswith('OpenStack-')
                   for name in cloud.partitions())
