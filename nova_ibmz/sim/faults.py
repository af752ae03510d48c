# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Faults a test injects through POST /_sim/faults, for every simulator.

A rule matches requests by HTTP method and a regular expression searched
in the path (with its query string), lets the first ``after`` of them pass
(none by default), and applies to the next ``times`` matching requests
(every one if ``times`` is omitted).  It does one thing of its KINDS: add
latency, drop the connection without an answer, answer an error (each
simulator's Rule says what an error carries), or begin an outage.
Separately, the whole endpoint can be made unavailable for some seconds:
every connection is then dropped, as when the server reboots.  An outage
rule does that from the request it matches on (which is dropped too): a
test can make the endpoint go away at an exact step of an operation, and
end the outage with DELETE /_sim/faults.
"""

import dataclasses
import re
import threading
import time
import typing


class InvalidFault(ValueError):
    pass


@dataclasses.dataclass
class Rule:
    method: str
    path: str
    times: int | None = None
    after: int = 0
    status: int | None = None
    latency_ms: int | None = None
    drop: bool = False
    outage_s: float | None = None

    KINDS: typing.ClassVar = ('status', 'latency_ms', 'drop', 'outage_s')

    @property
    def deferred(self):
        """True for a rule applied later than the request (an HMC job)."""
        return False

    @classmethod
    def convert(cls, body):
        """The constructor's arguments from a checked JSON body."""
        return body

    def matches(self, method, path):
        return (self.method in ('*', method) and
                re.search(self.path, path) is not None)

    def to_json(self):
        return dataclasses.asdict(self)


def parse_rule(body, rule_cls=Rule):
    """A rule_cls from the JSON body of POST /_sim/faults, or InvalidFault."""
    if not isinstance(body, dict):
        raise InvalidFault('a fault is a JSON object')
    unknown = set(body) - {f.name for f in dataclasses.fields(rule_cls)}
    if unknown:
        raise InvalidFault(f'unknown fault fields: {sorted(unknown)}')
    for field in ('method', 'path'):
        if not isinstance(body.get(field), str):
            raise InvalidFault(f'{field!r} is required (a string)')
    _check_types(body)
    try:
        re.compile(body['path'])
    except re.error as e:
        raise InvalidFault(f"'path' is not a regular expression: {e}")
    rule = rule_cls(**rule_cls.convert(
        dict(body, method=body['method'].upper())))
    kinds = rule_cls.KINDS
    if sum(getattr(rule, k) not in (None, False) for k in kinds) != 1:
        raise InvalidFault(f'a fault does exactly one of {kinds}')
    if rule.times is not None and rule.times < 1:
        raise InvalidFault("'times' must be at least 1")
    if not isinstance(rule.after, int) or rule.after < 0:
        raise InvalidFault("'after' must be a whole number >= 0")
    return rule


def whole_number(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_types(body):
    """The shared fields' types, so that a rule cannot break the answers
    it applies to."""
    for field in ('times', 'after'):
        if field in body and not whole_number(body[field]):
            raise InvalidFault(f'{field!r} must be a whole number')
    status = body.get('status')
    if status is not None and not (whole_number(status) and
                                   100 <= status <= 599):
        raise InvalidFault("'status' must be an HTTP status (100 to 599)")
    for field, unit in (('latency_ms', 'milliseconds'),
                        ('outage_s', 'seconds')):
        value = body.get(field)
        if value is not None and not (
                isinstance(value, (int, float)) and
                not isinstance(value, bool) and value > 0):
            raise InvalidFault(f"'{field}' must be a number of {unit} "
                               f"above 0")
    if not isinstance(body.get('drop', False), bool):
        raise InvalidFault("'drop' must be true or false")


class Faults:
    """The active rules, consumed as requests match them (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []
        self._unavailable_until = 0.0

    def add(self, rule):
        with self._lock:
            self._rules.append(rule)

    def clear(self):
        with self._lock:
            self._rules.clear()
            self._unavailable_until = 0.0

    def rules(self):
        with self._lock:
            return [r.to_json() for r in self._rules]

    def make_unavailable(self, seconds):
        with self._lock:
            self._unavailable_until = time.monotonic() + seconds

    def unavailable(self):
        with self._lock:
            return time.monotonic() < self._unavailable_until

    def take(self, method, path, deferred=False):
        """The first rule for this request, counted as used; or None.

        deferred=True looks only at the rules applied later than the
        request (an HMC job's failure), deferred=False at the others.
        """
        with self._lock:
            for rule in self._rules:
                if rule.deferred == deferred and rule.matches(method, path):
                    if rule.after:
                        rule.after -= 1
                        continue
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self._rules.remove(rule)
                    return rule
        return None
