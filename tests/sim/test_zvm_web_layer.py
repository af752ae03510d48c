# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The simulator's web layer against the real one.

Every request here goes to the simulator over HTTP and to the real
connector's own web application (tests.zvmsim.RealWebLayer: zvmsdk's
handlers, schemas and validator, with the SDK server behind them only
recorded).  What the real web layer answers without asking the SDK (its
validation of bodies, queries and path parameters, malformed JSON, its
handlers' crashes, webob's pages) the simulator must answer exactly, same
status and same body; what the real one passes on to the SDK the
simulator must not refuse in the web layer.

The requests are each route's valid body, then that body broken in every
way its schema allows: a field of each wrong type, an unknown field, a
required field missing; and bodies that are no JSON object at all.
"""

import copy
import json

import pytest
from zvmsdk.sdkwsgi.schemas import guest as guest_schemas
from zvmsdk.sdkwsgi.schemas import image as image_schemas
from zvmsdk.sdkwsgi.schemas import volume as volume_schemas
from zvmsdk.sdkwsgi.schemas import vswitch as vswitch_schemas

from tests import zvmsim
from tests.zvmsim import ok
from tests.zvmsim import sdk_error
from tests.zvmsim import web_error

JSON = 'application/json'
CONNECTION = {'assigner_id': 'G1', 'zvm_fcp': ['1a00'],
              'target_wwpn': ['5005076812345678'],
              'target_lun': '0000000000000000', 'os_version': 'rhel8',
              'multipath': True, 'mount_point': '/dev/sdb',
              'is_root_volume': False, 'update_connections_only': False}
# (method, path, the body's schema, a valid body)
BODY_ROUTES = [
    ('POST', '/guests', guest_schemas.create, {'guest': {
        'userid': 'G2', 'vcpus': 1, 'memory': 1024,
        'disk_list': [{'size': '1g', 'is_boot_disk': True}]}}),
    ('POST', '/guests/G1/disks', guest_schemas.create_disks,
     {'disk_info': {'disk_list': [{'size': '1g'}]}}),
    ('DELETE', '/guests/G1/disks', guest_schemas.delete_disks,
     {'vdev_info': {'vdev_list': ['0101']}}),
    ('PUT', '/guests/G1/disks', guest_schemas.config_minidisks,
     {'disk_info': {'disk_list': [{'vdev': '0100', 'format': 'ext4',
                                   'mntdir': '/mnt/a'}]}}),
    ('POST', '/guests/G1/nic', guest_schemas.create_nic,
     {'nic': {'vdev': '1000'}}),
    ('PUT', '/guests/G1/nic/1000', guest_schemas.nic_couple_uncouple,
     {'info': {'couple': True, 'vswitch': 'VSWITCH1'}}),
    ('POST', '/guests/G1/interface', guest_schemas.create_network_interface,
     {'interface': {'os_version': 'rhel8', 'guest_networks': [
         {'ip_addr': '10.0.0.2', 'cidr': '10.0.0.0/24'}]}}),
    ('DELETE', '/guests/G1/interface',
     guest_schemas.delete_network_interface,
     {'interface': {'os_version': 'rhel8', 'vdev': '1000'}}),
    ('POST', '/images', image_schemas.create, {'image': {
        'image_name': 'img1', 'url': 'file:///nonexist',
        'image_meta': {'os_version': 'rhel8'}}}),
    ('PUT', '/images/img1', image_schemas.export,
     {'location': {'dest_url': 'file:///tmp/x'}}),
    ('POST', '/vswitches', vswitch_schemas.create,
     {'vswitch': {'name': 'VSW3'}}),
    ('PUT', '/vswitches/VSWITCH1', vswitch_schemas.update,
     {'vswitch': {'grant_userid': 'G1'}}),
    ('POST', '/guests/volumes', volume_schemas.attach,
     {'info': {'connection': CONNECTION}}),
    ('DELETE', '/guests/volumes', volume_schemas.detach,
     {'info': {'connection': CONNECTION}}),
    ('PUT', '/volumes/fcp/1a00', volume_schemas.set_fcp_usage,
     {'info': {'userid': 'G1', 'reserved': 0, 'connections': 0,
               'fcp_template_id': ''}}),
    ('POST', '/volumes/fcptemplates', volume_schemas.create_fcp_template,
     {'name': 't1'}),
    ('PUT', '/volumes/fcptemplates/t1', volume_schemas.edit_fcp_template,
     {'name': 't1'}),
]
# (action, its schema or None, a valid body without "action")
ACTIONS = [
    ('start', guest_schemas.start, {}), ('stop', guest_schemas.stop, {}),
    ('softstop', guest_schemas.softstop, {}), ('pause', None, {}),
    ('reboot', None, {}), ('get_console_output', None, {}),
    ('register_vm', guest_schemas.register_vm,
     {'meta': 'rhel8', 'net_set': '1'}),
    ('deregister_vm', guest_schemas.deregister_vm, {}),
    ('live_migrate_vm', guest_schemas.live_migrate_vm,
     {'destination': 'ZVMSIM2', 'operation': 'test', 'parms': {}}),
    ('resize_cpus', guest_schemas.resize_cpus, {'cpu_cnt': 2}),
    ('live_resize_mem', guest_schemas.resize_mem, {'size': '2G'}),
    ('grow_root_volume', guest_schemas.grow_root_volume,
     {'os_version': 'rhel8'}),
    ('deploy', guest_schemas.deploy, {'image': 'img1'}),
    ('capture', guest_schemas.capture, {'image': 'img2'}),
]
WRONG_VALUES = [12345, 'abc', '', [], {}, None, True, -1, 'A' * 70,
                ['A B'], [{'x': 1}]]
# Bodies that are no JSON object: none, no JSON, and JSON of other types.
NO_OBJECT = [b'', b'{', b'null', b'[]', b'"x"', b'1', b'["action"]',
             b'"xaction"']


def broken(schema, body):
    """body broken in each way the schema refuses or might: an unknown
    field where none is allowed, each required field missing, each field
    of each wrong value; into nested objects and lists of objects."""
    def variants(node_schema, path):
        node = body
        for key in path:
            node = node[key]
        if node_schema.get('additionalProperties') is False:
            yield changed(path, lambda n: n.update(bogus=1))
        for name in node_schema.get('required', []):
            yield changed(path, lambda n, name=name: n.pop(name, None))
        for name, sub in node_schema.get('properties', {}).items():
            if not isinstance(sub, dict):
                continue        # a misplaced keyword of the real schema
            for value in WRONG_VALUES:
                yield changed(path, lambda n, k=name, v=value: n.update(
                    {k: v}))
            inner = node.get(name) if isinstance(node, dict) else None
            if isinstance(inner, dict) and 'properties' in sub:
                yield from variants(sub, path + [name])
            elif inner and isinstance(inner, list) and \
                    'properties' in sub.get('items', {}):
                yield from variants(sub['items'], path + [name, 0])

    def changed(path, change):
        copied = copy.deepcopy(body)
        node = copied
        for key in path:
            node = node[key]
        change(node)
        return copied

    return [body, *variants(schema, [])]


def body_requests():
    for method, path, schema, body in BODY_ROUTES:
        yield pytest.param([(method, path, data) for data in NO_OBJECT] + [
            (method, path, json.dumps(b).encode())
            for b in broken(schema, body)], id=f'{method} {path}')
    for name, schema, body in ACTIONS:
        bodies = broken(schema, body) if schema else [body, {'bogus': 1}]
        yield pytest.param([('POST', '/guests/G1/action', json.dumps(
            dict(b, action=name)).encode()) for b in bodies], id=name)


def other_requests():
    """Path parameters, query strings, and bodies of the routes that read
    them without a schema (or not at all)."""
    paths = ['/', '/host', '/host/guests', '/host/ssi', '/guests',
             '/vswitches', '/smapi-healthy', '/volumes/fcp/1a00']
    for userid in ('G1', 'g1', 'ABCDEFGHI', 'A%20B', 'A-B', '%20'):
        paths += [f'/guests/{userid}{sub}' for sub in (
            '', '/info', '/power_state', '/power_state_real',
            '/user_direct')]
    for query in ('', '?x=1', '?userid=G1', '?userid=', '?userid=G1,G2',
                  '?userid=ABCDEFGHIJ', '?userid=G1&userid=G2'):
        paths += [f'/guests/{route}{query}' for route in (
            'stats', 'interfacestats', 'nics')]
    for query in ('', '?poolname=ECKD:POOL1', '?poolname=POOL1', '?x=1',
                  '?poolname=ECKD:POOL1&poolname=FBA:POOLF1'):
        paths += [f'/host/{route}{query}' for route in (
            'diskpool', 'diskpool_volumes')]
    paths += ['/host/volume', '/host/volume?volumename=ABC',
              '/host/volume?volumename=ABCDEFGHIJ', '/images',
              '/images?imagename=img1', '/images?imagename=a&imagename=b',
              '/volumes/fcptemplates?host_default=maybe',
              '/volumes/fcptemplates?assigner_id=ABCDEFGHIJ',
              '/volumes/fcptemplates?x=1', '/volumes/fcptemplates/detail',
              '/volumes/fcptemplates/detail?raw=x']
    yield pytest.param([('GET', path, None) for path in paths],
                       id='paths and queries')
    with_bodies = [('GET', '/host'), ('GET', '/guests'),
                   ('DELETE', '/guests/G1/nic/1000'),
                   ('DELETE', '/guests/NOSUCH/nic/1000'),
                   ('GET', '/volumes/conn/G1'),
                   ('GET', '/volumes/conn/ABCDEFGHI'),
                   ('PUT', '/volumes/volume_refresh_bootmap'),
                   ('POST', '/guests/G1/action')]
    bodies = NO_OBJECT + [json.dumps(b).encode() for b in (
        {}, {'active': 'maybe'}, {'active': True}, {'info': {}},
        {'info': 'reserve'}, {'info': {'reserve': True}},
        {'info': {'fcpchannel': ['1a00'], 'wwpn': ['5005076812345678']}},
        {'action': 5}, {'action': None}, {'action': 'fly'})]
    yield pytest.param([(method, path, data) for method, path in with_bodies
                        for data in bodies], id='bodies read without schema')


CASES = [*body_requests(), *other_requests()]


@pytest.fixture(scope='module')
def connector(tmp_path_factory):
    """One simulator for the module: what the web layer answers does not
    depend on the guests (only that G1 exists, for the SDK's answers)."""
    with zvmsim.serve(tmp_path_factory.mktemp('zvm'), members=2) as servers:
        zvmsim.Client(servers[0]).create_guest('G1')
        yield servers[0]


@pytest.mark.parametrize('requests', CASES)
def test_the_simulator_answers_as_the_real_web_layer(connector, monkeypatch,
                                                     requests):
    real = zvmsim.RealWebLayer(monkeypatch)
    zvm = zvmsim.Client(connector)
    differences = []
    for method, path, data in requests:
        content_type = JSON if data is not None else None
        expected = real.call(method, path, data, content_type)
        got = zvm.send(method, path, data, content_type)
        if not real.sdk_calls:
            if got != expected:
                differences.append((method, path, data, expected, got))
        elif isinstance(got[1], str) or got[1].get('modID') == 120:
            differences.append((method, path, data, 'past the web layer',
                                got))
    assert differences == []


# -- each kind of difference, spelled out ------------------------------------

MALFORMED_EMPTY = 'Malformed JSON: Expecting value: line 1 column 1 (char 0)'
HANDLER_CRASH = web_error(500, 'The server has either erred or is '
                          'incapable of performing the requested '
                          'operation.')


@pytest.mark.parametrize('method, path, data, answer', [
    # JSON null is a body, which the schema refuses.
    ('POST', '/guests', b'null', (400, web_error(
        400, "ValidationError: Validation error: None is not of type "
        "'object'"))),
    # DELETE of a NIC reads {"active": ...} before the SDK looks for the
    # guest: without a body it fails for any guest; an "active" that is
    # no boolean crashes the handler.
    ('DELETE', '/guests/NOSUCH/nic/1000', None,
     (400, web_error(400, MALFORMED_EMPTY))),
    ('DELETE', '/guests/G1/nic/1000', b'{"active": "maybe"}',
     (500, HANDLER_CRASH)),
    # The action handler takes len() of the body and looks "action" up in
    # it: a number or null crashes it, so does an action that is no
    # string; an empty list or a string without "action" is a 400.
    ('POST', '/guests/G1/action', b'7', (500, HANDLER_CRASH)),
    ('POST', '/guests/G1/action', b'{"action": 7}', (500, HANDLER_CRASH)),
    ('POST', '/guests/G1/action', b'"start"',
     (400, web_error(400, 'action not exist or is empty'))),
    # GET /guests/{userid} checks the userid as the other guest GETs do.
    ('GET', '/guests/ABCDEFGHI', None, (400, web_error(
        400, "ValidationError: Validation error: Invalid input for query "
        "parameters userid. Value: ABCDEFGHI. 'ABCDEFGHI' does not match "
        "'^(\\\\s*\\\\w{1,8}\\\\s*)(,\\\\s*\\\\w{1,8}\\\\s*){0,}$'"))),
    # get_volume_connector reads the body's info.reserve before it checks
    # the path's userid.
    ('GET', '/volumes/conn/ABCDEFGHI', None,
     (400, web_error(400, MALFORMED_EMPTY))),
    ('GET', '/volumes/conn/G1', b'{}', (500, HANDLER_CRASH)),
    # Handlers that index the body before validating it crash on a list.
    ('PUT', '/volumes/fcptemplates/t1', b'[]', (500, HANDLER_CRASH)),
    ('PUT', '/volumes/volume_refresh_bootmap', b'[]', (500, HANDLER_CRASH)),
])
def test_web_layer_answers(zvm, monkeypatch, method, path, data, answer):
    zvm.create_guest('G1')
    content_type = JSON if data is not None else None
    real = zvmsim.RealWebLayer(monkeypatch)
    assert (real.call(method, path, data, content_type), real.sdk_calls) == \
        (answer, [])
    assert zvm.send(method, path, data, content_type) == answer


def test_a_body_is_ignored_where_no_handler_reads_one(zvm, monkeypatch):
    zvm.create_guest('G1')
    real = zvmsim.RealWebLayer(monkeypatch)
    real.call('GET', '/guests', b'{', JSON)
    assert (real.sdk_calls, zvm.send('GET', '/guests', b'{', JSON)) == \
        ([('guest_list', (), {})], (200, ok(['G1'])))


# -- what the SDK refuses of bodies its web layer lets through ---------------

def test_refresh_bootmap_with_wwpns_that_are_no_list(zvm):
    """The SDK joins the lists into the script's options."""
    assert zvm.call('PUT', '/volumes/volume_refresh_bootmap', {'info': {
        'fcpchannel': ['1a00'], 'wwpn': 5005076812345678,
        'lun': '0'}}) == (500, sdk_error(
            'internal', 1, 'sdkserver', msg="(127.0.0.1:50000) SDK server "
            "got unexpected exception: TypeError('can only join an "
            "iterable')"))


def test_a_storage_provider_named_by_a_number(zvm):
    """The template database keeps the name as text."""
    status, envelope = zvm.call('POST', '/volumes/fcptemplates', {
        'name': 't2', 'storage_providers': [7]})
    assert (status, envelope['output']['fcp_template']['storage_providers'],
            envelope['overallRC']) == (200, ['7'], 0)
