# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM agent's benchmark (benchmarks/dpm_agent.py) at a small scale:
what it counts is exact, so it is checked here; what it times is only
reported."""

from benchmarks import dpm_agent


def test_the_requests_per_interval_it_reports(tmp_path):
    rows = dpm_agent.polling_cost(partitions=2, nics=3, workdir=tmp_path)
    assert [(count, target) for _, count, target, _ in rows] == [
        (11, None),         # CPC, its API features, the switches, adapters
        (3 + 6 + 3, 3 + 6 + 3),
        (3, 3), (3 + 1, 3 + 1), (3 + 3, 3 + 3), (3, 3), (3, 3)]
    text = dpm_agent.markdown(rows, {1: [(0.5, 0.4), (0.7, 0.6)]}, 2, 3, 2)
    assert '| an interval, nothing new | 3 | 3 | yes |' in text
    assert '| 1 s | 0.50 / 0.60 / 0.70 | 0.40 / 0.50 / 0.60 |' in text
