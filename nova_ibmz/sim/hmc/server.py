# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HTTPS server of the HMC simulator.

/api/... is the HMC Web Services API (answered by api.dispatch under the
simulator's lock); every such request goes into the request log with its
status and duration.  /_sim/... are the test controls, answered only to
127.0.0.1 and kept out of the request log (doc/hmc-simulator.md).
"""

import collections
import http.server
import json
import logging
import socket
import ssl
import threading
import time

from zhmcclient.mock import _urihandler as mock

from nova_ibmz.sim.hmc import api
from nova_ibmz.sim.hmc import common
from nova_ibmz.sim.hmc import faults as sim_faults
from nova_ibmz.sim.hmc import jobs

LOG = logging.getLogger(__name__)
LOCAL_CLIENTS = frozenset(['127.0.0.1', '::1'])
DROPPED = 0     # the status logged for a connection closed without answer
METRICS_TYPE = 'application/vnd.ibm-z-zmanager-metrics'


class RequestLog:
    """Every API request: method, path, status, duration (thread-safe)."""

    def __init__(self, maxlen=200000):
        self._lock = threading.Lock()
        self._entries = collections.deque(maxlen=maxlen)
        self._seq = 0

    def add(self, method, path, status, seconds):
        with self._lock:
            self._seq += 1
            self._entries.append({
                'seq': self._seq, 'time': time.time(), 'method': method,
                'path': path, 'status': status,
                'duration_ms': round(seconds * 1000, 3)})

    def since(self, seq=0):
        with self._lock:
            return [e for e in self._entries if e['seq'] > seq]

    def clear(self):
        with self._lock:
            self._entries.clear()


class HMCServer(http.server.ThreadingHTTPServer):
    """The simulator served on https://127.0.0.1:port; start() runs it."""

    daemon_threads = True

    def __init__(self, sim, certs, port=0, latency_ms=0):
        self.sim = sim
        self.certs = certs
        self.latency = latency_ms / 1000
        self.log = RequestLog()
        self._tls = certs.server_context()
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(('127.0.0.1', port), _Handler)

    @property
    def url(self):
        return f'https://127.0.0.1:{self.server_address[1]}'

    @property
    def port(self):
        return self.server_address[1]

    def start(self):
        threading.Thread(target=self.serve_forever, args=(0.05,),
                         daemon=True, name=f'hmc-sim-{self.port}').start()
        return self

    def stop(self):
        """Stop serving and close the kept-alive connections too, so no
        client keeps talking to a stopped simulator."""
        self.shutdown()
        self.server_close()
        with self._connections_lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the client

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, on the request's own thread, so a
        # slow or failing client never holds up the accept loop.
        try:
            tls = self._tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            LOG.debug('TLS handshake with %s failed: %s', client_address, e)
            return
        with self._connections_lock:
            self._connections.add(tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(tls)
            tls.close()

    def handle_error(self, request, client_address):
        LOG.debug('Connection from %s ended with an error', client_address,
                  exc_info=True)


class _Handler(http.server.BaseHTTPRequestHandler):

    protocol_version = 'HTTP/1.1'
    server_version = 'nova-ibmz-hmc-sim'
    # One TLS record per answer (headers and body together), sent at once:
    # split small writes meet the client's delayed ACK and cost 40 ms each.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass  # the request log is the server's, not stderr

    def do_GET(self):
        self._handle('GET')

    def do_POST(self):
        self._handle('POST')

    def do_DELETE(self):
        self._handle('DELETE')

    def _handle(self, method):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        if self.path.startswith('/_sim/'):
            return self._control(method, body)
        started = time.monotonic()
        status = self._api(method, body)
        self.server.log.add(method, self.path, status,
                            time.monotonic() - started)

    # -- the API -------------------------------------------------------

    def _api(self, method, body):
        sim = self.server.sim
        if sim.faults.unavailable():
            return self._drop()
        if self.server.latency:
            time.sleep(self.server.latency)
        rule = sim.faults.take(method, self.path)
        if rule and rule.latency_ms:
            time.sleep(rule.latency_ms / 1000)
        elif rule and rule.drop:
            return self._drop()
        elif rule:
            return self._error(method, rule.status, rule.reason, rule.message)
        req = common.Request(method, self.path, body=body,
                             session_id=self.headers.get('X-API-Session'))
        with sim.lock:
            sim.advance()
            try:
                self._check_session(sim, req)
                result = api.dispatch(sim, req)
            except mock.FakedHTTPError as e:
                sim.save_if_changed()
                return self._reply(e.http_status, e.response())
            except mock.FakedConnectionError:
                return self._drop()
            except Exception:
                LOG.exception('Simulator error on %s %s', method, self.path)
                return self._error(method, 500, 0, 'Internal simulator error')
            if method != 'GET':
                sim.changed()
            sim.save_if_changed()
        return self._reply(*_answer(method, result))

    def _check_session(self, sim, req):
        if (req.method, req.path) in api.UNAUTHENTICATED:
            return
        if not req.session_id:
            raise mock.FakedHTTPError(req.method, req.path, 403, 4,
                                      'No session ID was provided')
        if req.session_id not in sim.sessions:
            raise mock.FakedHTTPError(req.method, req.path, 403, 5,
                                      'The session ID is not valid')

    def _error(self, method, status, reason, message):
        return self._reply(status, {
            'http-status': status, 'reason': reason, 'message': message,
            'request-method': method, 'request-uri': self.path})

    def _drop(self):
        """Close the connection without an answer."""
        self.close_connection = True
        return DROPPED

    def _reply(self, status, body=None):
        if isinstance(body, str):     # Get Metrics answers in its own format
            data, content_type = body.encode(), METRICS_TYPE
        else:
            data = b'' if body is None else json.dumps(body).encode()
            content_type = 'application/json'
        self.send_response(status)
        if data:
            self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    # -- test controls -------------------------------------------------

    def _control(self, method, body):
        if self.client_address[0] not in LOCAL_CLIENTS:
            return self._reply(403, {'message': '/_sim/ is local only'})
        sim, log = self.server.sim, self.server.log
        path, _, query = self.path.partition('?')
        try:
            data = json.loads(body) if body else {}
            route = CONTROLS.get((method, path))
            if route is None:
                return self._reply(404, {'message': f'No control {method} '
                                         f'{path}'})
            return self._reply(200, route(sim, log, data, query))
        except (ValueError, KeyError, TypeError) as e:
            return self._reply(400, {'message': str(e)})


def _answer(method, result):
    """HTTP status and body for an API result, as the HMC answers."""
    if isinstance(result, jobs.Job):
        return 202, {'job-uri': result.uri}
    if result is None:
        return 204, None
    if method == 'POST' and ('object-uri' in result or
                             'element-uri' in result):
        return 201, result
    return 200, result


def _locked(func):
    def control(sim, log, data, query):
        with sim.lock:
            sim.advance()
            result = func(sim, log, data, query)
            sim.save_if_changed()
            return result
    return control


@_locked
def _set_properties(sim, log, data, query):
    """Change any property of any resource (a CPC going down, a partition
    paused by an in-guest shutdown, ...)."""
    resource = sim.hmc.lookup_by_uri(data['uri'])
    resource.properties.update(data['properties'])
    sim.changed()
    return {'uri': resource.uri}


@_locked
def _reset(sim, log, data, query):
    sim.reset()
    log.clear()
    return {}


def _requests(sim, log, data, query):
    since = int(query.removeprefix('since=') or 0) if query else 0
    return {'requests': log.since(since)}


def _add_fault(sim, log, data, query):
    sim.faults.add(sim_faults.parse_rule(data))
    return {'faults': sim.faults.rules()}


CONTROLS = {
    ('GET', '/_sim/requests'): _requests,
    ('DELETE', '/_sim/requests'): lambda sim, log, d, q: log.clear() or {},
    ('POST', '/_sim/reset'): _reset,
    ('GET', '/_sim/faults'): lambda sim, log, d, q: {
        'faults': sim.faults.rules()},
    ('POST', '/_sim/faults'): _add_fault,
    ('DELETE', '/_sim/faults'): lambda sim, log, d, q:
        sim.faults.clear() or {},
    ('POST', '/_sim/unavailable'): lambda sim, log, d, q:
        sim.faults.make_unavailable(float(d['seconds'])) or {},
    ('POST', '/_sim/sessions/expire'): _locked(
        lambda sim, log, d, q: sim.expire_sessions() or {}),
    ('POST', '/_sim/properties'): _set_properties,
    ('GET', '/_sim/events'): _locked(
        lambda sim, log, d, q: {'events': dict(sim.events)}),
}
