# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector's error envelopes.

The codes and message texts come from the connector's own table
(zvmsdk.returncode), and the HTTP status from its own mapping
(zvmsdk.sdkwsgi.util), so an error here reads exactly as the real server
writes it.  SMAPI errors carry SMAPI's return and reason codes with modID 1
(the SMT layer), as the connector passes them through.
"""

from zvmsdk import returncode
from zvmsdk.sdkwsgi import util as wsgi_util

MOD = returncode.ModRCs          # 'guest' -> 10, 'image' -> 40, ...
MOD_WSGI = wsgi_util.SDKWSGI_MODID

# Extra status rules the real handlers pass to the mapping, by name.
NOT_FOUND = wsgi_util.handle_not_found
ALREADY_EXISTS = wsgi_util.handle_already_exists
NOT_FOUND_OR_CONFLICT = wsgi_util.handle_not_found_and_conflict


class ConnectorError(Exception):
    """An answer with a non-zero overallRC."""

    def __init__(self, overall_rc, rc, rs, mod_id, errmsg, status=None):
        super().__init__(errmsg)
        self.envelope = {'overallRC': overall_rc, 'rc': rc, 'rs': rs,
                         'modID': mod_id, 'errmsg': errmsg, 'output': ''}
        self.status = status    # None: the route's mapping decides

    def http_status(self, extra_rule=None):
        if self.status is not None:
            return self.status
        return wsgi_util.get_http_code_from_sdk_return(
            self.envelope, additional_handler=extra_rule)


def sdk(kind, rs, mod=None, **fields):
    """An error of the connector's table: kind 'notExist', 'conflict',
    'guest', ...; mod the module name where the table leaves it open."""
    codes, messages = returncode.errors[kind][:2]
    mod_id = codes['modID'] if codes['modID'] is not None else MOD[mod]
    return ConnectorError(codes['overallRC'], codes['rc'], rs, mod_id,
                          messages[rs] % fields)


def not_found(what, mod):
    """404/404/1: "Guest 'X' does not exist." and the like."""
    return sdk('notExist', 1, mod, obj_desc=what)


def invalid(msg):
    """100/100/3: the SDK's own check of an argument's format."""
    return sdk('input', 3, 'zvmsdk', msg=msg)


def smapi(api, rc, rs, detail, overall_rc=8):
    """SMAPI refused: overallRC 8 with SMAPI's rc and rs (modID 1)."""
    return ConnectorError(
        overall_rc, rc, rs, MOD['smt'],
        f'SMT error: ULTVMU0300E SMAPI API failed: {api}, overall rc: '
        f'{overall_rc}, rc: {rc}, rs: {rs}, errno: 0, cmd: smcli, out: '
        f'{detail}')


def wsgi(status, errmsg):
    """An error of the web layer: overallRC 400, rc 400, rs the status."""
    return ConnectorError(400, 400, status, MOD_WSGI, errmsg, status=status)


def smapi_down(api):
    """SMAPI does not answer: smcli's internal error (overallRC 25)."""
    return ConnectorError(
        25, 1, 0, MOD['smt'],
        f'SMT error: ULTVMU0301E SMAPI API failed: {api}, the SMAPI '
        f'server did not answer (connection refused)')
