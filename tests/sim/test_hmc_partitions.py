# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Partitions on the HMC simulator, driven by the real zhmcclient."""

import time

import pytest
import yaml
import zhmcclient

from nova_ibmz.sim.hmc import model
from tests import hmcsim

props = hmcsim.partition_props
status = hmcsim.status
wait_job = hmcsim.wait_job


@pytest.fixture
def slow_server(certs_dir):
    """A simulator whose jobs run long enough to watch them running."""
    with hmcsim.serve(certs_dir, job_seconds=hmcsim.SLOW_JOBS) as server:
        yield server


@pytest.fixture
def slow_cpc(slow_server):
    return hmcsim.cpc(hmcsim.session(slow_server))


def test_default_topology(cpc):
    """One z15-class DPM CPC: 40 IFLs, 2 TiB, HBA model, three workloads."""
    assert cpc.get_property('dpm-enabled') is True
    assert cpc.get_property('machine-type') == '8561'
    assert cpc.get_property('processor-count-ifl') == 40
    assert cpc.get_property('storage-customer') == 2 * 1024 * 1024
    assert not cpc.firmware_feature_enabled('dpm-storage-management')
    adapters = {a.name: a.get_property('type') for a in cpc.adapters.list()}
    assert sorted(adapters.values()) == ['fcp', 'fcp', 'hipersockets',
                                         'osd', 'osd']
    assert len(cpc.virtual_switches.list()) == 3
    foreign = cpc.partitions.list(additional_properties=['status'])
    assert sorted(p.name for p in foreign) == [
        'PROD-DB2', 'PROD-WAS', 'TEST-SAP']
    assert sum(p.properties['status'] == 'active' for p in foreign) == 2


def test_storage_groups_topology(sg_server):
    """The second topology has the feature on and an attached group."""
    cpc = hmcsim.cpc(hmcsim.session(sg_server), hmcsim.SG_CPC_NAME)
    assert cpc.firmware_feature_enabled('dpm-storage-management')
    db2 = cpc.partitions.find(name='PROD-DB2')
    groups = db2.list_attached_storage_groups()
    assert [g.name for g in groups] == ['PROD-DB2-BOOT']
    assert len(cpc.partitions.list()) == 3


def test_create_update_start_stop_delete(slow_cpc):
    """The lifecycle, with transitional statuses and polled jobs."""
    cpc = slow_cpc
    part = cpc.partitions.create(props('OpenStack-h-1', ifls=2,
                                       memory=4096))
    assert status(part) == 'stopped'
    part.update_properties({'description': 'OpenStack CPCSubset=h',
                            'boot-os-specific-parameters': '1000,0,x;'})
    assert part.get_property('description') == 'OpenStack CPCSubset=h'

    job = part.start(wait_for_completion=False)
    assert status(part) == 'starting'
    assert job.check_for_completion() == ('running', None)
    assert wait_job(job) == {}
    assert status(part) == 'active'

    job = part.stop(wait_for_completion=False)
    assert status(part) == 'stopping'
    wait_job(job)
    assert status(part) == 'stopped'

    part.delete()
    with pytest.raises(zhmcclient.NotFound):
        cpc.partitions.find(name='OpenStack-h-1')


def http_error(excinfo):
    return excinfo.value.http_status, excinfo.value.reason


def test_names_are_unique_on_create_and_rename(cpc):
    cpc.partitions.create(props('A'))
    b = cpc.partitions.create(props('B'))
    with pytest.raises(zhmcclient.HTTPError) as e:
        cpc.partitions.create(props('A'))
    assert http_error(e) == (400, 8)
    with pytest.raises(zhmcclient.HTTPError) as e:
        b.update_properties({'name': 'PROD-DB2'})
    assert http_error(e) == (400, 8)
    assert 'PROD-DB2' in e.value.message
    b.update_properties({'name': 'B'})   # its own name is no conflict


def test_ids_unique_across_cpcs(certs_dir, tmp_path):
    """Two CPCs' partitions never share an object id, and partition ids and
    short names stay unique past the mock's random range."""
    topology = yaml.safe_load(model.topology_path('default').read_text())
    second = yaml.safe_load(yaml.safe_dump(
        topology['hmc_definition']['cpcs'][0]))
    second['properties'].update({'name': 'CPC9', 'object-id': 'cpc-9'})
    second['partitions'] = []
    for child in ('adapters', 'virtual_switches'):
        for resource in second[child]:
            del resource['properties']['object-id']
    second['virtual_switches'] = []
    topology['hmc_definition']['cpcs'].append(second)
    path = tmp_path / 'two-cpcs.yaml'
    path.write_text(yaml.safe_dump(topology))

    with hmcsim.serve(certs_dir, topology=path) as server:
        session = hmcsim.session(server)
        cpc1, cpc9 = hmcsim.cpc(session), hmcsim.cpc(session, 'CPC9')
        adapters = cpc1.adapters.list() + cpc9.adapters.list()
        assert len({a.uri for a in adapters}) == 10
        on1 = [cpc1.partitions.create(props(f'P{i}')) for i in range(30)]
        on9 = cpc9.partitions.create(props('P0'))
        assert on9.uri not in {p.uri for p in on1}
        on9.delete()
        assert cpc1.partitions.find(name='P0').uri == on1[0].uri
        listed = cpc1.partitions.list(
            additional_properties=['partition-id', 'short-name'])
        ours = [p.properties for p in listed if p.name[1:].isdigit()]
        assert len({p['partition-id'] for p in ours}) == 30
        assert len({p['short-name'] for p in ours}) == 30


def test_read_only_and_invalid_properties(cpc):
    part = cpc.partitions.create(props('A'))
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.update_properties({'status': 'active'})
    assert http_error(e) == (400, 6)
    part.update_properties({'boot-os-specific-parameters': 'x' * 256})
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.update_properties({'boot-os-specific-parameters': 'x' * 257})
    assert http_error(e) == (400, 7)
    assert '257' in e.value.message
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.update_properties({'boot-os-specific-parameters': None})
    assert http_error(e) == (400, 7)
    assert status(part) == 'stopped'


def test_topology_partitions_start_and_stop(cpc):
    """Partitions from a topology lack what the HMC would have given them
    (short name, NIC MACs): their jobs still complete."""
    sap = cpc.partitions.find(name='TEST-SAP')
    wait_job(sap.start(wait_for_completion=False))
    assert status(sap) == 'active'
    texts = [m['message-text'] for m in sap.list_os_messages()['os-messages']]
    assert texts[-1] == 'TEST-SAP login:'
    wait_job(sap.stop(wait_for_completion=False))
    assert status(sap) == 'stopped'


def test_status_rules(slow_server, slow_cpc):
    """Start needs stopped (a paused partition must be stopped first),
    delete needs stopped, and nothing changes during a transition."""
    cpc = slow_cpc
    part = cpc.partitions.create(props('A'))
    hmcsim.Controls(slow_server).set_properties(
        part.uri, status='paused')
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.start(wait_for_completion=False)
    assert http_error(e) == (409, 1)
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.delete()
    assert http_error(e) == (409, 1)
    wait_job(part.stop(wait_for_completion=False))
    job = part.start(wait_for_completion=False)
    with pytest.raises(zhmcclient.HTTPError) as e:
        part.update_properties({'description': 'during start'})
    assert http_error(e) == (409, 1)
    wait_job(job)
    assert status(part) == 'active'


def test_wait_for_completion(certs_dir):
    """zhmcclient's own waiting works: the job, then the status."""
    with hmcsim.serve(certs_dir, job_seconds=hmcsim.INSTANT_JOBS) as server:
        part = hmcsim.cpc(hmcsim.session(server)).partitions.create(
            props('A'))
        started = time.monotonic()
        assert part.start() == {}
        assert status(part) == 'active'
        part.stop()
        assert status(part) == 'stopped'
        assert time.monotonic() - started < 5


@pytest.mark.parametrize('ifls, memory, fits', [
    (40, 1024, True), (41, 1024, False),
    # 2 TiB less the running PROD-DB2 (256 GiB) and PROD-WAS (64 GiB)
    (1, 2097152 - 262144 - 65536, True),
    (1, 2097152 - 262144 - 65536 + 1, False)])
def test_start_enforces_cpc_resources(cpc, ifls, memory, fits):
    part = cpc.partitions.create(props('A', ifls=ifls, memory=memory))
    job = part.start(wait_for_completion=False)
    if fits:
        wait_job(job)
        assert status(part) == 'active'
    else:
        with pytest.raises(zhmcclient.HTTPError) as e:
            wait_job(job)
        assert http_error(e) == (409, 0)
        assert ('IFL' if ifls > 40 else 'memory') in e.value.message
        assert status(part) == 'stopped'


def test_jobs_query_and_delete(slow_cpc):
    session = slow_cpc.manager.session
    part = slow_cpc.partitions.create(props('A'))
    job_uri = session.post(part.uri + '/operations/start').uri
    assert session.get(job_uri) == {'status': 'running'}
    with pytest.raises(zhmcclient.HTTPError) as e:
        session.delete(job_uri)
    assert http_error(e) == (409, 40)
    while session.get(job_uri)['status'] == 'running':
        time.sleep(0.05)
    assert session.get(job_uri) == {
        'status': 'complete', 'job-status-code': 200,
        'job-reason-code': 0, 'job-results': {}}
    session.delete(job_uri)
    with pytest.raises(zhmcclient.HTTPError) as e:
        session.get(job_uri)
    assert http_error(e) == (404, 1)


def test_os_messages(cpc):
    """What the partition printed: state changes and its boot."""
    part = cpc.partitions.create(props('A'))
    vswitch = cpc.virtual_switches.find(name='OSD-1 Port 0')
    nic = part.nics.create({'name': 'eth0', 'virtual-switch-uri':
                            vswitch.uri})
    part.update_properties({'boot-os-specific-parameters': '8000,0,mac;'})
    wait_job(part.start(wait_for_completion=False))
    texts = [m['message-text']
             for m in part.list_os_messages()['os-messages']]
    assert texts[:2] == [
        'Partition status changed from stopped to starting.',
        'Partition status changed from starting to active.']
    assert 'Kernel command line: 8000,0,mac;' in texts
    mac = nic.get_property('mac-address')
    assert any(mac in t and '0.0.8000' in t for t in texts)
    assert texts[-1] == 'A login:'
    later = part.list_os_messages(begin=len(texts) - 1)['os-messages']
    assert [m['message-text'] for m in later] == ['A login:']


def test_dump_psw_restart_and_iso_are_recorded(cpc, controls):
    part = cpc.partitions.create(props('A'))
    hba = part.hbas.create({'name': 'boot', 'adapter-port-uri':
                            cpc.adapters.find(name='FCP-1').ports.list()[0]
                            .uri})
    part.mount_iso_image(b'\0' * 2048, 'install.iso', '/generic.ins')
    assert part.get_property('boot-iso-image-name') == 'install.iso'
    wait_job(part.start(wait_for_completion=False))
    wait_job(part.psw_restart(wait_for_completion=False))
    dump = {'dump-load-hba-uri': hba.uri,
            'dump-world-wide-port-name': '5005076810000001',
            'dump-logical-unit-number': '0001000000000000'}
    wait_job(part.dump_partition(dump, wait_for_completion=False))
    events = controls.call('GET', '/events')['events'][part.uri]
    assert [e['event'] for e in events] == ['mount-iso', 'psw-restart',
                                            'dump']
    assert events[0]['size'] == 2048
    assert events[2]['dump-world-wide-port-name'] == '5005076810000001'
    texts = [m['message-text']
             for m in part.list_os_messages()['os-messages']]
    assert any(t.startswith('PSW restart') for t in texts)
    assert any(t.startswith('Dump written') for t in texts)


def test_partition_usage_metrics(cpc):
    """Get Metrics answers partition-usage for every partition, in the
    HMC's metrics format: running ones busy, stopped ones idle."""
    part = cpc.partitions.create(props('A'))
    client = zhmcclient.Client(cpc.manager.session)
    context = client.metrics_contexts.create(
        {'anticipated-frequency-seconds': 15,
         'metric-groups': ['partition-usage']})

    def usage():
        response = zhmcclient.MetricsResponse(context, context.get_metrics())
        [group] = response.metric_group_values
        return {v.resource_uri: v.metrics['processor-usage']
                for v in group.object_values}

    assert usage()[part.uri] == 0
    wait_job(part.start(wait_for_completion=False))
    busy = usage()
    assert busy[part.uri] > 0
    assert busy == usage()      # steady for the same partitions
    assert len(busy) == 5       # the four of the topology's two CPCs too


def test_names_are_at_most_64_characters(cpc):
    cpc.partitions.create(props('P' * 64))
    with pytest.raises(zhmcclient.HTTPError) as e:
        cpc.partitions.create(props('P' * 65))
    assert http_error(e) == (400, 7)
