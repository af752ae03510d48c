# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Asynchronous HMC operations: what they are and how long they run.

An asynchronous operation answers 202 with a job URI.  The job reports
``running`` until its duration has passed, then ``complete`` with the
operation's HTTP status, reason code and results, as the HMC's "Query Job
Status" does.  Jobs are plain data, so they survive a simulator restart.
"""

import dataclasses
import uuid

# Seconds an operation runs on the simulated HMC unless --job-seconds says
# otherwise.  Start and stop are what a small Linux partition takes on a
# real CPC; the others are quicker in the simulator than in life.
DEFAULT_SECONDS = {
    'start': 3.0,
    'stop': 2.0,
    'dump': 5.0,
    'psw-restart': 1.0,
    'mount-iso': 1.0,
}


def parse_seconds(spec):
    """Job durations from a --job-seconds SPEC.

    SPEC is one number for every kind of job, or ``kind=seconds`` pairs
    separated by commas (``start=3,stop=2``) that override the defaults.
    """
    seconds = dict(DEFAULT_SECONDS)
    if not spec:
        return seconds
    if '=' not in spec:
        return dict.fromkeys(seconds, _non_negative(spec, spec))
    for item in spec.split(','):
        kind, sep, value = item.partition('=')
        kind = kind.strip()
        if not sep or kind not in seconds:
            raise ValueError(
                f'--job-seconds: {item!r} is not kind=seconds with a kind '
                f'of {", ".join(sorted(seconds))}')
        seconds[kind] = _non_negative(value, item)
    return seconds


def _non_negative(value, item):
    try:
        number = float(value)
    except ValueError:
        number = -1
    if not number >= 0:     # also NaN, which would never be due
        raise ValueError(f'--job-seconds: {item!r} needs a number of '
                         'seconds >= 0')
    return number


@dataclasses.dataclass
class Failure:
    """How a job ends when its operation fails (HMC error fields)."""

    status: int
    reason: int
    message: str


@dataclasses.dataclass
class Job:
    kind: str
    op_method: str
    op_uri: str
    target_uri: str
    deadline: float
    failure: Failure | None = None
    job_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    status: str = 'running'
    status_code: int | None = None
    reason_code: int | None = None
    results: dict | None = None

    @property
    def uri(self):
        return f'/api/jobs/{self.job_id}'

    def due(self, now):
        return self.status == 'running' and now >= self.deadline

    def finish(self, failure=None):
        """Record the outcome: success, or the failure the HMC reports."""
        self.status = 'complete'
        if failure is None:
            self.status_code, self.reason_code, self.results = 200, 0, {}
        else:
            self.status_code, self.reason_code = failure.status, failure.reason
            self.results = {'message': failure.message}

    def query(self):
        """The body of GET /api/jobs/{id}."""
        body = {'status': self.status}
        if self.status == 'complete':
            body.update({'job-status-code': self.status_code,
                         'job-reason-code': self.reason_code,
                         'job-results': self.results})
        return body

    def to_state(self, now):
        state = dataclasses.asdict(self)
        state['remaining'] = max(0.0, self.deadline - now)
        del state['deadline']
        return state

    @classmethod
    def from_state(cls, state, now):
        state = dict(state)
        failure = state.pop('failure')
        remaining = state.pop('remaining')
        return cls(deadline=now + remaining,
                   failure=Failure(**failure) if failure else None, **state)
