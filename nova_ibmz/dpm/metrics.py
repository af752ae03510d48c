# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Partition usage from the HMC's metrics service.

The HMC reports how busy a partition's processors are (percent, at the
moment of asking), not how much CPU time it has used.  Cost: creating the
metrics context once per compute host (1 request; again if the HMC has
dropped it, as it does with the session), then 1 request per question,
which answers for every partition at once.
"""

import threading

import zhmcclient

GROUP = 'partition-usage'


class PartitionUsage:
    """The partition-usage metrics of one CPC subset's HMC."""

    def __init__(self, subset):
        self._subset = subset
        self._context = None
        self._lock = threading.Lock()

    def processor_usage(self, partition_uri):
        """Percent of its processors the partition uses now, or None."""
        for group in self._response().metric_group_values:
            if group.name != GROUP:
                continue
            for values in group.object_values:
                if values.resource_uri == partition_uri:
                    return values.metrics.get('processor-usage')
        return None

    def _response(self):
        with self._lock:
            for attempt in (1, 2):
                if self._context is None:
                    self._context = self._subset.hmc_call(
                        'creating a metrics context',
                        self._subset.cpc.manager.client.metrics_contexts
                        .create, {'anticipated-frequency-seconds': 15,
                                  'metric-groups': [GROUP]})
                try:
                    text = self._subset.hmc_call('reading metrics',
                                                 self._context.get_metrics)
                    return zhmcclient.MetricsResponse(self._context, text)
                except zhmcclient.HTTPError:    # 404: the context is gone
                    self._context = None
                    if attempt == 2:
                        raise
