# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Cloud Connector's fault rules (nova_ibmz.sim.faults has what every
simulator's rules share).

An error answers the HTTP ``status`` with the connector's envelope; the
envelope's codes default to what the connector's status mapping would give
that status back from: overallRC and rc the status, rs 1, modID 120.
"""

import dataclasses

from nova_ibmz.sim import faults


@dataclasses.dataclass
class Rule(faults.Rule):
    overallRC: int | None = None
    rc: int | None = None
    rs: int = 1
    modID: int = 120
    errmsg: str = 'Fault injected by the simulator'

    def envelope(self):
        overall = self.overallRC if self.overallRC is not None else \
            self.status
        return {'overallRC': overall,
                'rc': self.rc if self.rc is not None else overall,
                'rs': self.rs, 'modID': self.modID, 'errmsg': self.errmsg,
                'output': ''}


def parse_rule(body):
    rule = faults.parse_rule(body, Rule)
    for field in ('overallRC', 'rc', 'rs', 'modID'):
        value = getattr(rule, field)
        if value is not None and not faults.whole_number(value):
            raise faults.InvalidFault(f'{field!r} must be a whole number')
    if not isinstance(rule.errmsg, str):
        raise faults.InvalidFault("'errmsg' must be a string")
    return rule
