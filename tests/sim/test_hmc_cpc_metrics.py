# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The dpm-system-usage-overview metrics of the simulator's DPM CPCs, read
with the real zhmcclient (MetricsResponse), beside partition-usage."""

import pytest
import zhmcclient
from zhmcclient.mock import _hmc as mock_hmc

from tests import hmcsim

GROUPS = ['partition-usage', 'dpm-system-usage-overview']
# The group's metrics in the order of zhmcclient.mock's definition.
SYSTEM_METRICS = [name for group in mock_hmc.METRIC_GROUPS
                  if group['name'] == GROUPS[1]
                  for name, _ in group['metrics']]


@pytest.fixture
def read(session):
    """Get Metrics of one context for both groups: {group: {resource
    uri: {metric: value}}}."""
    context = zhmcclient.Client(session).metrics_contexts.create(
        {'anticipated-frequency-seconds': 15, 'metric-groups': GROUPS})

    def read():
        response = zhmcclient.MetricsResponse(context, context.get_metrics())
        return {group.name: {values.resource_uri: values.metrics
                             for values in group.object_values}
                for group in response.metric_group_values}
    return read


def expected_ifl_usage(cpc, partition_usage):
    """What the running partitions use of the CPC's IFLs, in percent:
    each one's IFLs times its processor usage, over the CPC's IFLs."""
    parts = cpc.partitions.list(additional_properties=['ifl-processors'])
    used = sum(p.properties['ifl-processors'] *
               partition_usage[p.uri]['processor-usage'] for p in parts)
    return min(100, round(used / cpc.get_property('processor-count-ifl')))


def system(cpc, metrics):
    return metrics[GROUPS[1]][cpc.uri]


def test_one_request_answers_both_groups_with_every_metric(cpc, read):
    metrics = read()
    assert list(metrics) == GROUPS
    assert cpc.uri in metrics[GROUPS[1]]
    assert list(system(cpc, metrics)) == SYSTEM_METRICS
    assert isinstance(system(cpc, metrics)['temperature-celsius'], float)


def test_ifl_usage_follows_the_running_partitions(cpc, read):
    """Starting a partition raises the CPC's figure by its IFLs' share,
    stopping it lowers it again; with nothing running it is 0."""
    before = read()
    figure = system(cpc, before)['ifl-shared-processor-usage']
    assert figure == expected_ifl_usage(cpc, before[GROUPS[0]]) > 0
    part = cpc.partitions.create(hmcsim.partition_props('BUSY', ifls=16))
    hmcsim.wait_job(part.start(wait_for_completion=False))
    running = read()
    busier = system(cpc, running)
    assert busier['ifl-shared-processor-usage'] == expected_ifl_usage(
        cpc, running[GROUPS[0]]) > figure
    # No CPs on the CPC: all its processors are IFLs.
    assert busier['processor-usage'] == busier['ifl-shared-processor-usage']
    assert busier['cp-shared-processor-usage'] == 0
    assert busier['power-consumption-watts'] > system(
        cpc, before)['power-consumption-watts']

    hmcsim.wait_job(part.stop(wait_for_completion=False))
    assert system(cpc, read()) == system(cpc, before)
    for other in cpc.partitions.list(filter_args={'status': 'active'}):
        hmcsim.wait_job(other.stop(wait_for_completion=False))
    idle = system(cpc, read())
    assert idle['ifl-shared-processor-usage'] == idle['processor-usage'] == 0
    assert idle['network-usage'] == idle['storage-usage'] == 0


def test_usage_is_capped_at_100_percent(cpc, read):
    """Shared IFLs: partitions may define more than the CPC has.  Twenty
    running partitions of all 40 IFLs, each at least 5 % busy, would use
    more than all of them."""
    jobs = [cpc.partitions.create(hmcsim.partition_props(
        f'BIG-{index}', ifls=40)).start(wait_for_completion=False)
        for index in range(20)]
    for job in jobs:
        hmcsim.wait_job(job)
    assert system(cpc, read())['ifl-shared-processor-usage'] == 100


def test_every_dpm_cpc_has_its_own_figure(session, read):
    """Each DPM CPC of the HMC, from its own partitions only."""
    metrics = read()
    cpcs = [c for c in zhmcclient.Client(session).cpcs.list()
            if c.get_property('dpm-enabled')]
    assert {c.uri for c in cpcs} == set(metrics[GROUPS[1]])
    for cpc in cpcs:
        assert system(cpc, metrics)['ifl-shared-processor-usage'] == \
            expected_ifl_usage(cpc, metrics[GROUPS[0]])


def test_storage_groups_topology(sg_server):
    session = hmcsim.session(sg_server)
    try:
        cpc = hmcsim.cpc(session, hmcsim.SG_CPC_NAME)
        context = zhmcclient.Client(session).metrics_contexts.create(
            {'anticipated-frequency-seconds': 15,
             'metric-groups': [GROUPS[1]]})
        response = zhmcclient.MetricsResponse(context, context.get_metrics())
        [group] = response.metric_group_values
        [values] = group.object_values
        assert values.resource_uri == cpc.uri
        assert values.metrics['ifl-shared-processor-usage'] > 0
    finally:
        session.logoff()
