# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector's error envelopes.

The codes and message texts come from the connector's own table
(zvmsdk.returncode), and the HTTP status from its own mapping
(zvmsdk.sdkwsgi.util), so an error here reads exactly as the real server
writes it.  SMAPI errors carry SMAPI's return and reason codes with modID 1
(the SMT layer), as the connector passes them through.

What the web framework answers before any handler runs (an unknown path, a
known path with another method, a body without a content type) is no
envelope but webob's own error page: WebPage renders it with webob itself.
"""

import webob
import webob.exc
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

    def with_codes(self, **codes):
        """The same error with other rc or rs (as the SDK keeps SMT's)."""
        self.envelope.update(codes)
        return self

    def http_status(self, extra_rule=None):
        if self.status is not None:
            return self.status
        return wsgi_util.get_http_code_from_sdk_return(
            self.envelope, additional_handler=extra_rule)


class WebPage(Exception):
    """webob's error page (HTML, JSON {"errors": [...]} or plain text, as
    the request's Accept header asks), as the real SdkHandler's routing
    and content-type check raise it outside the envelope's formatter."""

    def __init__(self, status, detail=None, headers=None):
        super().__init__(f'{status} {detail or ""}')
        self.status = status
        self.detail = detail
        self.headers = headers or {}

    def render(self, method, accept):
        """(status, headers, body) as webob writes them."""
        page = webob.exc.status_map[self.status](
            self.detail, headers=dict(self.headers),
            json_formatter=wsgi_util.json_error_formatter)
        req = webob.Request.blank('/', method=method)
        if accept:
            req.headers['Accept'] = accept
        resp = req.get_response(page)
        return resp.status_int, dict(resp.headers), resp.body


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


def wsgi_500():
    """A handler's unexpected exception (a KeyError, say), as the real
    FaultWrapper answers it: the web layer's envelope with rs 500."""
    return wsgi(500, webob.exc.HTTPInternalServerError.explanation)


# smcli's code for a socket it could not connect to SMAPI's server
# (SOCKET_PROCESSING_ERROR: the IUCV connect to VSMREQIU failed with
# ENETUNREACH, the server being logged off).
SMCLI_SOCKET_ERROR = -108


def smapi_down(api):
    """SMAPI does not answer.

    smcli reports its own processing error ("9999 -108 101 (details)"),
    which the SMT layer makes overallRC 25; the SDK turns every overallRC
    25 into its internal error (returncode.SMT_INTERNAL_ERROR): overallRC
    500 with SMT's rc and rs and modID 1, HTTP 500.
    """
    smt = {'overallRC': 25, 'rc': SMCLI_SOCKET_ERROR, 'rs': 0, 'errno': 101,
           'strError': 'Network is unreachable ULGSMC5009E Socket '
                       'processing error',
           'response': [f'ULTVMU0300E SMAPI API failed: {api}, overall rc: '
                        f'25, rc: {SMCLI_SOCKET_ERROR}, rs: 0, errno: 101, '
                        f'cmd: smcli, out: Failed']}
    return sdk('internal', 1, 'smt',
               msg=f'SMT internal error. Results: {smt}.This is likely to '
               f'be caused by temporary z/VM SMAPI down issue, Contact with '
               f'your z/VM administrators for further help').with_codes(
                   rc=SMCLI_SOCKET_ERROR, rs=0)


# The web layer's socket to the connector's SDK server, which the server's
# internal errors name (a random port on a real connector).
SDKSERVER_PEER = '127.0.0.1:50000'


def sdkserver(detail):
    """The internal error the SDK server answers for an exception its API
    layer did not turn into an SDK error (a bug of the real connector that
    a driver still meets)."""
    return sdk('internal', 1, 'sdkserver',
               msg=f'({SDKSERVER_PEER}) SDK server got {detail}')
