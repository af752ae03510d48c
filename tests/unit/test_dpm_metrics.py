# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""DPMDriver.get_host_cpu_stats on the HMC simulator: CPU times integrated
from the CPC's shared IFL usage (dpm.metrics), as Nova's cpu.virt_driver
monitor reads them."""

import concurrent.futures
import threading
import time
import types

from nova.compute.monitors.cpu import virt_driver
from nova import conf as nova_conf
from nova import objects
import pytest

from nova_ibmz.sim.hmc import metrics as sim_metrics
from tests import hmc
from tests import hmcsim
from tests.unit import test_dpm_driver as lifecycle

PROCESSORS = hmc.make_config().max_processors


@pytest.fixture
def driver():
    dpm = hmc.driver(None, known_instances=hmc.no_instances)
    dpm.init_host(hmc.HOST)
    return dpm


def cpc_figure():
    """The simulator's ifl-shared-processor-usage of HOST's CPC now."""
    with hmc.server().sim.lock:
        return sim_metrics.system_usage(hmc.server().sim, hmc.faked_cpc())[
            'ifl-shared-processor-usage']


def total(stats):
    return stats['user'] + stats['kernel'] + stats['idle'] + stats['iowait']


def interval(driver):
    """Two calls 0.2 s apart: (first, second, shortest and longest time
    the driver can have counted between them, in ns)."""
    before = time.monotonic_ns()
    first = driver.get_host_cpu_stats()
    after_first = time.monotonic_ns()
    time.sleep(0.2)
    before_second = time.monotonic_ns()
    second = driver.get_host_cpu_stats()
    return first, second, before_second - after_first, \
        time.monotonic_ns() - before


def assert_integrated(driver, percent):
    """The time between two calls is the subset's processors' time, busy
    by the CPC's figure (rounded down to the ns), the rest idle."""
    first, second, shortest, longest = interval(driver)
    counted = total(second) - total(first)
    assert shortest * PROCESSORS <= counted <= longest * PROCESSORS
    assert second['user'] - first['user'] == counted * percent // 100
    assert second['idle'] - first['idle'] == \
        counted - counted * percent // 100


def test_cpu_times_follow_the_cpc_usage(driver):
    """Busy time grows by elapsed x processors x usage, with the figure
    the simulator gives as partitions start and stop."""
    stats = driver.get_host_cpu_stats()
    assert set(stats) == {'kernel', 'idle', 'user', 'iowait', 'frequency'}
    assert all(isinstance(value, int) for value in stats.values())
    # The HMC splits no kernel or I/O wait time and tells no frequency.
    assert (stats['kernel'], stats['iowait'], stats['frequency']) == (0,) * 3
    quiet = cpc_figure()
    assert quiet > 0            # the topology's other workloads run
    assert_integrated(driver, quiet)

    instance = lifecycle.make_instance(vcpus=16)
    lifecycle.spawn(driver, instance)
    busy = cpc_figure()
    assert busy > quiet
    assert_integrated(driver, busy)
    driver.power_off(instance)
    assert cpc_figure() == quiet
    assert_integrated(driver, quiet)


def test_all_idle_when_no_partition_runs(driver):
    with hmc.server().sim.lock:
        for part in hmc.faked_cpc().partitions.list():
            part.properties['status'] = 'stopped'
    assert cpc_figure() == 0
    first, second, _, _ = interval(driver)
    assert second['user'] == first['user']
    assert second['idle'] - first['idle'] == total(second) - total(first) > 0


def test_one_context_and_one_request_per_call(driver):
    """Diagnostics and CPU stats share one metrics context for both
    groups; each question is one Get Metrics."""
    instance = lifecycle.make_instance()
    lifecycle.spawn(driver, instance)
    controls = hmcsim.Controls(hmc.server())
    seq = controls.last_seq()
    driver.get_host_cpu_stats()
    driver.get_diagnostics(instance)
    driver.get_host_cpu_stats()
    calls = [call for call in lifecycle.api_calls(controls, seq)
             if call[1].startswith('/api/services/metrics/')]
    with hmc.server().sim.lock:
        [context] = hmc.server().sim.hmc.metrics_contexts.list()
        groups = context.properties['metric-groups']
    assert groups == [sim_metrics.PARTITION_USAGE, sim_metrics.SYSTEM_USAGE]
    assert calls == [('POST', '/api/services/metrics/context')] + [
        ('GET', context.uri)] * 3


def test_metrics_context_made_again_after_a_new_logon(driver):
    """The HMC drops a session's metrics contexts with the session; the
    count goes on."""
    first = driver.get_host_cpu_stats()
    hmcsim.Controls(hmc.server()).call('POST', '/sessions/expire')
    with hmc.server().sim.lock:
        sim = hmc.server().sim
        for context in sim.hmc.metrics_contexts.list():
            sim.hmc.metrics_contexts.remove(context.oid)
    second = driver.get_host_cpu_stats()
    assert second['user'] > first['user']
    assert total(second) > total(first)
    with hmc.server().sim.lock:
        assert len(hmc.server().sim.hmc.metrics_contexts.list()) == 1


def test_concurrent_calls_count_each_interval_once(driver):
    """Nova calls a driver from several threads: every answer is one
    consistent state of the count, and together they count the time
    since the driver started once."""
    start = time.monotonic_ns()
    barrier = threading.Barrier(8)

    def call(_):
        barrier.wait()
        return driver.get_host_cpu_stats()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(call, range(8)), key=total)
    for earlier, later in zip(answers, answers[1:]):
        assert later['user'] >= earlier['user']
        assert later['idle'] >= earlier['idle']
    assert total(answers[-1]) <= (time.monotonic_ns() - start) * PROCESSORS \
        + total(answers[0])


@pytest.fixture
def monitor(driver):
    """Nova's cpu.virt_driver monitor, reading the driver as the resource
    tracker's periodic task has it do."""
    nova_conf.CONF.set_override('compute_driver', 'ibmz.DPMDriver')
    try:
        yield virt_driver.Monitor(types.SimpleNamespace(driver=driver))
    finally:
        nova_conf.CONF.clear_override('compute_driver')


def sample(monitor):
    metrics = objects.MonitorMetricList(objects=[])
    monitor.populate_metrics(metrics)
    return {m.name: m.value for m in metrics.objects}


def test_nova_cpu_monitor(driver, monitor):
    """cpu.percent is the CPC's figure (Nova truncates its fraction to an
    integer, so it may read one less), from the first sample on: the count
    started with the driver, so the first total is not 0."""
    quiet = cpc_figure()
    first = sample(monitor)
    assert quiet - 1 <= first['cpu.percent'] <= quiet
    instance = lifecycle.make_instance(vcpus=16)
    lifecycle.spawn(driver, instance)
    busy = cpc_figure()
    time.sleep(0.1)
    second = sample(monitor)
    assert busy - 1 <= second['cpu.percent'] <= busy
    assert second['cpu.user.percent'] == second['cpu.percent']
    assert 99 <= second['cpu.user.percent'] + second['cpu.idle.percent'] \
        <= 100
    assert second['cpu.kernel.percent'] == second['cpu.iowait.percent'] == 0
    assert second['cpu.frequency'] == 0
    assert second['cpu.user.time'] > first['cpu.user.time']
