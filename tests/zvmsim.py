# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator served in the test process, and a client.

serve() runs one connector per SSI member over one shared model; Client
speaks the REST API as a driver does (token from POST /token, then
X-Auth-Token) and hands back the status and the whole envelope, so tests
assert the codes exactly.  RealWebLayer is the real connector's own web
application (zvmsdk.sdkwsgi), to compare the simulator's answers with.
"""

import contextlib
import json

import requests
import webob
from zvmconnector import connector
from zvmsdk import returncode
from zvmsdk.sdkwsgi import deploy

from nova_ibmz.sim.zvm import guests
from nova_ibmz.sim.zvm import model
from nova_ibmz.sim.zvm import server
from tests import simctl

ADMIN_TOKEN = 'sim-admin-token-for-tests'
Controls = simctl.Controls
# webob's explanation of a 401, the errmsg of the real server's 401s.
UNAUTHORIZED = server.UNAUTHORIZED


def ok(output=''):
    """The envelope of a success."""
    return {'overallRC': 0, 'rc': 0, 'rs': 0, 'modID': None, 'errmsg': '',
            'output': output}


def sdk_error(kind, rs, mod=None, **fields):
    """The envelope of an error of the connector's own table, read from
    zvmsdk.returncode (not from the simulator): kind 'notExist',
    'conflict', 'guest', ...; mod where the table leaves the modID open."""
    codes, messages = returncode.errors[kind][:2]
    mod_id = codes['modID'] if codes['modID'] is not None else \
        returncode.ModRCs[mod]
    return {'overallRC': codes['overallRC'], 'rc': codes['rc'], 'rs': rs,
            'modID': mod_id, 'errmsg': messages[rs] % fields, 'output': ''}


def web_error(status, errmsg):
    """The web layer's envelope (zvmsdk.sdkwsgi: SdkWsgify, FaultWrapper)."""
    return {'overallRC': 400, 'rc': 400, 'rs': status, 'modID': 120,
            'errmsg': errmsg, 'output': ''}


def codes(envelope):
    """(overallRC, rc, rs, modID) of an envelope."""
    return (envelope['overallRC'], envelope['rc'], envelope['rs'],
            envelope['modID'])


def add_guest(cluster, userid, vcpus=1, memory_mb=1024, state='off',
              member=None, managed=True, root='1g'):
    """A guest in the directory (with a root minidisk of size root), in
    member's connector database when managed, logged on to member (the
    first by default) unless state is 'off'."""
    with cluster.lock:
        system = cluster.member(member or next(iter(cluster.members)))
        guests.define_foreign(cluster, system, {
            'userid': userid, 'vcpus': vcpus, 'memory_mb': memory_mb,
            'state': state, 'root': root})
        if managed:
            system.registry.append(userid.upper())
        cluster.changed()


@contextlib.contextmanager
def serve(tmp_path, members=1, auth='token', state_file=None, certs=None,
          token_ttl=3600, copy_seconds=0.0, max_concurrent=20, port=0):
    """Running connectors, one per member, for the duration of the block.

    tmp_path holds the image repository; ports are free ones unless port
    is given (member n then serves on port + n - 1).
    """
    cluster = model.Model(members=members, state_file=state_file,
                          image_dir=tmp_path / 'images',
                          copy_seconds=copy_seconds)
    servers = []
    try:
        for n, name in enumerate(cluster.members):
            servers.append(server.ConnectorServer(
                cluster, name, port=port and port + n, auth=auth,
                admin_token=ADMIN_TOKEN if auth == 'token' else None,
                token_ttl=token_ttl, certs=certs,
                max_concurrent_deploy_capture=max_concurrent).start())
        yield servers
    finally:
        for s in servers:
            s.stop()


class Client:
    """REST calls to one connector: (HTTP status, envelope)."""

    def __init__(self, connector, admin_token=ADMIN_TOKEN):
        self.url = connector.url
        self.admin_token = admin_token
        self.http = requests.Session()
        self.verify = (str(connector.certs.ca_file) if connector.certs
                       else True)
        self.token = None

    def new_token(self):
        reply = self.http.post(self.url + '/token', verify=self.verify,
                               headers={'X-Admin-Token': self.admin_token},
                               timeout=10)
        self.token = reply.headers.get('X-Auth-Token')
        return reply

    def call(self, method, path, body=None, token=True):
        """(HTTP status, the JSON body) of a request with a JSON body; the
        body's text when it is no JSON (webob's error pages)."""
        return self.answer(self.raw(method, path, json=body, token=token))

    def send(self, method, path, data=None, content_type=None):
        """(HTTP status, the JSON body or the text) of a request with the
        body data as given, and Accept JSON."""
        headers = {'Accept': 'application/json'}
        if content_type:
            headers['Content-Type'] = content_type
        return self.answer(self.raw(method, path, headers=headers,
                                    data=data))

    @staticmethod
    def answer(reply):
        try:
            return reply.status_code, reply.json()
        except ValueError:
            return reply.status_code, reply.text

    def raw(self, method, path, token=True, headers=None, **kwargs):
        """The requests.Response, with the auth token unless token is
        False; kwargs (json, data) as requests takes them."""
        if token and self.token is None:
            self.new_token()
        headers = dict(headers or {})
        if token:
            headers['X-Auth-Token'] = self.token
        return self.http.request(method, self.url + path, headers=headers,
                                 verify=self.verify, timeout=30, **kwargs)

    def ok(self, method, path, body=None):
        """The output of a call that must succeed."""
        status, envelope = self.call(method, path, body)
        assert (status, envelope['overallRC']) == (200, 0), envelope
        return envelope['output']

    def action(self, userid, name, **args):
        return self.call('POST', f'/guests/{userid}/action',
                         dict(args, action=name))

    def create_guest(self, userid, vcpus=1, memory=1024, root='5g',
                     **more):
        return self.ok('POST', '/guests', {'guest': dict(
            {'userid': userid, 'vcpus': vcpus, 'memory': memory,
             'disk_list': [{'size': root, 'is_boot_disk': True}]},
            **more)})


class RealWebLayer:
    """The real connector's WSGI application (zvmsdk.sdkwsgi.deploy, auth
    off), in the test process.  Its handlers' calls of the SDK server are
    recorded and answered with a success, so what it answers itself (its
    validation, its crashes, webob's pages) is the real server's answer,
    and `sdk_calls` says whether a request got past the web layer."""

    def __init__(self, monkeypatch):
        self.app = deploy.loadapp()
        self.sdk_calls = []

        def send_request(client, api_name, *args, **kwargs):
            self.sdk_calls.append((api_name, args, kwargs))
            return ok('from the SDK')
        monkeypatch.setattr(connector.ZVMConnector, 'send_request',
                            send_request)

    def call(self, method, path, data=None, content_type=None):
        """(HTTP status, the JSON body or the text) with Accept JSON."""
        # The request log middleware reads the client's address.
        req = webob.Request.blank(path, method=method,
                                  environ={'REMOTE_ADDR': '127.0.0.1'})
        req.headers['Accept'] = 'application/json'
        if data is not None:
            req.body = data
            if content_type:
                req.content_type = content_type
        del self.sdk_calls[:]
        reply = req.get_response(self.app)
        try:
            return reply.status_int, json.loads(reply.body)
        except ValueError:
            return reply.status_int, reply.text
