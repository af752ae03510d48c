# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Make nova's testtools-based TestCase run under pytest, and give each
test its own nova-compute state_path."""

from nova import conf as nova_conf
from nova import test
import pytest

# nova.test.TestCase deletes every public instance attribute in a cleanup to
# save memory; pytest then fails to find the test method it is running
# ("object has no attribute 'test_spawn'").  pytest frees them itself.
test.TestCase._clear_attrs = lambda self: None


@pytest.fixture(autouse=True)
def state_path(tmp_path):
    """nova-compute's state_path, where the drivers record what they could
    not remove from the hypervisor: a directory of each test's own (the
    default is under the installed nova package)."""
    path = tmp_path / 'state'
    nova_conf.CONF.set_default('state_path', str(path))
    yield path
    nova_conf.CONF.clear_default('state_path')
