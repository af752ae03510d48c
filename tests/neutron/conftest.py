# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The Neutron side of the tests, in a pytest process of its own (make
test runs `pytest tests/neutron` after the Nova side): nothing here may
load nova, and the run fails if anything did.
"""

import sys

import pytest


def pytest_sessionfinish(session):
    loaded = sorted(m for m in sys.modules
                    if m == 'nova' or m.startswith('nova.'))
    if loaded:
        print(f'\nThe Neutron side loaded nova: {loaded[:5]}',
              file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
