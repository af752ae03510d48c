# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Many partitions, many threads, and a restart of the HMC simulator."""

import concurrent.futures
import time

import zhmcclient

from tests import hmcsim

props = hmcsim.partition_props
status = hmcsim.status
wait_job = hmcsim.wait_job


def test_list_500_partitions_in_one_request(cpc, controls):
    for i in range(497):
        cpc.partitions.create(props(f'OpenStack-h-{i:04d}', ifls=2,
                                    description=f'Instance=vm-{i}'))
    seq = controls.last_seq()
    listed = cpc.partitions.list(additional_properties=[
        'description', 'ifl-processors', 'initial-memory'])
    assert [(r['method'], r['path'].split('?')[0], r['status'])
            for r in controls.requests(since=seq)] == [
        ('GET', f'{cpc.uri}/partitions', 200)]
    assert len(listed) == 500
    ours = [p.properties for p in listed if p.name.startswith('OpenStack')]
    assert {p['description'] for p in ours} == {
        f'Instance=vm-{i}' for i in range(497)}
    assert {p['ifl-processors'] for p in ours} == {2}


def _worker(server, index):
    """One Nova operation's worth of HMC work, on its own session (a
    zhmcclient session serves one thread at a time)."""
    session = hmcsim.session(server)
    cpc = hmcsim.cpc(session)
    name = f'OpenStack-t-{index:02d}'
    part = cpc.partitions.create(props(name))
    vswitch = cpc.virtual_switches.find(name='OSD-2 Port 0')
    part.nics.create({'name': 'eth0', 'virtual-switch-uri': vswitch.uri})
    part.hbas.create({'name': 'fcp', 'adapter-port-uri': cpc.adapters.find(
        name='FCP-2').ports.list()[0].uri})
    wait_job(part.start(wait_for_completion=False))
    assert status(part) == 'active'
    cpc.partitions.list(additional_properties=['status'])
    wait_job(part.stop(wait_for_completion=False))
    part.delete()
    session.logoff()
    return name


def test_16_threads_at_once(hmc_server, cpc, controls):
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        names = list(pool.map(lambda i: _worker(hmc_server, i), range(16)))
    assert len(set(names)) == 16
    assert sorted(p.name for p in cpc.partitions.list()) == [
        'PROD-DB2', 'PROD-WAS', 'TEST-SAP']
    vswitch = cpc.virtual_switches.find(name='OSD-2 Port 0')
    assert vswitch.get_connected_nics() == []
    log = controls.requests()
    assert len(log) > 16 * 10
    assert [r for r in log if r['status'] >= 400] == []


def test_restart_keeps_state(certs_dir, tmp_path):
    """A restarted simulator has the partitions, devices, attachments,
    messages and running jobs it had; clients simply log on again."""
    state = tmp_path / 'hmc-state.json'
    slow = dict(hmcsim.FAST_JOBS, start=0.6)
    with hmcsim.serve(certs_dir, 'storage-groups', slow, state) as server:
        port = server.port
        session = hmcsim.session(server)
        client = zhmcclient.Client(session)
        cpc = client.cpcs.find(name=hmcsim.SG_CPC_NAME)
        part = cpc.partitions.create(props('A'))
        nic = part.nics.create({'name': 'eth0', 'virtual-switch-uri':
                                cpc.virtual_switches.list()[0].uri})
        group = client.consoles.console.storage_groups.create(
            {'name': 'A-BOOT', 'cpc-uri': cpc.uri, 'type': 'fcp'})
        group.add_candidate_adapter_ports(
            [cpc.adapters.find(name='FCP-1').ports.list()[0]])
        part.attach_storage_group(group)
        before = {
            'mac': nic.get_property('mac-address'),
            'wwpns': [v.get_property('world-wide-port-name')
                      for v in group.virtual_storage_resources.list()],
        }
        job = part.start(wait_for_completion=False)
        messages = part.list_os_messages()['os-messages']

    with hmcsim.serve(certs_dir, 'storage-groups', slow, state,
                      port=port) as server:
        assert status(part) == 'starting'     # re-logon is transparent
        wait_job(job)
        assert status(part) == 'active'
        assert part.get_property('nic-uris') == [nic.uri]
        assert nic.get_property('mac-address') == before['mac']
        assert [v.get_property('world-wide-port-name')
                for v in group.virtual_storage_resources.list()] == \
            before['wwpns']
        assert part.get_property('storage-group-uris') == [group.uri]
        again = part.list_os_messages()['os-messages']
        assert again[:len(messages)] == messages
        assert len(cpc.partitions.list()) == 4
        paths = [r['path'] for r in hmcsim.Controls(server).requests()]
        assert paths[:2] == [part.uri, '/api/sessions']
    started = time.monotonic()
    with hmcsim.serve(certs_dir, 'storage-groups', slow, state) as server:
        assert time.monotonic() - started < 2
