# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The z/VM driver's parts against the Cloud Connector simulator over HTTP."""

import concurrent.futures
import json
import socket
import time

from nova.compute import power_state
from nova.compute import provider_tree
from nova.compute import task_states
from nova import exception as nova_exception
from nova import objects
import nova.conf
from oslo_utils import uuidutils
import pytest
import requests
import requests_mock

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.common.exception import HypervisorUnreachable
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.sim import tls
from nova_ibmz.sim.zvm import faults as zvm_faults
from nova_ibmz.sim.zvm import guests as sim_guests
from nova_ibmz.sim.zvm import images as sim_images
from nova_ibmz.zvm import client
from nova_ibmz.zvm import driver as zvm_driver
from nova_ibmz.zvm import guest
from nova_ibmz.zvm import host as zvm_host
from nova_ibmz.zvm import image
from tests import connector
from tests import zvmsim
from tests.zvmsim import add_guest

objects.register_all()

CONF = nova.conf.CONF


class Traffic:
    """The HTTP requests one CloudConnector sent, with their answers."""

    def __init__(self, cc):
        self.exchanges = []
        cc._http.hooks['response'].append(self._record)

    def _record(self, resp, *args, **kwargs):
        req = resp.request
        self.exchanges.append({
            'method': req.method,
            'path': req.path_url.split('?')[0],
            'admin_token': req.headers.get('X-Admin-Token'),
            'auth_token': req.headers.get('X-Auth-Token'),
            'status': resp.status_code,
            'issued': resp.headers.get('X-Auth-Token'),
        })

    def summary(self):
        return [(x['method'], x['path'], x['status'])
                for x in self.exchanges]


def name_host(sim, name):
    """Give the simulated z/VM system another name (before any guest
    logs on to it)."""
    with sim.model.lock:
        system = sim.model.members.pop(sim.member_name)
        system.name = name
        sim.model.members[name] = system
    sim.member_name = name
    return system


@pytest.fixture
def traffic(cc):
    return Traffic(cc)


@pytest.fixture
def driver(sim):
    # connector.driver() gives the shared simulator a new, empty model.
    return connector.driver(None)


@pytest.fixture
def zvm_names():
    """Instance names z/VM can take, as an operator must configure them."""
    CONF.set_override('instance_name_template', 'os%06x')
    yield
    CONF.clear_override('instance_name_template')


def instance(instance_id):
    return objects.Instance(id=instance_id, uuid=uuidutils.generate_uuid())


def closed_port_url():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return f'http://127.0.0.1:{port}'


# Auth tokens ---------------------------------------------------------------


def test_token_exchange_then_token_on_every_request(cc, traffic):
    assert cc.get('/guests') == []
    assert cc.get('/host')['zvm_host'] == 'ZVMSIM1'
    assert traffic.summary() == [('POST', '/token', 200),
                                 ('GET', '/guests', 200),
                                 ('GET', '/host', 200)]
    token_exchange, first, second = traffic.exchanges
    assert token_exchange['admin_token'] == connector.ADMIN_TOKEN
    assert token_exchange['issued']
    for request in (first, second):
        assert request['auth_token'] == token_exchange['issued']
        assert request['admin_token'] is None  # the secret stays home


def test_expired_token_is_renewed_once(sim, cc, traffic):
    cc.get('/host')
    old_token = traffic.exchanges[0]['issued']
    traffic.exchanges.clear()
    with sim.model.lock:
        sim.model.token_generation += 1     # every token expires
    assert cc.get('/guests') == []
    assert traffic.summary() == [('GET', '/guests', 401),
                                 ('POST', '/token', 200),
                                 ('GET', '/guests', 200)]
    refused, renewal, retried = traffic.exchanges
    assert refused['auth_token'] == old_token
    assert renewal['issued'] not in (None, old_token)
    assert retried['auth_token'] == renewal['issued']
    # The new token serves the next request without another exchange.
    traffic.exchanges.clear()
    cc.get('/guests')
    assert traffic.summary() == [('GET', '/guests', 200)]


def test_token_refused_after_renewal_is_not_retried_again(
        sim, cc, traffic, monkeypatch):
    monkeypatch.setattr(sim, 'token_valid', lambda token: False)
    with pytest.raises(ConfigurationError) as e:
        cc.get('/host')
    assert traffic.summary() == [('POST', '/token', 200),
                                 ('GET', '/host', 401),
                                 ('POST', '/token', 200),
                                 ('GET', '/host', 401)]
    message = str(e.value)
    assert message.startswith('[zvm] admin_token_file: ')
    assert 'GET /host' in message
    assert connector.ADMIN_TOKEN not in message


def test_wrong_admin_token(sim):
    wrong = 'not-the-admin-token-4711'
    cc = connector.client(sim.url, admin_token=wrong)
    traffic = Traffic(cc)
    with pytest.raises(ConfigurationError) as e:
        cc.get('/host')
    assert traffic.summary() == [('POST', '/token', 401)]
    message = str(e.value)
    assert message.startswith('[zvm] admin_token_file: ')
    assert sim.url in message
    assert 'HTTP 401' in message
    assert wrong not in message
    assert connector.ADMIN_TOKEN not in message


def test_no_admin_token_against_a_token_server(sim):
    cc = connector.client(sim.url, admin_token=None)
    traffic = Traffic(cc)
    with pytest.raises(ConfigurationError) as e:
        cc.get('/host')
    assert traffic.summary() == [('GET', '/host', 401)]
    assert str(e.value).startswith('[zvm] admin_token_file: ')


def test_auth_none_sends_no_token():
    url = 'http://zcc.example.org:8080'
    cc = client.CloudConnector(url + '/', timeout=10, backoff=0.01)
    with requests_mock.Mocker() as m:
        m.get(url + '/guests', json={'overallRC': 0, 'rc': 0, 'rs': 0,
                                     'modID': 0, 'errmsg': '',
                                     'output': ['OS000001']})
        assert cc.get('/guests') == ['OS000001']
        [request] = m.request_history
    assert request.url == url + '/guests'
    assert 'X-Auth-Token' not in request.headers
    assert 'X-Admin-Token' not in request.headers


# Unreachable and unexpected answers ----------------------------------------


@pytest.mark.parametrize('admin_token', [connector.ADMIN_TOKEN, None])
def test_connector_down(admin_token):
    url = closed_port_url()
    cc = client.CloudConnector(url, admin_token=admin_token, timeout=10,
                               backoff=0.01)
    with pytest.raises(HypervisorUnreachable) as e:
        cc.get('/host')
    message = str(e.value)
    assert message.startswith(f'{url}: ')
    assert 'failed' in message
    assert connector.ADMIN_TOKEN not in message


@pytest.mark.parametrize('answer', [
    {'status_code': 502, 'text': '<html><h1>502 Bad Gateway</h1></html>'},
    {'status_code': 200, 'text': ''},
    {'status_code': 200, 'json': ['not', 'an', 'envelope']},
    {'status_code': 200, 'text': 'null'},
])
def test_answer_without_envelope(answer):
    url = 'http://zcc.example.org:8080'
    cc = client.CloudConnector(url, timeout=10, backoff=0.01)
    with requests_mock.Mocker() as m:
        m.get(url + '/host', **answer)
        with pytest.raises(HypervisorUnreachable) as e:
            cc.get('/host')
    message = str(e.value)
    assert message.startswith(
        f'{url}: GET /host: HTTP {answer["status_code"]} without a JSON '
        f'envelope: ')
    if 'text' in answer:
        assert repr(answer['text'][:200]) in message


def test_not_found_keeps_the_connector_codes(sim, cc):
    # In the connector's database but gone from the directory: the SDK's
    # own 404 for it (rs 3).
    with sim.model.lock:
        sim.member.registry.append('NOSUCH')
    with pytest.raises(client.ConnectorNotFound) as e:
        cc.get('/guests/NOSUCH/power_state')
    error = e.value
    assert isinstance(error, client.ConnectorError)
    assert (error.status, error.overall_rc, error.rc, error.rs,
            error.mod_id) == (404, 404, 404, 3, 10)
    assert "'NOSUCH'" in error.errmsg
    assert str(error).startswith(
        'GET /guests/NOSUCH/power_state: HTTP 404, overallRC 404 rc 404 rs 3 '
        'modID 10: ')


def test_unknown_route_is_an_answer_without_envelope(sim, cc):
    """The real server's routing answers webob's 404 page, which is HTML
    for the Accept: */* that requests sends: no envelope."""
    with pytest.raises(HypervisorUnreachable) as e:
        cc.get('/no/such/route')
    assert str(e.value).startswith(
        f"{sim.url}: GET /no/such/route: HTTP 404 without a JSON envelope: "
        f"'<html>")


@pytest.mark.parametrize('status, rcs, not_found', [
    (409, (8, 400, 8, 1), False),   # guest exists
    (200, (300, 300, 5, 10), False),  # an error envelope in an HTTP 200
    (404, (404, 404, 1, 40), True),   # image missing
    (500, (0, 0, 0, 0), False),       # an HTTP error with a clean envelope
])
def test_error_envelopes(status, rcs, not_found):
    url = 'http://zcc.example.org:8080'
    cc = client.CloudConnector(url, timeout=10, backoff=0.01)
    body = dict(zip(('overallRC', 'rc', 'rs', 'modID'), rcs),
                errmsg='failed', output='')
    with requests_mock.Mocker() as m:
        m.post(url + '/guests', status_code=status, text=json.dumps(body))
        with pytest.raises(client.ConnectorError) as e:
            cc.post('/guests', {'guest': {'userid': 'OS000001'}})
        assert m.request_history[0].json() == {
            'guest': {'userid': 'OS000001'}}
    assert isinstance(e.value, client.ConnectorNotFound) is not_found
    assert (e.value.status, e.value.overall_rc, e.value.rc, e.value.rs,
            e.value.mod_id) == (status, *rcs)
    assert e.value.errmsg == 'failed'


# Retries -------------------------------------------------------------------


def add_fault(sim, **rule):
    sim.log.clear()
    with sim.model.lock:
        sim.model.faults.add(zvm_faults.parse_rule(rule))


def test_throttled_request_is_repeated(sim, cc, traffic):
    add_fault(sim, method='POST', path='^/guests$', times=2, status=503)
    cc.post('/guests', {'guest': {'userid': 'OS000001', 'vcpus': 1,
                                  'memory': 1024}})
    assert [x for x in traffic.summary() if x[1] == '/guests'] == [
        ('POST', '/guests', 503), ('POST', '/guests', 503),
        ('POST', '/guests', 200)]
    assert 'OS000001' in cc.get('/guests')


def test_throttled_until_the_retries_run_out(sim, cc, traffic):
    add_fault(sim, method='GET', path='^/host$', status=503)
    with pytest.raises(client.ConnectorError) as e:
        cc.get('/host')
    assert e.value.status == 503
    assert traffic.summary().count(('GET', '/host', 503)) == 4


def test_lost_connection_repeats_a_get(sim, cc):
    add_fault(sim, method='GET', path='^/host$', times=1, drop=True)
    assert cc.get('/host')['zvm_host'] == 'ZVMSIM1'
    assert [e['status'] for e in sim.log.since(0)
            if e['path'] == '/host'] == [0, 200]


def test_lost_connection_does_not_repeat_a_post(sim, cc):
    add_fault(sim, method='POST', path='^/guests$', times=1, drop=True)
    with pytest.raises(HypervisorUnreachable):
        cc.post('/guests', {'guest': {'userid': 'OS000001', 'vcpus': 1,
                                      'memory': 1024}})
    assert [e['status'] for e in sim.log.since(0)
            if e['path'] == '/guests'] == [0]


def test_no_retries(sim):
    cc = client.CloudConnector(sim.url, admin_token=connector.ADMIN_TOKEN,
                               timeout=10, retries=0)
    add_fault(sim, method='GET', path='^/host$', times=1, status=503)
    with pytest.raises(client.ConnectorError):
        cc.get('/host')
    assert cc.get('/host')['zvm_host'] == 'ZVMSIM1'


# Guests --------------------------------------------------------------------


@pytest.mark.parametrize('use_cache', [True, False])
@pytest.mark.parametrize('cp_state, state', [
    ('on', power_state.RUNNING),
    ('paused', power_state.RUNNING),    # the connector says "on"
    ('off', power_state.SHUTDOWN),
])
def test_get_info(sim, driver, zvm_names, cp_state, state, use_cache):
    add_guest(sim.model, 'OS000001', 2, 2048, state=cp_state)
    add_guest(sim.model, 'OS000002', 1, 1024,
              state='on' if cp_state == 'off' else 'off')
    assert driver.get_info(instance(1), use_cache=use_cache).state == state


def test_get_info_of_an_unknown_state(sim, driver, zvm_names, monkeypatch):
    """A state the connector of 1.6.3 never answers (it knows on and off
    only): the driver must not guess."""
    monkeypatch.setattr(sim_guests, 'power_state',
                        lambda guest, member: 'unknown')
    add_guest(sim.model, 'OS000001', 2, 2048, state='on')
    assert driver.get_info(instance(1), use_cache=False).state == \
        power_state.NOSTATE


def test_get_info_paused_by_nova(sim, driver, zvm_names):
    """CP reports a stopped guest as logged on; pause() records it."""
    add_guest(sim.model, 'OS000001', 2, 2048, state='on')
    paused = instance(1)
    paused.system_metadata = {}
    driver.pause(paused)
    assert paused.system_metadata == {guest.PAUSED_KEY: 'True'}
    assert sim.model.guest('OS000001').state == 'paused'
    assert driver.get_info(paused).state == power_state.PAUSED
    driver.unpause(paused)
    assert driver.get_info(paused).state == power_state.RUNNING
    assert paused.system_metadata == {}


def test_get_info_follows_the_guest(sim, driver, zvm_names, monkeypatch):
    add_guest(sim.model, 'OS00001F', 2, 2048, state='off')
    assert driver.get_info(instance(31)).state == power_state.SHUTDOWN
    with sim.model.lock:
        sim_guests.set_state(sim.model, sim.model.guest('os00001f'),
                             sim.member, 'on')
    # Asked, the connector tells at once; the cache, when it is renewed.
    assert driver.get_info(instance(31), use_cache=False).state == \
        power_state.RUNNING
    with sim.model.lock:
        sim_guests.set_state(sim.model, sim.model.guest('os00001f'),
                             sim.member, 'off')
    assert driver.get_info(instance(31)).state == power_state.RUNNING
    monkeypatch.setattr(guest, 'STATE_TTL', 0)
    assert driver.get_info(instance(31)).state == power_state.SHUTDOWN


def test_power_state_sync_costs_one_request(sim, driver, zvm_names):
    """get_info for every instance, as Nova's periodic sync asks: one GET
    /guests/stats for all, not one request per guest."""
    for n in range(1, 9):
        add_guest(sim.model, f'OS{n:06X}', state='on' if n % 2 else 'off')
    driver.list_instances()
    sim.log.clear()
    # What nova's _sync_power_states asks: the count, then each state.
    assert driver.get_num_instances() == 8
    states = [driver.get_info(instance(n)).state for n in range(1, 9)]
    assert states == [power_state.RUNNING, power_state.SHUTDOWN] * 4
    assert [(e['method'], e['path'].split('?')[0])
            for e in sim.log.since(0)] == [('GET', '/guests/stats')]


def stats_requests(sim):
    return [e['path'] for e in sim.log.since(0)
            if e['path'].split('?')[0] == '/guests/stats']


def test_threads_of_the_sync_share_one_refresh(sim, driver, zvm_names,
                                               monkeypatch):
    """Nova's sync asks from a pool of threads: when the cached states
    expire, one of them reads them (slowly here), the others wait for
    that answer instead of each sending the same request."""
    for n in range(1, 21):
        add_guest(sim.model, f'OS{n:06X}', state='on')
    driver.list_instances()
    monkeypatch.setattr(guest, 'STATE_TTL', 5.0)
    add_fault(sim, method='GET', path='^/guests/stats', times=1,
              latency_ms=300)
    pool = concurrent.futures.ThreadPoolExecutor(5)
    states = list(pool.map(lambda n: driver.get_info(instance(n)).state,
                           range(1, 21)))
    pool.shutdown()
    assert states == [power_state.RUNNING] * 20
    assert len(stats_requests(sim)) == 1


def test_states_of_many_guests_are_read_in_short_urls(sim, driver,
                                                      zvm_names):
    """No request line longer than common front ends accept (8 KiB),
    however many guests: 1,300 guests take three requests."""
    for n in range(1, 1301):
        add_guest(sim.model, f'OS{n:06X}', state='on' if n % 3 else 'off',
                  root='1m')
    driver.list_instances()
    sim.log.clear()
    states = [driver.get_info(instance(n)).state for n in (1, 3, 1300)]
    assert states == [power_state.RUNNING, power_state.SHUTDOWN,
                      power_state.RUNNING]
    paths = stats_requests(sim)
    assert len(paths) == 3
    assert max(len(p) for p in paths) < 8192 - len('GET  HTTP/1.1')


def test_get_info_of_a_missing_guest(sim, driver, zvm_names):
    add_guest(sim.model, 'OS000001', 2, 2048, state='on')
    # Defined and logged on, but not the connector's: missing too.
    add_guest(sim.model, 'OS000002', 2, 2048, state='on', managed=False)
    missing = instance(2)
    with pytest.raises(nova_exception.InstanceNotFound) as e:
        driver.get_info(missing)
    assert missing.uuid in str(e.value)


def test_userid_is_upper_case(zvm_names):
    assert guest.userid(instance(0xabc)) == 'OS000ABC'


def test_list_instances_lower_case(sim, driver, zvm_names):
    assert driver.list_instances() == []
    for userid in ('OS00000A', 'OS000001'):
        add_guest(sim.model, userid)
    add_guest(sim.model, 'OS0000FE', managed=False)   # someone else's
    # In no particular order: the real connector lists a set difference.
    assert sorted(driver.list_instances()) == ['os000001', 'os00000a']


def test_guests_names_through_the_client(sim, cc, zvm_names):
    add_guest(sim.model, 'OS0000FF', state='on')
    assert guest.Guests(cc).names() == ['os0000ff']


# The z/VM host -------------------------------------------------------------


@pytest.fixture
def host_reads(sim, driver):
    """How many GET /host requests the simulator answers from now on.

    After the driver fixture, which gives the simulator its model.
    """
    logged = sim.log.since()
    seq = logged[-1]['seq'] if logged else 0

    def count():
        return sum(1 for e in sim.log.since(seq)
                   if (e['method'], e['path']) == ('GET', '/host'))
    return count


def test_get_available_resource_from_get_host(sim, driver, host_reads):
    system = name_host(sim, 'ZVMTEST2')
    with sim.model.lock:
        system.vcpus, system.memory_mb, system.version = 12, 65536, '7.4.0'
        # The connector's disk pool: 500 GB of 1457 cylinders each.
        sim.model.pools['ECKD:POOL1'].total_units = 500 * 1457
    # Root disks of 10 GB, 14,564 cylinders each: 30 GB in use.
    add_guest(sim.model, 'OS000001', 2, 2048, state='on', root='10g',
              member=system.name)
    add_guest(sim.model, 'OS000002', 3, 4096, state='on', root='10g',
              member=system.name)
    add_guest(sim.model, 'OS000003', 8, 8192, state='off', root='10g',
              member=system.name)
    resources = driver.get_available_resource('ZVMTEST2')
    assert host_reads() == 1
    assert {k: v for k, v in resources.items()
            if k not in ('cpu_info', 'uuid')} == {
        'vcpus': 12,
        'memory_mb': 65536,
        'local_gb': 500,
        'vcpus_used': 5,
        'memory_mb_used': 6144,
        'local_gb_used': 30,
        'hypervisor_type': 'zvm',
        'hypervisor_version': 740,
        'hypervisor_hostname': 'ZVMTEST2',
        'disk_available_least': 470,
        'supported_instances': [('s390x', 'zvm', 'hvm')],
        'numa_topology': None,
    }
    assert json.loads(resources['cpu_info']) == {
        'architecture': 's390x', 'cec_model': '8561'}
    # The node's uuid, the same get_nodenames_by_uuid gives.
    assert driver.get_nodenames_by_uuid() == {resources['uuid']: 'ZVMTEST2'}


def test_get_available_nodes_is_the_system_name(sim, driver, host_reads):
    name_host(sim, 'ZVMNODE7')
    assert driver.get_available_nodes() == ['ZVMNODE7']
    assert driver.get_available_nodes(refresh=True) == ['ZVMNODE7']
    assert host_reads() == 1  # read once, then kept


def test_node_name_comes_with_the_first_host_read(sim, cc, traffic):
    zvm = zvm_host.ZVMHost(cc)
    name_host(sim, 'ZVMNODE8')
    assert zvm.resources()['hypervisor_hostname'] == 'ZVMNODE8'
    assert zvm.node == 'ZVMNODE8'
    assert [x[:2] for x in traffic.summary()] == [('POST', '/token'),
                                                  ('GET', '/host')]


def test_init_host(sim, driver, zvm_names, host_reads):
    assert driver.init_host('compute-1') is None
    assert host_reads() == 1


def test_init_host_rejects_nova_default_template(driver, host_reads):
    CONF.set_override('instance_name_template', 'instance-%08x')
    try:
        with pytest.raises(ConfigurationError) as e:
            driver.init_host('compute-1')
    finally:
        CONF.clear_override('instance_name_template')
    assert 'instance_name_template' in str(e.value)
    assert host_reads() == 0  # checked before asking the connector


def test_init_host_connector_down(zvm_names):
    url = closed_port_url()
    driver = zvm_driver.ZVMDriver(None, config=connector.config(url))
    with pytest.raises(HypervisorUnreachable) as e:
        driver.init_host('compute-1')
    assert str(e.value).startswith(f'{url}: ')


# instance_name_template ----------------------------------------------------


@pytest.mark.parametrize('template', ['os%06x', 'i%07x', 'z%x', '$%06x'])
def test_name_template_accepted(template):
    assert guest.check_name_template(template) is None


def test_name_template_too_long():
    with pytest.raises(ConfigurationError) as e:
        guest.check_name_template('instance-%08x')
    message = str(e.value)
    assert message.startswith('[DEFAULT] instance_name_template: ')
    assert "'instance-00000001'" in message
    assert 'os%06x' in message  # says what would work


def test_name_template_too_long_for_large_ids():
    with pytest.raises(ConfigurationError) as e:
        guest.check_name_template('os%d')  # os1 ... os16777215
    assert "'os16777215' for instance id 16777215" in str(e.value)


def test_name_template_upper_case():
    with pytest.raises(ConfigurationError) as e:
        guest.check_name_template('OS%06X')
    assert 'instance_name_template' in str(e.value)
    assert "'OS000001'" in str(e.value)


@pytest.mark.parametrize('template', ['fixed', 'os-%(uuid)s', 'os%06q'])
def test_name_template_without_usable_format(template):
    with pytest.raises(ConfigurationError) as e:
        guest.check_name_template(template)
    message = str(e.value)
    assert message.startswith('[DEFAULT] instance_name_template: ')
    assert repr(template) in message


@pytest.mark.parametrize('template', ['os%05x\n', 'o s%05x', '_os%05x'])
def test_name_template_bad_characters(template):
    with pytest.raises(ConfigurationError) as e:
        guest.check_name_template(template)
    assert repr(template) in str(e.value)


# Evacuation: a guest of the instance's name left in the shared directory --


def evacuating(instance_id):
    inst = instance(instance_id)
    inst.task_state = task_states.REBUILD_SPAWNING
    inst.flavor = objects.Flavor(vcpus=1, memory_mb=1024)
    inst.system_metadata = {'image_os_distro': 'rhel8.6'}
    return inst


def test_evacuation_takes_over_the_instances_guest(sim, driver,
                                                   zvm_names):
    """Marked with this instance's uuid (by the spawn on the failed
    member): registered here, deleted and defined anew."""
    inst = evacuating(1)
    add_guest(sim.model, 'OS000001', managed=False, root='3g')
    with sim.model.lock:
        sim.model.guest('OS000001').comments = [
            guest.owner_mark(inst).upper()]
    driver._builds._define(inst, 'OS000001',
                           [{'size': '1g', 'is_boot_disk': True}])
    new = sim.model.guest('OS000001')
    assert [d.units for d in new.disks.values()] == [1457]   # 1g, anew
    assert sim.member.registry == ['OS000001']
    assert driver.list_instance_uuids() == [inst.uuid]


def test_evacuation_never_takes_another_workloads_guest(sim, driver,
                                                        zvm_names):
    """Same name, no mark of this instance: refused, and the guest is
    neither registered nor changed."""
    inst = evacuating(1)
    add_guest(sim.model, 'OS000001', managed=False, state='off')
    before = sim.model.to_json()
    with pytest.raises(InstanceSetupError) as e:
        driver._builds._define(inst, 'OS000001',
                               [{'size': '1g', 'is_boot_disk': True}])
    assert 'OS000001' in str(e.value)
    assert sim.model.to_json() == before
    assert driver.list_instance_uuids() == []


# Guests of other workloads ---------------------------------------------------


@pytest.mark.parametrize('call', [
    lambda d, i: d.finish_revert_migration(None, i, [], None),
    lambda d, i: d.finish_migration(
        None, objects.Migration(source_compute='zvm-1', dest_compute='zvm-2'),
        i, None, [], None, True, {}),
    lambda d, i: d.post_live_migration_at_destination(None, i, []),
], ids=['finish_revert_migration', 'finish_migration',
        'post_live_migration_at_destination'])
def test_taking_over_needs_the_mark(sim, driver, zvm_names, call):
    """A guest of the instance's name that no spawn of this instance
    marked is another workload's: refused, the cluster unchanged."""
    add_guest(sim.model, 'OS000002', 2, 2048, state='on', managed=False)
    before = sim.model.to_json()
    inst = evacuating(2)
    with pytest.raises(InstanceSetupError) as e:
        call(driver, inst)
    assert 'OS000002 is not marked' in str(e.value)
    assert sim.model.to_json() == before


def test_destroy_leaves_another_workloads_guest_alone(sim, driver,
                                                      zvm_names):
    add_guest(sim.model, 'OS000002', 2, 2048, state='on', managed=False)
    before = sim.model.to_json()
    inst = instance(2)
    inst.task_state, inst.host = None, None
    driver.destroy(None, inst, [])
    assert sim.model.to_json() == before


# TLS and timeouts ----------------------------------------------------------


def test_tls_with_the_connectors_ca_file(tmp_path, monkeypatch):
    """HTTPS verified against the CA file ([zvm] ca_file), even when
    REQUESTS_CA_BUNDLE names another; without it the system's CAs do not
    know the connector: a clear error, no token."""
    certs = tls.ensure(tmp_path / 'certs', 'nova-ibmz tests')
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', requests.certs.where())
    with zvmsim.serve(tmp_path, certs=certs) as [server]:
        assert server.url.startswith('https://')
        verified = connector.client(server.url, zvmsim.ADMIN_TOKEN,
                                    verify=str(certs.ca_file))
        assert verified.get('/host')['zvm_host'] == 'ZVMSIM1'
        unverified = connector.client(server.url, zvmsim.ADMIN_TOKEN,
                                      retries=0)
        with pytest.raises(HypervisorUnreachable) as e:
            unverified.get('/host')
        assert 'CERTIFICATE_VERIFY_FAILED' in str(e.value)
        assert zvmsim.ADMIN_TOKEN not in str(e.value)


def test_a_connector_that_does_not_answer_times_out():
    """A server that accepts and never answers: the request ends after
    the timeout, as unreachable."""
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen()
        url = f'http://127.0.0.1:{listener.getsockname()[1]}'
        cc = client.CloudConnector(url, timeout=0.3, retries=0)
        start = time.monotonic()
        with pytest.raises(HypervisorUnreachable) as e:
            cc.get('/host')
        assert time.monotonic() - start < 5
        assert 'timed out' in str(e.value)


def test_inventory_right_after_the_resources_reads_the_host_once(
        sim, driver, host_reads):
    """The resource tracker asks get_available_resource, then
    update_provider_tree: one GET /host serves both."""
    resources = driver.get_available_resource('ZVMSIM1')
    tree = provider_tree.ProviderTree()
    tree.new_root('ZVMSIM1', resources['uuid'])
    driver.update_provider_tree(tree, 'ZVMSIM1')
    inventory = tree.data('ZVMSIM1').inventory
    assert (inventory['VCPU']['total'], inventory['MEMORY_MB']['total'],
            inventory['DISK_GB']['total']) == (
        resources['vcpus'], resources['memory_mb'], resources['local_gb'])
    assert host_reads() == 1


# Images -----------------------------------------------------------------


def test_a_boot_of_a_known_image_asks_the_connector_nothing(
        sim, cc, tmp_path):
    """The first boot of an image reads its record; later ones take it
    from memory; one this host deleted is asked for again."""
    name = uuidutils.generate_uuid()
    source = tmp_path / 'root.img'
    source.write_bytes(sim_images.header(3338, 'ECKD') + bytes(512))
    spec = {'image': {'image_name': name, 'url': f'file://{source}',
                      'image_meta': {'os_version': 'rhel8.6'}}}
    cc.post('/images', spec)
    repository = image.Images(cc, str(tmp_path), 'nova@127.0.0.1')
    meta = objects.ImageMeta.from_dict(
        {'id': name, 'properties': {'os_distro': 'rhel8.6'}})
    sim.log.clear()
    first = repository.ensure(None, meta)
    assert repository.ensure(None, meta) == first
    assert first[:2] == (name, 'ECKD')
    assert [e['path'].split('?')[0] for e in sim.log.since(0)] == [
        '/images']
    repository.delete(name)
    assert not repository.exists(name)
    cc.post('/images', spec)
    sim.log.clear()
    assert repository.ensure(None, meta) == first
    assert [e['path'].split('?')[0] for e in sim.log.since(0)] == [
        '/images']
