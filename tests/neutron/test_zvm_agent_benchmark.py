# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The z/VM agent's benchmark (benchmarks/zvm_agent.py) at a small scale:
what it counts is exact, so it is checked here; what it times is only
reported."""

from benchmarks import zvm_agent


def test_the_requests_per_interval_it_reports(tmp_path):
    rows = zvm_agent.polling_cost(guest_count=4, workdir=tmp_path)
    assert [(count, target) for _, count, target, _ in rows] == [
        (1, 1),             # GET /vswitches
        (1 + 4, 1 + 4),     # the NICs, each guest's mark once
        (1, 1),
        (1 + 2, 1 + 2),     # 2 new guests; a new NIC of a known one: 0
        (1 + 1 + 1 + 2 * 2, 1 + 1 + 1 + 2 * 2),     # an in-tree guest
        (1, 1), (1, 1)]
    assert rows[1][0] == ('first interval: 4 guests of ours with 6 NICs, '
                          '53 foreign guests')
    text = zvm_agent.markdown(rows, {1: [(0.5, 0.4, 0.3, 0.2),
                                         (0.7, 0.6, 0.5, 0.4)]}, 4, 2)
    assert '| an interval, nothing new | 1 | 1 | yes |' in text
    assert ('| polling interval | our NIC coupled -> ACTIVE | our NIC '
            'deleted -> DOWN | in-tree NIC made -> ACTIVE | in-tree NIC '
            'deleted -> DOWN |\n|---|---|---|---|---|\n') in text
    assert ('| 1 s | 0.50 / 0.60 / 0.70 | 0.40 / 0.50 / 0.60 | '
            '0.30 / 0.40 / 0.50 | 0.20 / 0.30 / 0.40 |') in text
