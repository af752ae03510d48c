# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What every handler of the simulator uses: the request and the checks.

The checks raise zhmcclient.mock's error types (a private module of the
version pinned in constraints.txt), so an error from the mock's handlers
and one from ours reach the client in the same HMC error body.
"""

import dataclasses
import json
import urllib.parse

from zhmcclient.mock import _urihandler as mock

TRANSITIONAL = ['starting', 'stopping']


@dataclasses.dataclass
class Request:
    method: str
    uri: str                    # path with its query string, as sent
    parms: tuple = ()           # the route's regular expression groups
    body: bytes = b''
    session_id: str | None = None

    @property
    def path(self):
        return self.uri.split('?', 1)[0]

    @property
    def query(self):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(
            self.uri).query))

    def json(self):
        """The JSON body, None if there is none, or 400 if it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise bad_request(self, 3, f'The request body is not JSON: {e}')


def bad_request(req, reason, message):
    return mock.BadRequestError(req.method, req.path, reason, message)


def conflict(req, reason, message):
    return mock.ConflictError(req.method, req.path, reason, message)


def lookup(sim, req, uri):
    """The faked resource at uri, or 404 (reason 2 if not the target)."""
    try:
        return sim.hmc.lookup_by_uri(uri)
    except KeyError:
        reason = 1 if req.path.startswith(uri) else 2
        raise mock.InvalidResourceError(req.method, req.path, reason=reason,
                                        resource_uri=uri)


def partition(sim, req):
    """The partition a /api/partitions/{id}/... request is about."""
    found = lookup(sim, req, f'/api/partitions/{req.parms[0]}')
    cpc = found.manager.parent
    if not cpc.dpm_enabled:
        raise mock.CpcNotInDpmError(req.method, req.path, cpc)
    mock.check_valid_cpc_status(req.method, req.path, cpc)
    return found


def check_status(req, partition, valid=None, invalid=None):
    """409,1 unless the partition's status allows the operation."""
    mock.check_partition_status(req.method, req.path, partition,
                                valid_statuses=valid, invalid_statuses=invalid)


MAX_NAME = 64


def check_name_unique(req, manager, name, what, resource=None):
    """400,7 for a name the HMC does not take, 400,8 if another resource
    in manager has this name."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
        raise bad_request(req, 7, f'{what} name {name!r} is not 1 to '
                          f'{MAX_NAME} characters long')
    for other in manager.list():
        if other.name == name and other is not resource:
            raise bad_request(req, 8, f'{what} name {name!r} is not unique: '
                              f'{other.uri} has it')


def check_read_only(req, body, read_only):
    """400,6 for the first read-only property in body."""
    for name in sorted(read_only.intersection(body)):
        raise bad_request(req, 6, f'Property {name!r} is read-only')


def required(req, body, names):
    """The JSON body, 400,3 if missing, 400,5 if a field is missing."""
    mock.check_required_fields(req.method, req.path, body, names)
    return body
