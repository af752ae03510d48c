# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Usage from the HMC's metrics service: how busy a partition's processors
are, and the host's CPU times made up from how busy the CPC's are.

The HMC reports how busy processors are (percent, at the moment of
asking), not how much CPU time they have used.  Cost: creating the metrics
context once per compute host (1 request; again if the HMC has dropped
it, as it does with the session), then 1 Get Metrics request per
question, which answers both groups at once: partition-usage for every
partition, dpm-system-usage-overview for the CPC.
"""

import threading
import time

import zhmcclient

from nova_ibmz.common.exception import HypervisorUnreachable

PARTITION_USAGE = 'partition-usage'
SYSTEM_USAGE = 'dpm-system-usage-overview'
# Our partitions run on shared IFLs (partition.create_properties), which
# PR/SM dispatches from the CPC's one pool of shared IFLs: how busy that
# pool is, is how busy the subset's processors are.  The CPC's
# processor-usage would mix in CPs and dedicated IFLs, which no partition
# of ours can use.
HOST_METRIC = 'ifl-shared-processor-usage'


class CPUTimes:
    """Cumulative CPU times in ns, integrated from usage figures.

    Each figure stands for the time since the one before: busy time is
    that time x the processors x the figure, the rest idle.  The count
    starts when this object is made (the driver's start), not when the
    host booted: the HMC tells no start time of a CPC.  Starting there
    rather than at the first figure gives Nova's cpu.virt_driver monitor a
    non-zero total at its first sample, which it divides by.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._last = time.monotonic_ns()
        self._busy = 0
        self._idle = 0

    def add(self, percent, processors):
        """Count the time since the last call at percent busy; Nova's
        get_host_cpu_stats dict.  The HMC splits no time into kernel or
        I/O wait (those stay 0) and tells no processor frequency (0)."""
        with self._lock:
            now = time.monotonic_ns()
            capacity = (now - self._last) * processors
            self._last = now
            busy = capacity * percent // 100
            self._busy += busy
            self._idle += capacity - busy
            return {'kernel': 0, 'idle': self._idle, 'user': self._busy,
                    'iowait': 0, 'frequency': 0}


class PartitionUsage:
    """The usage metrics of one CPC subset's HMC, from one metrics
    context: its partitions' and its CPC's."""

    def __init__(self, subset):
        self._subset = subset
        self._context = None
        self._lock = threading.Lock()
        self._cpu_times = CPUTimes()

    def processor_usage(self, partition_uri):
        """Percent of its processors the partition uses now, or None.
        Cost: 1 Get Metrics request."""
        return self._value(PARTITION_USAGE, partition_uri, 'processor-usage')

    def host_cpu_stats(self):
        """Nova's host CPU times of the subset ([dpm] max_processors), in
        ns since the driver started (CPUTimes), from the CPC's shared IFL
        usage now.  A figure the HMC did not give (an error) leaves its
        time to the next one.  Cost: 1 Get Metrics request."""
        cpc = self._subset.cpc
        percent = self._value(SYSTEM_USAGE, cpc.uri, HOST_METRIC)
        if percent is None:
            raise HypervisorUnreachable(
                self._subset.endpoint, f'no {HOST_METRIC} of CPC '
                f'{cpc.name} in its {SYSTEM_USAGE} metrics')
        return self._cpu_times.add(percent,
                                   self._subset.config.max_processors)

    def _value(self, group_name, resource_uri, metric):
        for group in self._response().metric_group_values:
            if group.name != group_name:
                continue
            for values in group.object_values:
                if values.resource_uri == resource_uri:
                    return values.metrics.get(metric)
        return None

    def _response(self):
        with self._lock:
            for attempt in (1, 2):
                if self._context is None:
                    self._context = self._subset.hmc_call(
                        'creating a metrics context',
                        self._subset.cpc.manager.client.metrics_contexts
                        .create, {'anticipated-frequency-seconds': 15,
                                  'metric-groups': [PARTITION_USAGE,
                                                    SYSTEM_USAGE]})
                try:
                    text = self._subset.hmc_call('reading metrics',
                                                 self._context.get_metrics)
                    return zhmcclient.MetricsResponse(self._context, text)
                except zhmcclient.HTTPError:    # 404: the context is gone
                    self._context = None
                    if attempt == 2:
                        raise
