# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HTTP(S) server of one Cloud Connector: one per SSI member.

Every answer carries the connector's envelope {overallRC, rc, rs, modID,
errmsg, output}.  With auth='token' (the real server's [wsgi] auth=token),
POST /token exchanges the admin token in X-Admin-Token for an X-Auth-Token,
a JWT signed with the admin token that expires after token_ttl seconds and
that every other request must carry; auth='none' checks nothing, as the
in-tree nova driver expects.  The servers of one cluster share its Model.

Deploy and capture are throttled as the real server does it: at most
max_concurrent_deploy_capture at once per connector, 503 beyond; each
first copies its disk for model.copy_seconds outside the model's lock.
CONTROLS are the /_sim/ test controls (doc/zvm-simulator.md).
"""

import datetime
import hashlib
import hmac
import logging
import threading
import time

import jwt

from nova_ibmz.sim import httpserver
from nova_ibmz.sim.zvm import api
from nova_ibmz.sim.zvm import errors
from nova_ibmz.sim.zvm import faults as zvm_faults
from nova_ibmz.sim.zvm import fcptemplates  # noqa: F401 (registers routes)
from nova_ibmz.sim.zvm import guests
from nova_ibmz.sim.zvm import host  # noqa: F401 (registers its routes)
from nova_ibmz.sim.zvm import images  # noqa: F401 (registers its routes)
from nova_ibmz.sim.zvm import network  # noqa: F401 (registers its routes)
from nova_ibmz.sim.zvm import volumes  # noqa: F401 (registers its routes)

LOG = logging.getLogger(__name__)
THROTTLED = ('deploy', 'capture')
# What an unauthorised request gets: webob's HTTPUnauthorized explanation.
UNAUTHORIZED = ('This server could not verify that you are authorized to '
                'access the document you requested. Either you supplied the '
                'wrong credentials (e.g., bad password), or your browser '
                'does not understand how to supply the credentials '
                'required.')


def envelope(output=None):
    return {'overallRC': 0, 'rc': 0, 'rs': 0, 'modID': None, 'errmsg': '',
            'output': output if output is not None else ''}


class ConnectorServer(httpserver.SimServer):
    """The connector of one member on 127.0.0.1; start() serves it."""

    def __init__(self, model, member=None, port=0, auth='token',
                 admin_token=None, token_ttl=3600, certs=None,
                 latency_ms=0, max_concurrent_deploy_capture=20):
        if auth not in ('token', 'none'):
            raise ValueError(f"auth must be 'token' or 'none', not {auth!r}")
        if auth == 'token' and not admin_token:
            raise ValueError("auth='token' needs an admin_token")
        self.model = model
        self.member_name = member or next(iter(model.members))
        self.auth = auth
        self.admin_token = admin_token
        self.token_ttl = token_ttl
        self.latency = latency_ms / 1000
        self.deploy_capture = threading.BoundedSemaphore(
            max_concurrent_deploy_capture)
        super().__init__(_Handler, port=port, certs=certs)

    @property
    def _signing_key(self):
        # The token is opaque to clients, so any key derived from the admin
        # token serves; a digest is long enough for HS256 whatever the
        # admin token's length.
        return hashlib.sha256(self.admin_token.encode()).digest()

    @property
    def member(self):
        return self.model.member(self.member_name)

    def issue_token(self):
        expires = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=self.token_ttl)
        return jwt.encode({'exp': expires,
                           'gen': self.model.token_generation},
                          self._signing_key, algorithm='HS256')

    def token_valid(self, token):
        try:
            claims = jwt.decode(token, self._signing_key,
                                algorithms=['HS256'])
        except jwt.PyJWTError:
            return False
        return claims.get('gen') == self.model.token_generation


class _Handler(httpserver.SimHandler):

    server_version = 'nova-ibmz-zvm-sim'

    def api(self, method, body):
        server = self.server
        status = self.faulted(server.model.faults, method, lambda rule:
                              self.reply_json(rule.status, rule.envelope()))
        if status is not None:
            return status
        found = None
        try:
            path, query = api.parse(method, self.path, self.headers, body)
            found, params = api.find(method, path)
            if path == '/token':
                return self._token()
            if server.auth == 'token' and not server.token_valid(
                    self.headers.get('X-Auth-Token', '')):
                raise errors.wsgi(401, UNAUTHORIZED)
            req = api.Request(method, path, query, body or b'',
                              server.model, server.member, params)
            output = self._dispatch(req, found)
        except errors.WebPage as e:
            status, headers, page = e.render(method,
                                             self.headers.get('Accept'))
            content_type = headers.pop('Content-Type')
            headers.pop('Content-Length', None)
            return self.reply(status, page, content_type=content_type,
                              headers=headers)
        except errors.ConnectorError as e:
            status = e.http_status(found.extra_status if found else None)
            return self.reply_json(status, e.envelope)
        except Exception:
            LOG.exception('Simulator error on %s %s', method, self.path)
            e = errors.sdk('internal', 1, 'zvmsdk',
                           msg='internal simulator error')
            return self.reply_json(500, e.envelope)
        if isinstance(output, api.Raw):
            return self.reply_json(200, output.body)
        return self.reply_json(200, envelope(output))

    def _dispatch(self, req, found):
        if found.path.endswith('/action'):
            try:
                body = req.json()
            except errors.ConnectorError:
                body = None     # the route answers it
            name = body.get('action') if isinstance(body, dict) else None
            if name in THROTTLED:
                return self._throttled(req, found, name)
        return self._apply(req, found)

    def _apply(self, req, found):
        """The route's answer, under the model's lock; the state saved
        when the request may have changed it."""
        model = req.model
        with model.lock:
            if found.smapi and model.smapi_down():
                raise errors.smapi_down(found.path)
            try:
                return api.dispatch(req, found)
            finally:
                if req.method != 'GET':
                    model.changed()
                model.save_if_changed()

    def _throttled(self, req, found, name):
        """Deploy and capture: the real server's semaphore, then the disk
        copy's time outside the lock, then the change under it."""
        if not self.server.deploy_capture.acquire(blocking=False):
            raise errors.sdk('serviceUnavail', 1,
                             req=f"action: '{name}', userid: "
                             f"{req.params.get('userid')}")
        try:
            if req.model.copy_seconds:
                time.sleep(req.model.copy_seconds)
            return self._apply(req, found)
        finally:
            self.server.deploy_capture.release()

    def _token(self):
        server = self.server
        if server.auth == 'none':
            # The real server answers a fixed token when auth is off.
            return self.reply(200, headers={
                'X-Auth-Token': 'server-auth-closed'})
        given = self.headers.get('X-Admin-Token', '').encode()
        if not hmac.compare_digest(given, server.admin_token.encode()):
            e = errors.wsgi(401, UNAUTHORIZED)
            return self.reply_json(401, e.envelope)
        return self.reply(200, headers={'X-Auth-Token': server.issue_token()})


# POST /token is answered above; the route makes GET /token a 405.
api.route('POST', '/token', smapi=False)(lambda req: '')


# -- test controls -------------------------------------------------------

def _locked(func):
    def control(server, data, query):
        with server.model.lock:
            result = func(server, data, query)
            server.model.changed()
            server.model.save_if_changed()
            return result
    return control


def _reset(server, data, query):
    server.model.reset()
    server.log.clear()
    return {}


def _smapi_down(server, data, query):
    server.model.smapi_down_until = time.time() + float(data['seconds'])
    return {}


def _expire_tokens(server, data, query):
    server.model.token_generation += 1
    return {}


def _define_guest(server, data, query):
    """A guest defined in the directory by someone else (foreign)."""
    return guests.define_foreign(server.model, server.member, data)


def _set_guest_state(server, data, query):
    """CP state changed behind the connector's back (a guest's shutdown)."""
    userid = data['userid'].upper()
    if userid not in server.model.guests:
        raise KeyError(f'no guest {userid} in the directory')
    guest = server.model.guests[userid]
    guests.set_state(server.model, guest, server.member, data['state'])
    return {'userid': guest.userid, 'state': guest.state}


_Handler.CONTROLS = {
    **httpserver.common_controls(lambda server: server.model.faults,
                                 zvm_faults.parse_rule),
    ('POST', '/_sim/reset'): _locked(_reset),
    ('POST', '/_sim/smapi-down'): _locked(_smapi_down),
    ('POST', '/_sim/tokens/expire'): _locked(_expire_tokens),
    ('GET', '/_sim/state'): lambda server, d, q: server.model.to_json(),
    ('POST', '/_sim/guests'): _locked(_define_guest),
    ('POST', '/_sim/guest-state'): _locked(_set_guest_state),
}
