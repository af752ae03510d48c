# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""HTTP server speaking the Cloud Connector's REST protocol over a Model.

Every answer carries the connector's envelope {overallRC, rc, rs, modID,
errmsg, output}.  With an admin token, POST /token exchanges it for an
expiring X-Auth-Token that every other request must carry, as the real
server's [wsgi] auth=token mode does.
"""

import re
import secrets
import threading
import time

from nova_ibmz.sim import httpserver
from nova_ibmz.sim.zvm import model as zmodel

# modID values of the real server (zvmsdk/returncode.py)
MOD_GUEST = 10
MOD_WEB = 120


def envelope(output=None, overall_rc=0, rc=0, rs=0, mod_id=0, errmsg=''):
    return {'overallRC': overall_rc, 'rc': rc, 'rs': rs, 'modID': mod_id,
            'errmsg': errmsg, 'output': output if output is not None else ''}


class ConnectorServer(httpserver.SimServer):
    """A Cloud Connector on 127.0.0.1; start() serves it from a thread."""

    def __init__(self, model, port=0, admin_token=None, token_ttl=3600,
                 certs=None):
        self.model = model
        self.admin_token = admin_token
        self.token_ttl = token_ttl
        self._tokens = {}
        self._tokens_lock = threading.Lock()
        super().__init__(_Handler, port=port, certs=certs)

    def issue_token(self):
        token = secrets.token_urlsafe(24)
        with self._tokens_lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
        return token

    def token_valid(self, token):
        with self._tokens_lock:
            return self._tokens.get(token, 0) > time.monotonic()

    def expire_tokens(self):
        """Let every issued token expire now (for tests of renewal)."""
        with self._tokens_lock:
            self._tokens.clear()


class _Handler(httpserver.SimHandler):

    # (method, path regex) -> handler method name
    ROUTES = [
        ('GET', r'/host', 'get_host'),
        ('GET', r'/guests', 'list_guests'),
        ('GET', r'/guests/(?P<userid>[^/]+)/power_state', 'power_state'),
    ]

    def api(self, method, body):
        path = self.path.split('?', 1)[0]
        if method == 'POST' and path == '/token':
            return self._token()
        if self.server.admin_token and not self.server.token_valid(
                self.headers.get('X-Auth-Token', '')):
            return self._reply(401, envelope(
                overall_rc=401, rc=401, rs=401, mod_id=MOD_WEB,
                errmsg='Authentication failed: token missing or expired'))
        for route_method, pattern, name in self.ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                try:
                    output = getattr(self, name)(**match.groupdict())
                except zmodel.NotFound as e:
                    return self._reply(404, envelope(
                        overall_rc=404, rc=404, rs=3, mod_id=MOD_GUEST,
                        errmsg=f'{e} does not exist'))
                return self._reply(200, envelope(output))
        return self._reply(404, envelope(
            overall_rc=404, rc=404, rs=404, mod_id=MOD_WEB,
            errmsg=f'No route for {method} {path}'))

    def _token(self):
        if (not self.server.admin_token or
                self.headers.get('X-Admin-Token') != self.server.admin_token):
            return self._reply(401, envelope(
                overall_rc=401, rc=401, rs=401, mod_id=MOD_WEB,
                errmsg='Invalid admin token'))
        return self._reply(200, envelope(),
                           {'X-Auth-Token': self.server.issue_token()})

    def _reply(self, status, body, headers=None):
        return self.reply_json(status, body, headers)

    # Routes

    def get_host(self):
        return self.server.model.host_info()

    def list_guests(self):
        with self.server.model.lock:
            return sorted(self.server.model.guests)

    def power_state(self, userid):
        return self.server.model.guest(userid).power_state
