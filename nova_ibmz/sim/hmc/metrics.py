# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Get Metrics with a "partition-usage" group for every partition.

zhmcclient.mock answers only the values a topology prepared, so a partition
made later has none.  The simulator makes them up from the partition's
status: a partition that is not running uses nothing; a running one shows
a processor usage that stays the same for it (taken from its object id),
so tests can compare.  Other groups come from the topology as before.
"""

import hashlib
import time

from nova_ibmz.sim.hmc import common

PARTITION_USAGE = 'partition-usage'
RUNNING = frozenset(['active', 'degraded'])


def usage(partition):
    """Values of the partition-usage group, in the group's metric order:
    processor, network, storage, accelerator, crypto usage (percent)."""
    if partition.properties.get('status') not in RUNNING:
        return [0, 0, 0, 0, 0]
    seed = hashlib.sha256(partition.oid.encode()).digest()
    return [5 + seed[0] % 40, seed[1] % 20, seed[2] % 20, 0, 0]


def _value(value):
    return f'"{value}"' if isinstance(value, str) else str(value)


def get_metrics(sim, req):
    """The MetricsResponse text of Get Metrics (not JSON)."""
    context = common.lookup(
        sim, req, f'/api/services/metrics/context/{req.parms[0]}')
    groups = context.properties.get('metric-groups') or (
        [PARTITION_USAGE] + list(sim.hmc.metric_values))
    now = int(time.time() * 1000)
    lines = []
    for group in groups:
        if group == PARTITION_USAGE:
            rows = [(p.uri, now, usage(p)) for p in sim.all_partitions()]
        elif group in sim.hmc.metric_values:
            rows = [(v.resource_uri, int(v.timestamp.timestamp() * 1000),
                     [value for _, value in v.values])
                    for v in sim.hmc.metric_values[group]]
        else:
            continue
        lines.append(f'"{group}"')
        for uri, timestamp, values in rows:
            lines += [f'"{uri}"', str(timestamp),
                      ','.join(_value(v) for v in values), '']
        lines.append('')
    lines.append('')
    return '\n'.join(lines) + '\n'
