# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The HMC's fault rules (nova_ibmz.sim.faults has what every simulator's
rules share).

An HMC error carries an HTTP status, a reason code and a message; one more
kind of fault lets the job of an asynchronous operation fail.
"""

import dataclasses
import typing

from nova_ibmz.sim import faults
from nova_ibmz.sim.hmc import jobs

Faults = faults.Faults
InvalidFault = faults.InvalidFault


@dataclasses.dataclass
class Rule(faults.Rule):
    reason: int = 0
    message: str = 'Fault injected by the simulator'
    job_failure: jobs.Failure | None = None

    KINDS: typing.ClassVar = faults.Rule.KINDS + ('job_failure',)

    @property
    def deferred(self):
        return self.job_failure is not None

    @classmethod
    def convert(cls, body):
        failure = body.get('job_failure')
        if failure is None:
            return body
        try:
            return dict(body, job_failure=jobs.Failure(**failure))
        except TypeError:
            raise InvalidFault("'job_failure' needs status, reason and "
                               "message")


def parse_rule(body):
    return faults.parse_rule(body, Rule)
