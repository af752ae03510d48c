# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The benchmark harness (benchmarks/) without latency: what it counts is
exact, so it is checked here; what it times is reported by `make bench`
and never asserted."""

import pytest

from benchmarks import concurrency
from benchmarks import operations
from benchmarks import report
from benchmarks import rig
from benchmarks import scale

DPM_OPERATIONS = ['spawn', 'get_info', 'get_available_resource',
                  'power_off', 'power_on', 'reboot', 'attach_volume',
                  'detach_volume', 'snapshot', 'resize', 'live_migration',
                  'destroy']


@pytest.fixture(scope='module')
def counts():
    return operations.run(rig.NO_LATENCY)


@pytest.fixture(scope='module')
def points():
    return scale.run(dpm_sizes=(1, 4), zvm_sizes=(1, 30))


def test_every_operation_of_every_driver_is_measured_or_missing(counts):
    missing = {key: sorted(op.name for op in ops if op.sample is None)
               for key, ops in counts.items()}
    assert missing == {
        'dpm': ['live_migration', 'resize', 'snapshot'],
        'zvm': [],
        'nova-zvm': ['attach_volume', 'detach_volume', 'live_migration',
                     'resize']}
    for ops in counts.values():
        assert [op.name for op in ops] == DPM_OPERATIONS
        for op in ops:
            assert op.sample is None or op.sample.total >= 0


def test_dpm_spawn_costs_8_requests_and_the_polls_of_its_job(counts):
    spawn = counts['dpm'][0].sample
    assert (spawn.requests, spawn.job_polls) == (8, 2)


def test_a_sync_period_costs_one_request_for_ours_and_one_per_guest_in_tree(
        points):
    assert [(p.instances, p.sync.total) for p in points['dpm']] == [
        (1, 1), (4, 1)]
    assert [(p.instances, p.sync.total) for p in points['zvm']] == [
        (1, 1), (30, 1)]
    # get_num_instances lists the guests, then one request per guest.
    assert [(p.instances, p.sync.total) for p in points['nova-zvm']] == [
        (1, 2), (30, 31)]


def test_the_report_shows_the_targets_and_the_plots(counts, points,
                                                    tmp_path):
    burst = concurrency.Burst('zvm-1', 20, 19, 12.5, 80, 30, 250.0, 200.0,
                              ['No valid host was found.'])
    rows = report.write(tmp_path, rig.Latency(), counts, counts, points,
                        [burst])
    text = (tmp_path / 'latest.md').read_text()
    for heading in ('## Targets', '## 1. Requests per operation',
                    '## 2. Wall time under latency', '## 3. Scale',
                    '## 4. Concurrency'):
        assert heading in text
    assert '| spawn | 8 + 2 polls | 7 |' in text
    assert (tmp_path / 'scale.png').stat().st_size > 1000
    assert (tmp_path / 'wall_time.png').stat().st_size > 1000
    met = {target.split(':')[0]: ok for target, _, ok in rows}
    assert met['20 concurrent boots'] is False
    assert met['DPM spawn, 2 NICs and 1 adapter'] is True
