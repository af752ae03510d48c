# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM driver's CPC subset on the HMC simulator (default topology).

The topology's CPC1 has 40 IFLs, 2 TiB of customer memory and three
partitions of other workloads (PROD-DB2, PROD-WAS, TEST-SAP).  The driver
reaches the simulator over HTTPS with a real zhmcclient session.
"""

import json
import re

from nova.compute import power_state
from nova.compute import stats as compute_stats
from nova import exception as nova_exception
from nova import objects
from oslo_utils import uuidutils
import pytest

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.conf import types
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.dpm import host as dpm_host
from nova_ibmz.hmc import naming
from tests import hmc
from tests import hmcsim

objects.register_all()

CPC_URI = f'/api/cpcs/{hmc.CPC_ID}'
FOREIGN = hmc.FOREIGN['default'][hmc.CPC_NAME]


class RequestLog:
    """The simulator's log of API requests since this object was made."""

    def __init__(self, server):
        self._log = server.log
        self.clear()

    def clear(self):
        entries = self._log.since()
        self._seq = entries[-1]['seq'] if entries else 0

    @property
    def requests(self):
        """(method, uri) of every request but logons."""
        return [(e['method'], e['path']) for e in self._log.since(self._seq)
                if e['path'] != '/api/sessions']


@pytest.fixture
def make_driver():
    """Drivers of any host and configuration on one reset simulator."""
    hmc.reset()

    def make(config=None, host=hmc.HOST):
        return dpm_driver.DPMDriver(None, config=config or hmc.make_config(),
                                    host_name=host,
                                    known_instances=hmc.no_instances)
    return make


@pytest.fixture
def driver(make_driver):
    return make_driver()


@pytest.fixture
def requests_log(driver):
    return RequestLog(hmc.server())


@pytest.fixture
def controls(driver):
    return hmcsim.Controls(hmc.server())


def config(**changes):
    return hmc.make_config(**changes)


def endpoint():
    return f'HMC 127.0.0.1:{hmc.server().port}'


def instance(uuid):
    return objects.Instance(uuid=uuid)


def add_own(instance_name, host=hmc.HOST, **kwargs):
    """Add an instance partition of host; return its instance uuid."""
    uuid = uuidutils.generate_uuid()
    hmc.add_partition(host, uuid, instance_name, **kwargs)
    return uuid


def set_cpc(controls, **properties):
    controls.set_properties(CPC_URI, **properties)


# init_host -----------------------------------------------------------------


def paths(requests_log):
    return [uri.split('?')[0] for _, uri in requests_log.requests]


def test_init_host_reads_the_cpc_once(driver, requests_log):
    """init_host reads the CPC, then lists the subset's partitions (for
    orphans); a second init_host lists again, the CPC stays read."""
    driver.init_host(hmc.HOST)
    assert paths(requests_log) == [CPC_URI, f'{CPC_URI}/partitions']
    driver.init_host(hmc.HOST)
    driver.get_available_resource(hmc.HOST)
    assert requests_log.requests.count(('GET', CPC_URI)) == 1


def test_init_host_at_the_cpc_limits(make_driver):
    # All 40 IFLs and all customer memory of CPC1 are allowed.
    driver = make_driver(config(max_processors=40, max_memory=2097152))
    driver.init_host(hmc.HOST)
    assert driver.get_available_resource(hmc.HOST)['vcpus'] == 40


def test_unknown_cpc_object_id(make_driver):
    unknown = 'deadbeef-7ed7-11ee-8a4c-0a00000000c1'
    driver = make_driver(config(cpc_object_id=unknown))
    with pytest.raises(ConfigurationError) as e:
        driver.init_host(hmc.HOST)
    message = str(e.value)
    assert message.startswith('[dpm] cpc_object_id: ')
    assert unknown in message
    assert endpoint().removeprefix('HMC ') in message


def test_cpc_not_in_dpm_mode(controls, driver):
    set_cpc(controls, **{'dpm-enabled': False})
    with pytest.raises(ConfigurationError) as e:
        driver.init_host(hmc.HOST)
    message = str(e.value)
    assert message.startswith('[dpm] cpc_object_id: ')
    assert f'CPC CPC1 ({hmc.CPC_ID}) is not in DPM mode' in message


@pytest.mark.parametrize('status', ['no-power', 'not-operating', 'service'])
def test_cpc_not_operating(controls, driver, status):
    set_cpc(controls, status=status)
    with pytest.raises(HypervisorUnreachable) as e:
        driver.init_host(hmc.HOST)
    message = str(e.value)
    assert message.startswith(f'{endpoint()}: ')
    assert f'CPC CPC1 ({hmc.CPC_ID}) is not operating' in message
    assert repr(status) in message


@pytest.mark.parametrize('status', ['operating', 'degraded',
                                    'service-required', 'exceptions'])
def test_cpc_operating_statuses_pass(controls, driver, requests_log,
                                     status):
    set_cpc(controls, status=status)
    driver.init_host(hmc.HOST)
    assert paths(requests_log) == [CPC_URI, f'{CPC_URI}/partitions']


def test_max_processors_above_the_cpc_ifls(make_driver):
    driver = make_driver(config(max_processors=41))
    with pytest.raises(ConfigurationError) as e:
        driver.init_host(hmc.HOST)
    assert str(e.value) == (f'[dpm] max_processors: 41 exceeds the 40 IFLs '
                            f'of CPC CPC1 ({hmc.CPC_ID})')


def test_max_processors_above_changed_cpc(controls, driver):
    set_cpc(controls, **{'processor-count-ifl': 16})
    with pytest.raises(ConfigurationError) as e:
        driver.init_host(hmc.HOST)
    assert 'max_processors: 20 exceeds the 16 IFLs' in str(e.value)


def test_max_memory_above_the_cpc_memory(make_driver):
    driver = make_driver(config(max_memory=2097152 + 1))
    with pytest.raises(ConfigurationError) as e:
        driver.init_host(hmc.HOST)
    assert str(e.value) == (
        f'[dpm] max_memory: 2097153 MiB exceeds the 2097152 MiB of customer '
        f'memory of CPC CPC1 ({hmc.CPC_ID})')


# HMC failures --------------------------------------------------------------


def test_hmc_unreachable_at_start(controls, driver):
    controls.call('POST', '/unavailable', {'seconds': 60})
    with pytest.raises(HypervisorUnreachable) as e:
        driver.init_host(hmc.HOST)
    message = str(e.value)
    assert message.startswith(f'{endpoint()}: reading the CPC failed: ')
    assert hmcsim.PASSWORD not in message


def test_hmc_unreachable_later_and_back(controls, make_driver):
    driver = make_driver(config(status_cache_seconds=0))
    driver.init_host(hmc.HOST)
    uuid = add_own('instance-00000001')
    controls.call('POST', '/unavailable', {'seconds': 60})
    for call, what in (
            (lambda: driver.get_available_resource(hmc.HOST),
             'reading the CPC status'),
            (lambda: driver.list_instances(), 'listing partitions'),
            (lambda: driver.get_info(instance(uuid), use_cache=False),
             'listing partitions')):
        with pytest.raises(HypervisorUnreachable) as e:
            call()
        message = str(e.value)
        assert message.startswith(f'{endpoint()}: {what} failed: ')
        assert hmcsim.PASSWORD not in message
    controls.call('DELETE', '/faults')
    assert driver.list_instances() == ['instance-00000001']


def test_hmc_server_error(controls, make_driver):
    driver = make_driver(config(status_cache_seconds=0))
    driver.init_host(hmc.HOST)
    controls.fault(method='GET', path='/partitions', status=500, reason=1,
                   message='internal error', times=1)
    with pytest.raises(HypervisorUnreachable) as e:
        driver.list_instances()
    assert str(e.value) == (f'{endpoint()}: listing partitions failed: '
                            'HTTP 500,1: internal error')
    assert driver.list_instances() == []


def test_open_session_brackets_ipv6_hosts():
    v6 = dpm_host.open_session(config(hmc=types.HostPort('fd00::1', 6795),
                                      hmc_ca_file=None))
    assert (v6.host, v6.port) == ('[fd00::1]', 6795)
    assert v6.verify_cert is True
    sim = dpm_host.open_session(config())
    assert sim.verify_cert == str(hmc.server().certs.ca_file)
    name = dpm_host.open_session(config(
        hmc=types.HostPort('hmc.example.com', 6794), hmc_ca_file=None,
        hmc_verify_cert=False))
    assert (name.host, name.port) == ('hmc.example.com', 6794)
    assert name.verify_cert is False
    assert name.userid == 'openstack'


# Resource accounting and instances -----------------------------------------


@pytest.fixture
def populated(driver):
    """Two partitions of this host and three decoys beside the foreign ones.

    Returns the uuids of this host's instances, by instance name.
    """
    own = {
        'instance-00000001': add_own('instance-00000001', ifls=4,
                                     memory=4096),
        'instance-00000002': add_own('instance-00000002', ifls=6,
                                     memory=8192, status='stopped'),
    }
    # A partition of another compute host on the same CPC.
    add_own('instance-00000003', host='other', ifls=10,
            memory=65536)
    # Named like ours, but not created by us.
    add_own('decoy-name', ifls=12, memory=100000,
            description='Imported workload, hands off')
    # Described as ours, but named for another host.
    add_own('decoy-description', ifls=14, memory=200000,
            name=naming.partition_name('other', uuidutils.generate_uuid()))
    return own


def test_available_resource_counts_own_partitions_only(driver, populated):
    resources = driver.get_available_resource(hmc.HOST)
    assert resources['vcpus'] == 20
    assert resources['memory_mb'] == 512 * 1024
    assert resources['vcpus_used'] == 6  # the largest: IFLs are shared
    assert resources['memory_mb_used'] == 4096 + 8192
    assert resources['local_gb'] == resources['local_gb_used'] == 0
    assert resources['hypervisor_type'] == 'prsm'
    assert resources['hypervisor_version'] == 2015000
    assert resources['hypervisor_hostname'] == hmc.HOST
    assert json.loads(resources['cpu_info']) == {
        'arch': 's390x', 'vendor': 'IBM', 'model': '8561'}
    assert resources['supported_instances'] == [('s390x', 'prsm', 'hvm')]


def test_uptime_is_unknown_without_asking_the_compute(driver):
    """The HMC tells no start time of a CPC.  The stats say so in Nova's
    own way: the resource tracker keeps 'uptime' None in the compute
    node's stats, and the hypervisor details (2.88+) show that instead of
    calling the driver's get_host_uptime."""
    resources = driver.get_available_resource(hmc.HOST)
    assert resources['stats'] == {'uptime': None}
    stats = compute_stats.Stats()
    stats.digest_stats(resources['stats'])
    node = objects.ComputeNode(stats=stats)
    assert 'uptime' in node.stats
    assert node.stats['uptime'] is None


def test_available_resource_of_an_empty_subset(driver):
    names = [p.name for p in hmc.faked_cpc().partitions.list()]
    assert sorted(names) == sorted(FOREIGN)  # the CPC is not empty
    resources = driver.get_available_resource(hmc.HOST)
    assert (resources['vcpus_used'], resources['memory_mb_used']) == (0, 0)


def test_available_resource_of_the_other_host(make_driver, populated):
    resources = make_driver(host='other').get_available_resource('other')
    assert resources['hypervisor_hostname'] == 'other'
    assert (resources['vcpus_used'], resources['memory_mb_used']) == (
        10, 65536)


def test_list_instances_returns_own_names_only(driver, populated):
    assert sorted(driver.list_instances()) == ['instance-00000001',
                                               'instance-00000002']


def test_get_available_nodes(driver):
    assert driver.get_available_nodes() == [hmc.HOST]


@pytest.mark.parametrize('status, state', [
    ('active', power_state.RUNNING),
    ('degraded', power_state.RUNNING),
    ('stopped', power_state.SHUTDOWN),
    ('paused', power_state.SHUTDOWN),
    ('reservation-error', power_state.SHUTDOWN),
    ('terminated', power_state.CRASHED),
    ('starting', power_state.NOSTATE),
    ('stopping', power_state.NOSTATE),
    ('communications-not-active', power_state.NOSTATE),
    ('status-check', power_state.NOSTATE),
    ('some-future-status', power_state.NOSTATE),
])
def test_get_info_power_state(driver, populated, status, state):
    uuid = add_own('instance-00000009', status=status)
    assert driver.get_info(instance(uuid)).state == state


def test_get_info_sees_status_changes(controls, driver, populated):
    uuid = populated['instance-00000001']
    assert driver.get_info(instance(uuid)).state == power_state.RUNNING
    [faked] = hmc.faked_cpc().partitions.list(
        {'name': re.escape(naming.partition_name(hmc.HOST, uuid))})
    controls.set_properties(faked.uri, status='stopped')
    assert driver.get_info(instance(uuid), use_cache=False).state == \
        power_state.SHUTDOWN


def test_get_info_of_a_missing_partition(driver, populated):
    uuid = uuidutils.generate_uuid()
    with pytest.raises(nova_exception.InstanceNotFound) as e:
        driver.get_info(instance(uuid))
    assert uuid in str(e.value)


def test_get_info_of_a_partition_not_ours(driver):
    # Our name for the uuid, but the description of another workload.
    uuid = add_own('x', description='OpenStack CPCSubset=other')
    with pytest.raises(nova_exception.InstanceNotFound):
        driver.get_info(instance(uuid))
    # The same uuid in another host's subset is not ours either.
    hmc.add_partition('other', uuid, 'y',
                      name=naming.partition_name('other', uuid))
    with pytest.raises(nova_exception.InstanceNotFound):
        driver.get_info(instance(uuid))


def test_host_name_prefix_of_another_host(make_driver, populated):
    """Host 'subset' must not take the partitions of host 'subset-1'."""
    # The name filter alone would match them: ownership needs both marks.
    assert re.fullmatch(naming.name_filter('subset'),
                        naming.partition_name('subset-1', 'u'))
    driver = make_driver(host='subset')
    assert driver.list_instances() == []
    assert driver.get_available_resource('subset')['memory_mb_used'] == 0
    with pytest.raises(nova_exception.InstanceNotFound):
        driver.get_info(instance(populated['instance-00000001']))


def test_host_name_with_regex_characters(make_driver):
    host = 'sub.set+1'
    own = add_own('mine', host=host, ifls=2, memory=2048)
    add_own('of-subsetX1', host='subsetX1', ifls=3, memory=3072)
    # Named for a host the unescaped pattern 'sub.set+1' would match, and
    # described as ours: only escaping the host name keeps it out.
    lookalike = 'subXsettt1'
    assert re.fullmatch(f'OpenStack-{host}-.*',
                        naming.partition_name(lookalike, 'u'))
    add_own('lookalike', ifls=4, memory=4096,
            name=naming.partition_name(lookalike,
                                       uuidutils.generate_uuid()),
            description=naming.description(host, 'lookalike'))
    driver = make_driver(host=host)
    assert driver.list_instances() == ['mine']
    resources = driver.get_available_resource(host)
    assert (resources['vcpus_used'], resources['memory_mb_used']) == (
        2, 2048)
    assert driver.get_info(instance(own)).state == power_state.RUNNING
    assert make_driver(host='subsetX1').list_instances() == ['of-subsetX1']


# Ownership marks -----------------------------------------------------------


@pytest.mark.parametrize('name_host, description, owned', [
    ('subset-1', 'OpenStack CPCSubset=subset-1 Instance=i-1', True),
    ('subset-1', 'OpenStack CPCSubset=subset-1', True),
    ('subset-1', 'OpenStack CPCSubset=subset-10 Instance=i-1', False),
    ('subset-1', 'OpenStack CPCSubset=subset Instance=i-1', False),
    ('subset-1', 'Production DB2', False),
    ('subset-1', 'CPCSubset=subset-1 Instance=i-1', False),
    ('subset-1', '', False),
    ('subset-1', None, False),
    # Both marks are needed: a list request's name filter is the HMC's
    # business, the driver checks the name again.
    ('other', 'OpenStack CPCSubset=subset-1 Instance=i-1', False),
    ('subset', 'OpenStack CPCSubset=subset-1 Instance=i-1', False),
])
def test_is_owned(name_host, description, owned):
    props = {'name': naming.partition_name(name_host,
                                           uuidutils.generate_uuid()),
             'description': description}
    assert naming.is_owned(props, 'subset-1') is owned


def test_is_owned_needs_a_name():
    assert not naming.is_owned(
        {'description': naming.description('subset-1', 'i-1')},
        'subset-1')


def test_instance_name_from_description():
    assert naming.instance_name(
        {'description': naming.description('h', 'instance-0000002a')}
    ) == 'instance-0000002a'
    assert naming.instance_name({'description': 'Production'}) is None
    assert naming.description('h', 'i-1') == (
        'OpenStack CPCSubset=h Instance=i-1')
    assert naming.partition_name('h', 'u-1') == 'OpenStack-h-u-1'


# HMC requests --------------------------------------------------------------


def test_one_list_answers_every_call_for_a_while(driver, populated,
                                                 requests_log):
    """After the CPC read, one partition list answers resource audits,
    power states and instance lists until status_cache_seconds pass:
    here the list init_host made."""
    driver.init_host(hmc.HOST)
    uuid = populated['instance-00000001']
    for call in (lambda: driver.get_available_resource(hmc.HOST),
                 lambda: driver.get_info(instance(uuid)),
                 driver.list_instances, driver.get_num_instances,
                 driver.list_instance_uuids,
                 lambda: driver.get_available_resource(hmc.HOST)):
        call()
    lists = [uri for method, uri in requests_log.requests
             if uri.startswith(f'{CPC_URI}/partitions?')]
    assert len(lists) == 1
    assert 'additional-properties=description,ifl-processors,' in lists[0]
    # Besides the CPC read, each resource audit reads the CPC's status.
    assert [uri for _, uri in requests_log.requests if uri not in lists] \
        == [CPC_URI] + [f'{CPC_URI}?properties=status'] * 2


def test_use_cache_false_asks_the_hmc(driver, populated, requests_log):
    uuid = populated['instance-00000001']
    driver.get_info(instance(uuid))
    requests_log.clear()
    driver.get_info(instance(uuid), use_cache=False)
    assert len(requests_log.requests) == 1


def test_cache_expires(make_driver, populated, requests_log):
    driver = make_driver(config(status_cache_seconds=0))
    uuid = populated['instance-00000001']
    driver.get_info(instance(uuid))
    driver.get_info(instance(uuid))
    assert [r[1].split('?')[0] for r in requests_log.requests] == [
        CPC_URI, f'{CPC_URI}/partitions', f'{CPC_URI}/partitions']


def test_request_count_does_not_grow_with_partitions(make_driver,
                                                     requests_log):
    driver = make_driver(config(status_cache_seconds=0))
    driver.init_host(hmc.HOST)
    for i in range(12):
        add_own(f'instance-{i:08x}', ifls=1, memory=1024)
    requests_log.clear()
    resources = driver.get_available_resource(hmc.HOST)
    assert resources['memory_mb_used'] == 12 * 1024
    assert [r[1].split('?')[0] for r in requests_log.requests] == [
        CPC_URI, f'{CPC_URI}/partitions']     # CPC status, partitions


def test_cpc_down_is_not_ready_not_empty(controls, driver, populated):
    """A CPC that stops operating fails the resource audit (the host is
    not ready) instead of reporting zero resources."""
    assert driver.get_available_resource(hmc.HOST)['vcpus'] == 20
    set_cpc(controls, status='not-operating')
    with pytest.raises(HypervisorUnreachable) as e:
        driver.get_available_resource(hmc.HOST)
    assert "is not operating (status 'not-operating')" in str(e.value)
    assert 'not ready' in str(e.value)
    set_cpc(controls, status='active')
    assert driver.get_available_resource(hmc.HOST)['vcpus'] == 20


def test_first_call_reads_cpc_then_lists(driver, populated, requests_log):
    """Without init_host, the first call reads the CPC on its way."""
    uuid = populated['instance-00000002']
    assert driver.get_info(instance(uuid)).state == power_state.SHUTDOWN
    assert [r[1].split('?')[0] for r in requests_log.requests] == [
        CPC_URI, f'{CPC_URI}/partitions']
