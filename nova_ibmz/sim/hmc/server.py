# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HTTPS server of the HMC simulator.

/api/... is the HMC Web Services API, answered by api.dispatch under the
simulator's lock, after the latency and faults a test asked for; CONTROLS
are its /_sim/ test controls (doc/hmc-simulator.md).  What every
simulator's server does is in nova_ibmz.sim.httpserver.
"""

import logging

from zhmcclient.mock import _urihandler as mock

from nova_ibmz.sim import httpserver
from nova_ibmz.sim.hmc import api
from nova_ibmz.sim.hmc import common
from nova_ibmz.sim.hmc import faults as sim_faults
from nova_ibmz.sim.hmc import jobs

LOG = logging.getLogger(__name__)
METRICS_TYPE = 'application/vnd.ibm-z-zmanager-metrics'


class HMCServer(httpserver.SimServer):
    """The simulator served on https://127.0.0.1:port; start() runs it."""

    def __init__(self, sim, certs, port=0, latency_ms=0):
        self.sim = sim
        self.latency = latency_ms / 1000
        super().__init__(_Handler, port=port, certs=certs)


class _Handler(httpserver.SimHandler):

    server_version = 'nova-ibmz-hmc-sim'

    # -- the API -------------------------------------------------------

    def api(self, method, body):
        sim = self.server.sim
        status = self.faulted(sim.faults, method, lambda rule: self._error(
            method, rule.status, rule.reason, rule.message))
        if status is not None:
            return status
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
                return self.drop()
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

    def _reply(self, status, body=None):
        if isinstance(body, str):     # Get Metrics answers in its own format
            return self.reply(status, body.encode(), METRICS_TYPE)
        if body is None:
            return self.reply(status)
        return self.reply_json(status, body)


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
    def control(server, data, query):
        sim = server.sim
        with sim.lock:
            sim.advance()
            result = func(server, data, query)
            sim.save_if_changed()
            return result
    return control


@_locked
def _set_properties(server, data, query):
    """Change any property of any resource (a CPC going down, a partition
    paused by an in-guest shutdown, ...)."""
    resource = server.sim.hmc.lookup_by_uri(data['uri'])
    resource.properties.update(data['properties'])
    server.sim.changed()
    return {'uri': resource.uri}


@_locked
def _reset(server, data, query):
    server.sim.reset()
    server.log.clear()
    return {}


_Handler.CONTROLS = {
    **httpserver.common_controls(lambda server: server.sim.faults,
                                 sim_faults.parse_rule),
    ('POST', '/_sim/reset'): _reset,
    ('POST', '/_sim/sessions/expire'): _locked(
        lambda server, d, q: server.sim.expire_sessions() or {}),
    ('POST', '/_sim/properties'): _set_properties,
    ('GET', '/_sim/events'): _locked(
        lambda server, d, q: {'events': dict(server.sim.events)}),
}
