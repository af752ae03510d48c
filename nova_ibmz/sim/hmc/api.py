# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HMC Web Services API of the simulator: which handler answers what.

Our routes come first; every other request goes to zhmcclient.mock's URI
handlers, which implement most of the API on the faked HMC.
"""

import re
import secrets

from zhmcclient.mock import URIS
from zhmcclient.mock import UriHandler
from zhmcclient.mock import _urihandler as mock

from nova_ibmz.sim.hmc import common
from nova_ibmz.sim.hmc import devices
from nova_ibmz.sim.hmc import metrics
from nova_ibmz.sim.hmc import partitions

# Requests that need no session (X-API-Session).
UNAUTHENTICATED = frozenset([('GET', '/api/version'),
                             ('POST', '/api/sessions')])


def logon(sim, req):
    body = common.required(req, req.json(), ['userid', 'password'])
    session_id = sim.logon(body['userid'], body['password'])
    if session_id is None:
        # The HMC does not say which of the two was wrong; nor do we, and
        # the password never appears in an answer.
        raise mock.FakedHTTPError(req.method, req.path, 403, 0,
                                  'Logon failed: user ID or password is not '
                                  'valid, or the user is disabled')
    major, minor = sim.hmc.api_version.split('.')[:2]
    return {'api-session': session_id,
            'notification-topic': f'{session_id[:8]}-objects',
            'job-notification-topic': f'{session_id[:8]}-jobs',
            'api-major-version': int(major),
            'api-minor-version': int(minor),
            'password-expires': -1,
            'session-credential': secrets.token_hex(16)}


def logoff(sim, req):
    sim.logoff(req.session_id)


def _job(sim, req):
    job = sim.jobs.get(req.parms[0])
    if job is None:
        raise mock.InvalidResourceError(req.method, req.path)
    return job


def query_job(sim, req):
    return _job(sim, req).query()


def delete_job(sim, req):
    job = _job(sim, req)
    if job.status != 'complete':
        raise common.conflict(req, 40, f'Job {job.uri} has not ended')
    del sim.jobs[job.job_id]


PARTITION = r'/api/partitions/([^/]+)'
OPERATION = PARTITION + '/operations/'
ROUTES = [
    ('POST', r'/api/sessions', logon),
    ('DELETE', r'/api/sessions/this-session', logoff),
    ('GET', r'/api/jobs/([^/]+)', query_job),
    ('DELETE', r'/api/jobs/([^/]+)', delete_job),
    ('POST', r'/api/cpcs/([^/]+)/partitions', partitions.create),
    ('POST', PARTITION, partitions.update),
    ('DELETE', PARTITION, partitions.delete),
    ('POST', OPERATION + 'start', partitions.start),
    ('POST', OPERATION + 'stop', partitions.stop),
    ('POST', OPERATION + 'scsi-dump', partitions.dump),
    ('POST', OPERATION + 'psw-restart', partitions.psw_restart),
    ('POST', OPERATION + 'mount-iso-image', partitions.mount_iso),
    ('GET', OPERATION + 'list-os-messages', partitions.list_os_messages),
    ('POST', OPERATION + 'attach-storage-group', devices.attach),
    ('POST', OPERATION + 'detach-storage-group', devices.detach_request),
    ('POST', PARTITION + '/nics', devices.create_nic),
    ('POST', PARTITION + '/nics/([^/]+)', devices.update_nic),
    ('DELETE', PARTITION + '/nics/([^/]+)', devices.delete_nic),
    ('POST', PARTITION + '/hbas', devices.create_hba),
    ('POST', PARTITION + '/virtual-functions',
     devices.create_virtual_function),
    ('GET', r'/api/virtual-switches/([^/]+)/operations/get-connected-vnics',
     devices.connected_vnics),
    ('GET', r'/api/services/metrics/context/([^/]+)', metrics.get_metrics),
    ('POST', r'/api/storage-groups', devices.create_group),
    ('GET', r'/api/storage-groups/([^/]+)/operations/get-partitions',
     devices.group_partitions),
    ('POST', r'/api/storage-groups/([^/]+)/operations/modify',
     devices.modify_group),
    ('POST', r'/api/storage-groups/([^/]+)/operations/delete',
     devices.delete_group),
]
_ROUTES = [(m, re.compile(p), h) for m, p, h in ROUTES]
_MOCK = UriHandler(URIS)


def dispatch(sim, req):
    """The result of one API request: a dict, None, a started Job, or the
    text of Get Metrics.

    Raises zhmcclient.mock's FakedHTTPError for an HMC error answer.
    """
    for method, pattern, handler in _ROUTES:
        match = pattern.fullmatch(req.path)
        if match and method == req.method:
            req.parms = match.groups()
            return handler(sim, req)
    if req.method == 'GET':
        return _MOCK.get(sim.hmc, req.uri, True)
    if req.method == 'POST':
        return _MOCK.post(sim.hmc, req.uri, req.json(), True, True)
    if req.method == 'DELETE':
        return _MOCK.delete(sim.hmc, req.uri, True)
    raise mock.InvalidMethodError(req.method, req.path)
