# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A zhmcclient session that rides out what the HMC says is temporary.

It imports zhmcclient, requests and oslo only, never nova: a Neutron agent
uses it too, and Nova and Neutron never share a process.

A request is repeated, up to ``retries`` times with waits doubling from
``backoff`` seconds, when repeating it cannot do its work twice:

- HTTP 409 reason 2 ("busy performing another operation"), for every
  method: the HMC refused it before doing anything.  409 reason 1 ("not in
  the correct state") is not repeated: it rarely passes by itself, and
  callers act on it.
- A lost connection, for GET (it changes nothing) and DELETE (if the
  first one did the work, the repeat gets 404, which callers take as
  gone).  For POST only if the request never left: the connection could
  not be made.  A POST whose answer was lost may have created a partition,
  NIC or HBA, or started a job; repeating it could do that twice, so the
  error goes to the caller.

Never repeated: a refused logon (403 reason 0, zhmcclient.ServerAuthError;
the HMC disables a user after a few failed logons), a TLS failure, any
other answer.  zhmcclient's own urllib3 retries are off: they repeat at
once and without a word, while each of these waits and logs a warning.

zhmcclient makes requests from within a request: the logon before the
first one, or after 403 reasons 4 and 5 (an expired session), then the
request again; the job polls of wait_for_completion.  Only the outermost
call repeats, as a whole (a logon included), and it judges by the request
that failed: a lost logon means the request was not sent (or was refused
with 403), so it is repeated whatever its method.  Once zhmcclient polls
a job, the HMC accepted the request: a failed poll or a failed job (whose
error zhmcclient raises as if the request had failed) is not repeated.

Like zhmcclient.Session, an HMCSession serves one thread at a time.
"""

import time

from oslo_log import log as logging
import requests
import urllib3
import zhmcclient

LOG = logging.getLogger(__name__)
LOGON = '/api/sessions'
JOBS = '/api/jobs/'
BUSY = (409, 2)
# Requests that change nothing, or whose repeat answers 404 once the first
# one did the work.
REPEATABLE = frozenset(['GET', 'DELETE'])


def _unsent(error):
    """True if a ConnectionError came before the request reached the HMC:
    refused, unresolved or timed out while connecting."""
    if isinstance(error, zhmcclient.ConnectTimeout):
        return True
    args = getattr(error.details, 'args', ())
    cause = args[0] if args else None
    return isinstance(getattr(cause, 'reason', None),
                      urllib3.exceptions.ConnectTimeoutError)


class HMCSession(zhmcclient.Session):
    """A zhmcclient.Session whose GET, POST and DELETE retry as the module
    says.  Each request costs one HTTP request per try.

    ``operation`` names what the caller is doing ("creating partition X")
    for the retry warnings.
    """

    def __init__(self, host, userid, password, port, verify_cert,
                 retries=3, backoff=1.0):
        # zhmcclient's default read timeout is an hour: one hung request
        # would stall every HMC call of a host that long.  Jobs are waited
        # for separately.
        super().__init__(
            host, userid, password, port=port, verify_cert=verify_cert,
            retry_timeout_config=zhmcclient.RetryTimeoutConfig(
                connect_timeout=10, connect_retries=0, read_timeout=120,
                read_retries=0))
        self.retries = retries
        self.backoff = backoff
        self.operation = None
        self._depth = 0
        self._failed = None     # (method, uri) of the last failed request
        self._accepted = False  # a job of the request was polled

    def get(self, uri, *args, **kwargs):
        return self._request('GET', uri, super().get, args, kwargs)

    def post(self, uri, *args, **kwargs):
        return self._request('POST', uri, super().post, args, kwargs)

    def delete(self, uri, *args, **kwargs):
        return self._request('DELETE', uri, super().delete, args, kwargs)

    def _request(self, method, uri, send, args, kwargs):
        if self._depth:         # zhmcclient's own request inside ours
            return self._send(method, uri, send, args, kwargs)
        attempt = 0
        while True:
            self._failed = None
            self._accepted = False
            try:
                return self._send(method, uri, send, args, kwargs)
            except zhmcclient.Error as e:
                why = self._temporary(method, uri, e)
                if why is None or attempt == self.retries:
                    raise
            wait = self.backoff * 2 ** attempt
            attempt += 1
            LOG.warning('HMC %(host)s:%(port)s: %(what)s: %(method)s '
                        '%(uri)s: %(why)s; trying again in %(wait).2f s '
                        '(%(n)d of %(max)d)',
                        {'host': self.host, 'port': self.port,
                         'what': self.operation or 'request',
                         'method': method, 'uri': uri, 'why': why,
                         'wait': wait, 'n': attempt, 'max': self.retries})
            time.sleep(wait)

    def _send(self, method, uri, send, args, kwargs):
        """One request; remember it if it fails (innermost first), forget
        earlier failures zhmcclient got over (a job poll it repeated)."""
        if self._depth and uri.startswith(JOBS):
            self._accepted = True
        self._depth += 1
        try:
            result = send(uri, *args, **kwargs)
        except zhmcclient.Error:
            if self._failed is None:
                self._failed = (method, uri)
            raise
        finally:
            self._depth -= 1
        self._failed = None
        return result

    def _temporary(self, method, uri, error):
        """Why the failed call may be repeated, or None if it may not."""
        failed = self._failed
        if self._accepted:
            return None
        if isinstance(error, zhmcclient.HTTPError):
            if failed == (method, uri) and \
                    (error.http_status, error.reason) == BUSY:
                return f'HTTP 409,2 (busy): {error.message}'
            return None
        if not isinstance(error, zhmcclient.ConnectionError) or \
                isinstance(error.details, requests.exceptions.SSLError):
            return None
        if failed == ('POST', LOGON):
            # Before the request, or after the HMC refused it with 403:
            # it was not done.  A logon whose answer was lost leaves an
            # HMC session behind, until the HMC ends it.
            return f'the logon got no answer: {error}'
        if failed == (method, uri) and (method in REPEATABLE or
                                        _unsent(error)):
            return f'no answer: {error}'
        return None
