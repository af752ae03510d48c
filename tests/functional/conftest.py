# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Each functional test's own nova-compute state_path, and the end of the
functional tests' neutron-server and Glance with them."""

import pytest

from tests.functional import glance
from tests.functional import neutron
from tests.nova_side import state_path  # noqa: F401  (autouse)


@pytest.fixture(scope='package', autouse=True)
def neutron_ends_with_the_functional_tests():
    """Its agents poll the process's HMC and Cloud Connector simulators,
    whose request logs the tests that run later count."""
    yield
    neutron.stop()


@pytest.fixture(scope='package', autouse=True)
def glance_ends_with_the_functional_tests():
    """A process of its own (~150 MiB), of no use to the tests after
    these."""
    yield
    glance.stop()
