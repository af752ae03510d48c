# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A stand-in for Nova's API where Neutron sends its port events: it
records each POST /v2.1/os-server-external-events (headers and body) and
accepts every event, as Nova answers.  Imports neither nova nor neutron."""

import contextlib
import http.server
import json
import threading
import time

EVENTS_PATH = '/v2.1/os-server-external-events'


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        self.server.posts.append(
            {'path': self.path, 'headers': dict(self.headers), 'body': body})
        if self.path != EVENTS_PATH:
            self._answer(404, {})
            return
        self._answer(200, {'events': [dict(event, code=200)
                                      for event in body['events']]})

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


class StubNova(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.posts = []

    @property
    def endpoint(self):
        """What Neutron's [nova] endpoint names: the API's /v2.1."""
        return f'http://127.0.0.1:{self.server_port}/v2.1'

    def events(self, name=None):
        """Every event posted so far (of that name)."""
        return [event for post in list(self.posts)
                for event in post['body']['events']
                if name is None or event['name'] == name]

    def wait_for(self, name, tag, timeout=60):
        """The event of that name for port tag, once it came; None if it
        did not within timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events(name):
                if event.get('tag') == tag:
                    return event
            time.sleep(0.2)
        return None


@contextlib.contextmanager
def serve():
    server = StubNova()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
