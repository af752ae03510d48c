# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Routing of Cloud Connector requests, as zvmsdk/sdkwsgi/handler.py does.

A Route names its path (with {placeholders}), the function that answers
it, the request schema of the real server (zvmsdk.sdkwsgi.schemas) and the
extra status rule its real handler passes to the status mapping.  Routes
are tried in the real ROUTE_LIST's order, so /guests/stats wins over
/guests/{userid}, and the first path that matches decides: a known path
with another method is a 405 and an unknown path a 404, both webob's error
page (errors.WebPage), not an envelope.

The real server checks in this order: the content type of a body (webob's
400 page), the route (404, 405), the auth token (401).  Then each handler
reads what it reads in its own order: a route with a body schema reads the
JSON body (400 "Malformed JSON" in the web layer's envelope, also for no
body), then validates it (so JSON null is "None is not of type 'object'");
a route that reads no body ignores whatever was sent.  Where a real
handler takes fields out of the body before any validation, a body that
lacks them or is no object crashes it: FaultWrapper's 500 in the web
layer's envelope (handler_reads).

A route function takes a Request and returns the envelope's output (or a
Raw body, for the one route that answers no envelope); it raises
errors.ConnectorError for an error envelope.  It runs under the
model's lock.
"""

import dataclasses
import json
import re
import urllib.parse

from zvmsdk import exception as sdk_exception
from zvmsdk.sdkwsgi import validation

from nova_ibmz.sim.zvm import errors


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict                 # name: [values], as webob's dict_of_lists
    data: bytes                 # the body as sent
    model: object
    member: object              # the Member whose connector answers
    params: dict = dataclasses.field(default_factory=dict)  # from the path
    body: object = None         # the JSON body, once the route has read it

    def arg(self, name, default=None):
        """One query parameter's value."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        """The body as a real handler reads it (util.extract_json): JSON
        null is None; no body or no JSON is the web layer's 400."""
        try:
            return json.loads(self.data.decode())
        except ValueError as e:
            raise errors.wsgi(400, f'Malformed JSON: {e}')


@dataclasses.dataclass
class Raw:
    """A route's answer that is the whole body, without the envelope."""
    body: object


@dataclasses.dataclass
class Route:
    method: str
    path: str
    func: object
    schema: dict | None = None          # the body's schema
    query_schema: dict | None = None    # the query's (or path's) schema
    extra_status: object = None         # e.g. errors.NOT_FOUND
    smapi: bool = True                  # False: answered from the database

    def __post_init__(self):
        self.regex = re.compile(
            re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)', self.path) + '$')


@dataclasses.dataclass
class Action:
    """One action of POST /guests/{userid}/action."""
    func: object
    schema: dict | None = None
    smapi: bool = True


ROUTES = []
ACTIONS = {}


def route(method, path, schema=None, query_schema=None, extra_status=None,
          smapi=True):
    """Register the decorated function for a route."""
    def register(func):
        ROUTES.append(Route(method, path, func, schema, query_schema,
                            extra_status, smapi))
        return func
    return register


def action(name, schema=None, smapi=True):
    def register(func):
        ACTIONS[name] = Action(func, schema, smapi)
        return func
    return register


def validate(schema, target, is_body=True):
    """The real server's check, with its message."""
    try:
        validation._SchemaValidator(schema, is_body=is_body).validate(target)
    except sdk_exception.ValidationError as e:
        raise errors.wsgi(400, f'ValidationError: {e.format_message()}')


def parse(method, raw_path, headers, body):
    """(path, query) of a request, or webob's 400 page for a body without
    a content type."""
    path, _, query = raw_path.partition('?')
    if body and not headers.get('Content-Type'):
        raise errors.WebPage(
            400, 'content-type header required when content-length > 0')
    return (urllib.parse.unquote(path),
            urllib.parse.parse_qs(query, keep_blank_values=True))


def handler_reads(read):
    """What a real handler takes out of the body before validating it
    (read, a function): a body without it, or no JSON object, crashes the
    handler, which FaultWrapper answers with its 500 envelope."""
    try:
        return read()
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise errors.wsgi_500()


def find(method, path):
    """The route for the request, and its path parameters."""
    # Literal paths first: /guests/stats is not a guest named STATS.
    for r in sorted(ROUTES, key=lambda r: r.path.count('{')):
        match = r.regex.match(path)
        if match:
            # The first path that matches decides, whatever its methods.
            same = [x for x in ROUTES if x.path == r.path]
            for x in same:
                if x.method == method:
                    return x, match.groupdict()
            raise errors.WebPage(
                405, 'The method specified is not allowed for this '
                'resource.', {'allow': ', '.join(x.method for x in same)})
    raise errors.WebPage(404)


def dispatch(req, r):
    """The envelope's output for req on route r."""
    if r.query_schema is not None:
        # The real decorator checks the path's parameters when there are
        # any, and the query string otherwise.
        validate(r.query_schema, req.params or req.query, is_body=False)
    if r.schema is not None:
        req.body = req.json()
        validate(r.schema, req.body)
    return r.func(req)


def action_name(body):
    """The action a real guest_action handler runs for body, or a web
    layer error: 400 when the body has no "action" (as `in` reads a
    string or a list too), the 500 of its crash when the body has no
    length or cannot be indexed by "action", or when the action is no
    string (getattr() refuses it)."""
    def read():
        if len(body) == 0 or 'action' not in body:
            raise errors.wsgi(400, 'action not exist or is empty')
        return body['action']
    name = handler_reads(read)
    if not isinstance(name, str):
        raise errors.wsgi_500()
    if name not in ACTIONS:
        raise errors.wsgi(400, f'action {name} is invalid')
    return name


@route('POST', '/guests/{userid}/action',
       extra_status=errors.NOT_FOUND_OR_CONFLICT, smapi=False)
def guest_action(req):
    body = req.json()
    name = action_name(body)
    act = ACTIONS[name]
    body = {k: v for k, v in body.items() if k != 'action'}
    if act.schema is not None:
        validate(act.schema, body)
    if act.smapi and req.model.smapi_down():
        raise errors.smapi_down(name)
    return act.func(dataclasses.replace(req, body=body))
