# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A small client of the z/VM Cloud Connector REST API, for the z/VM Nova
driver (through nova_ibmz.zvm.client, which gives its errors Nova's
kinds) and the z/VM Neutron agent.

We do not use the connector's own client (zvmconnector): it sends no auth
token and sets no timeout.  Every call here is one HTTP request; with token
auth, the first call and the first call after the token expires also cost
one POST /token.  Every answer carries the connector's envelope
{overallRC, rc, rs, modID, errmsg, output}; a non-zero overallRC becomes a
ConnectorError that keeps those codes.

Retries: a 503 (the connector throttles deploy and capture, at most 20 at
once, and refuses before doing anything) is retried for every method; a
lost connection only for GET, PUT and DELETE, which the connector's API
makes idempotent.  The waits double from `backoff` seconds.
"""

import threading
import time

from oslo_log import log as logging
import requests

LOG = logging.getLogger(__name__)
IDEMPOTENT = frozenset(['GET', 'PUT', 'DELETE'])


class ConnectorError(Exception):
    """The connector answered a request with an error envelope."""

    def __init__(self, request, status, envelope):
        self.request = request
        self.status = status
        self.overall_rc = envelope.get('overallRC')
        self.rc = envelope.get('rc')
        self.rs = envelope.get('rs')
        self.mod_id = envelope.get('modID')
        self.errmsg = envelope.get('errmsg') or ''
        super().__init__(
            f'{request}: HTTP {status}, overallRC {self.overall_rc} rc '
            f'{self.rc} rs {self.rs} modID {self.mod_id}: {self.errmsg}')

    def is_code(self, overall_rc, rs=None):
        return (self.overall_rc == overall_rc and
                (rs is None or self.rs == rs))


class ConnectorNotFound(ConnectorError):
    """HTTP 404: the guest, image, vswitch ... does not exist."""


class Unreachable(Exception):
    """The connector did not answer, or not with an envelope."""

    def __init__(self, url, reason):
        self.url = url
        self.reason = reason
        super().__init__(f'{url}: {reason}')


class TokenRefused(Exception):
    """The connector refused the admin token, or a request with the auth
    token it gave (HTTP 401 after a new token)."""


class CloudConnector:
    """Requests to one Cloud Connector, with auth tokens when configured."""

    def __init__(self, url, verify=True, admin_token=None, timeout=300,
                 retries=3, backoff=1.0):
        self.url = url.rstrip('/')
        self._admin_token = admin_token
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._http = requests.Session()
        # Passed with each request: a Session's verify loses to
        # REQUESTS_CA_BUNDLE in the environment, and [zvm] ca_file must win.
        self._verify = verify
        self._token = None
        self._token_lock = threading.Lock()

    def get(self, path, **params):
        return self.request('GET', path, params=params or None)

    def post(self, path, body=None):
        return self.request('POST', path, body=body)

    def put(self, path, body=None):
        return self.request('PUT', path, body=body)

    def delete(self, path, body=None):
        return self.request('DELETE', path, body=body)

    def action(self, userid, action, **body):
        """POST /guests/<userid>/action: one guest action."""
        return self.post(f'/guests/{userid}/action',
                         dict(body, action=action))

    def request(self, method, path, body=None, params=None):
        """Send a request, retried as the module says; return the
        envelope's output."""
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                return self._request_once(method, path, body, params)
            except Unreachable:
                if last or method not in IDEMPOTENT:
                    raise
                LOG.warning('%s %s: no answer from %s; trying again',
                            method, path, self.url)
            except ConnectorError as e:
                if last or e.status != 503:
                    raise
                LOG.info('%s %s: the connector is busy (HTTP 503); trying '
                         'again', method, path)
            time.sleep(self._backoff * 2 ** attempt)

    def _request_once(self, method, path, body, params):
        what = f'{method} {path}'
        resp = self._send(method, path, body, params, self._auth_headers())
        if resp.status_code == 401 and self._admin_token:
            # The token expired (or the connector restarted with a new
            # secret): fetch a new one and try once more.
            resp = self._send(method, path, body, params,
                              self._auth_headers(renew=True))
        if resp.status_code == 401:
            raise TokenRefused(
                f'the Cloud Connector at {self.url} refused {what} (HTTP '
                f'401): check the admin token')
        try:
            envelope = resp.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            # Not the connector (a proxy's error page, say): no envelope.
            raise Unreachable(
                self.url, f'{what}: HTTP {resp.status_code} without a JSON '
                f'envelope: {resp.text[:200]!r}')
        if envelope.get('overallRC', 0) != 0 or resp.status_code >= 400:
            cls = ConnectorNotFound if resp.status_code == 404 else \
                ConnectorError
            raise cls(what, resp.status_code, envelope)
        return envelope.get('output')

    def _send(self, method, path, body, params, headers):
        try:
            return self._http.request(method, self.url + path, json=body,
                                      params=params, headers=headers,
                                      timeout=self._timeout,
                                      verify=self._verify)
        except requests.RequestException as e:
            raise Unreachable(self.url, f'{method} {path} failed: {e}')

    def _auth_headers(self, renew=False):
        if not self._admin_token:
            return {}
        with self._token_lock:
            if renew or self._token is None:
                resp = self._send('POST', '/token', None, None,
                                  {'X-Admin-Token': self._admin_token})
                token = resp.headers.get('X-Auth-Token')
                if resp.status_code != 200 or not token:
                    raise TokenRefused(
                        f'the Cloud Connector at {self.url} gave no auth '
                        f'token (HTTP {resp.status_code}): check the admin '
                        f'token')
                self._token = token
            return {'X-Auth-Token': self._token}
