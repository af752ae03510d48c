# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Fixtures of the z/VM parts' tests: the Cloud Connector simulator and a
client of it; and Nova's thread pools shut after every test."""

from nova import thread_pool_factory
import pytest

from tests import connector
from tests.nova_side import state_path  # noqa: F401  (autouse)


@pytest.fixture
def sim():
    """The process's simulator, with an empty cluster for this test."""
    return connector.fresh(connector.server())


@pytest.fixture
def cc(sim):
    """Our REST client of the simulator's first member."""
    return connector.client(sim.url)


@pytest.fixture(autouse=True)
def nova_executors():
    """Shut the thread pools of Nova's a test started (a port allocation
    in a NetworkInfoAsyncWrapper, a service's periodic tasks), as Nova's
    own test fixture does: the next Nova fixture in the process refuses
    to start while any is left."""
    yield
    thread_pool_factory.reset_all_executors()
