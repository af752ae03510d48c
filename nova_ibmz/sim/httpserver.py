# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What every simulator's HTTP(S) server shares.

A simulator listens on 127.0.0.1, over TLS when it has certificates, and
answers each connection on its own thread.  Its API requests go into a
request log (method, path, status, duration); paths under /_sim/ are its
test controls, answered only to local clients and never logged.
"""

import collections
import http.server
import json
import logging
import socket
import ssl
import threading
import time

LOG = logging.getLogger(__name__)
LOCAL_CLIENTS = frozenset(['127.0.0.1', '::1'])
DROPPED = 0     # the status logged for a connection closed without answer


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


class SimServer(http.server.ThreadingHTTPServer):
    """A simulator on 127.0.0.1 (HTTPS with certs); start() serves it."""

    daemon_threads = True

    def __init__(self, handler, port=0, certs=None):
        self.certs = certs
        self.log = RequestLog()
        self._tls = certs.server_context() if certs else None
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(('127.0.0.1', port), handler)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        scheme = 'https' if self._tls else 'http'
        return f'{scheme}://127.0.0.1:{self.port}'

    def start(self):
        threading.Thread(target=self.serve_forever, args=(0.05,),
                         daemon=True, name=f'sim-{self.port}').start()
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
        if self._tls:
            try:
                request = self._tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                LOG.debug('TLS handshake with %s failed: %s',
                          client_address, e)
                return
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)
            if self._tls:
                request.close()

    def handle_error(self, request, client_address):
        LOG.debug('Connection from %s ended with an error', client_address,
                  exc_info=True)


class SimHandler(http.server.BaseHTTPRequestHandler):
    """Reads the request, routes /_sim/ to CONTROLS and the rest to api(),
    and logs every API request with its status and duration.

    CONTROLS maps (method, path) to func(server, data, query) returning
    the JSON answer.
    """

    protocol_version = 'HTTP/1.1'
    # One write per answer (headers and body together), sent at once:
    # split small writes meet the client's delayed ACK and cost 40 ms each.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True
    CONTROLS = {}

    def log_message(self, fmt, *args):
        pass  # the request log is the server's, not stderr

    def do_GET(self):
        self._handle('GET')

    def do_POST(self):
        self._handle('POST')

    def do_PUT(self):
        self._handle('PUT')

    def do_DELETE(self):
        self._handle('DELETE')

    def api(self, method, body):
        """Answer an API request; return the status it got."""
        raise NotImplementedError

    def _handle(self, method):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        if self.path.startswith('/_sim/'):
            return self._control(method, body)
        started = time.monotonic()
        status = self.api(method, body)
        self.server.log.add(method, self.path, status,
                            time.monotonic() - started)

    def faulted(self, faults, method, answer):
        """Apply the fault rules to this API request, after the server's
        own latency.  Returns the status logged when a rule (or an
        unavailability) closed the connection or answered the request
        (answer(rule) sends a rule's status), or None when the request is
        to be handled (a latency rule has slept)."""
        if faults.unavailable():
            return self.drop()
        if self.server.latency:
            time.sleep(self.server.latency)
        rule = faults.take(method, self.path)
        if rule is None:
            return None
        if rule.outage_s:
            faults.make_unavailable(rule.outage_s)
        if rule.drop or rule.outage_s:
            return self.drop()
        if rule.latency_ms:
            time.sleep(rule.latency_ms / 1000)
            return None
        return answer(rule)

    def drop(self):
        """Close the connection without an answer."""
        self.close_connection = True
        return DROPPED

    def reply(self, status, data=b'', content_type='application/json',
              headers=None):
        """Send status and data (bytes); return the status."""
        self.send_response(status)
        if data:
            self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def reply_json(self, status, body, headers=None):
        return self.reply(status, json.dumps(body).encode(),
                          headers=headers)

    def _control(self, method, body):
        if self.client_address[0] not in LOCAL_CLIENTS:
            return self.reply_json(403, {'message': '/_sim/ is local only'})
        path, _, query = self.path.partition('?')
        route = self.CONTROLS.get((method, path))
        if route is None:
            return self.reply_json(404, {'message': f'No control {method} '
                                         f'{path}'})
        try:
            data = json.loads(body) if body else {}
            return self.reply_json(200, route(self.server, data, query))
        except (ValueError, KeyError, TypeError) as e:
            return self.reply_json(400, {'message': str(e)})


def common_controls(faults_of, parse_rule):
    """The /_sim/ controls every simulator has: its request log, its fault
    rules (parse_rule reads one) and its unavailability.  faults_of(server)
    is the server's Faults."""

    def requests(server, data, query):
        since = int(query.removeprefix('since=') or 0) if query else 0
        return {'requests': server.log.since(since)}

    def add_fault(server, data, query):
        faults_of(server).add(parse_rule(data))
        return {'faults': faults_of(server).rules()}

    return {
        ('GET', '/_sim/requests'): requests,
        ('DELETE', '/_sim/requests'): lambda server, d, q:
            server.log.clear() or {},
        ('GET', '/_sim/faults'): lambda server, d, q: {
            'faults': faults_of(server).rules()},
        ('POST', '/_sim/faults'): add_fault,
        ('DELETE', '/_sim/faults'): lambda server, d, q:
            faults_of(server).clear() or {},
        ('POST', '/_sim/unavailable'): lambda server, d, q:
            faults_of(server).make_unavailable(float(d['seconds'])) or {},
    }
