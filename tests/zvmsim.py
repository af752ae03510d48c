# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector simulator served in the test process, and a client.

serve() runs one connector per SSI member over one shared model; Client
speaks the REST API as a driver does (token from POST /token, then
X-Auth-Token) and hands back the status and the whole envelope, so tests
assert the codes exactly.
"""

import contextlib

import requests

from nova_ibmz.sim.zvm import model
from nova_ibmz.sim.zvm import server
from tests import simctl

ADMIN_TOKEN = 'sim-admin-token-for-tests'
Controls = simctl.Controls


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
        if token and self.token is None:
            self.new_token()
        headers = {'X-Auth-Token': self.token} if token else {}
        reply = self.http.request(method, self.url + path, json=body,
                                  headers=headers, verify=self.verify,
                                  timeout=30)
        return reply.status_code, reply.json()

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
