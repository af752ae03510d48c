# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Get Metrics with the usage groups computed from the partitions.

zhmcclient.mock answers only the values a topology prepared, so a partition
made later has none and a CPC's figures never change.  The simulator makes
them up from the partitions' statuses instead:

- "partition-usage", for every partition: one that is not running uses
  nothing; a running one shows a processor usage that stays the same for
  it (taken from its object id), so tests can compare.
- "dpm-system-usage-overview", for every CPC in DPM mode: what its running
  partitions use of the CPC's processors (see system_usage).

Other groups come from the topology as before.
"""

import hashlib
import time

from nova_ibmz.sim.hmc import common

PARTITION_USAGE = 'partition-usage'
SYSTEM_USAGE = 'dpm-system-usage-overview'
RUNNING = frozenset(['active', 'degraded'])
# A processor type: the partition property that counts a partition's
# processors of the type, and the CPC property that counts the CPC's.
IFL = ('ifl-processors', 'processor-count-ifl')
CP = ('cp-processors', 'processor-count-general-purpose')


def usage(partition):
    """Values of the partition-usage group, in the group's metric order:
    processor, network, storage, accelerator, crypto usage (percent)."""
    if partition.properties.get('status') not in RUNNING:
        return [0, 0, 0, 0, 0]
    seed = hashlib.sha256(partition.oid.encode()).digest()
    return [5 + seed[0] % 40, seed[1] % 20, seed[2] % 20, 0, 0]


def _busy(cpc, running, kinds):
    """Percent of the CPC's processors of the kinds in use: each running
    partition's processors of those kinds times its processor usage, over
    the CPC's count of them, at most 100 (PR/SM gives no more than the
    CPC has, however many processors partitions define)."""
    count = sum(cpc.properties.get(total) or 0 for _, total in kinds)
    used = sum((part.properties.get(own) or 0) * figures[0]
               for part, figures in running for own, _ in kinds)
    return min(100, round(used / count)) if count else 0


def system_usage(sim, cpc):
    """{metric: value} of the dpm-system-usage-overview group of a DPM
    CPC, in the order of the group's definition in zhmcclient.mock.

    Every partition's processors count as shared, as nova-ibmz makes them
    (and the mock's default): the dedicated figures stay 0.  Network,
    storage, accelerator and crypto usage are the mean of the running
    partitions'; power and temperature rise with the processor usage.
    """
    running = [(p, usage(p)) for p in cpc.partitions.list()
               if p.properties.get('status') in RUNNING]
    means = [round(sum(column) / len(running))
             for column in zip(*(f for _, f in running))] or [0] * 5
    processors = _busy(cpc, running, (IFL, CP))
    values = {
        'processor-usage': processors,
        'network-usage': means[1],
        'storage-usage': means[2],
        'accelerator-usage': means[3],
        'crypto-usage': means[4],
        'power-consumption-watts': 4000 + 60 * processors,
        'temperature-celsius': round(20.0 + processors / 10, 1),
        'cp-shared-processor-usage': _busy(cpc, running, (CP,)),
        'cp-dedicated-processor-usage': 0,
        'ifl-shared-processor-usage': _busy(cpc, running, (IFL,)),
        'ifl-dedicated-processor-usage': 0,
    }
    # A KeyError here means zhmcclient.mock defines a metric we do not
    # make: zhmcclient.MetricsResponse would misread a shorter row.
    return {name: values[name]
            for name, _ in sim.hmc.metric_groups[SYSTEM_USAGE].types}


def _partition_rows(sim, now):
    return [(p.uri, now, usage(p)) for p in sim.all_partitions()]


def _system_rows(sim, now):
    return [(c.uri, now, list(system_usage(sim, c).values()))
            for c in sim.hmc.cpcs.list() if c.properties.get('dpm-enabled')]


# The groups made up here; a topology's values of them are not used.
COMPUTED = {PARTITION_USAGE: _partition_rows, SYSTEM_USAGE: _system_rows}


def _value(value):
    return f'"{value}"' if isinstance(value, str) else str(value)


def get_metrics(sim, req):
    """The MetricsResponse text of Get Metrics (not JSON)."""
    context = common.lookup(
        sim, req, f'/api/services/metrics/context/{req.parms[0]}')
    groups = context.properties.get('metric-groups') or (
        list(COMPUTED) + [g for g in sim.hmc.metric_values
                          if g not in COMPUTED])
    now = int(time.time() * 1000)
    lines = []
    for group in groups:
        if group in COMPUTED:
            rows = COMPUTED[group](sim, now)
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
