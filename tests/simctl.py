# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A client of the /_sim/ test controls every simulator serves."""

import requests


class Controls:
    """A simulator's /_sim/ test controls."""

    def __init__(self, sim_server):
        self.url = sim_server.url + '/_sim'
        self.http = requests.Session()
        # Per request: a session's verify loses to REQUESTS_CA_BUNDLE.
        certs = sim_server.certs
        self.verify = str(certs.ca_file) if certs else True

    def call(self, method, path, json=None):
        reply = self.http.request(method, self.url + path, json=json,
                                  verify=self.verify, timeout=10)
        reply.raise_for_status()
        return reply.json()

    def requests(self, since=0):
        return self.call('GET', f'/requests?since={since}')['requests']

    def last_seq(self):
        entries = self.requests()
        return entries[-1]['seq'] if entries else 0

    def fault(self, **rule):
        return self.call('POST', '/faults', rule)
