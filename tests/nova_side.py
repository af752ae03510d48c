# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What every Nova-side test process needs, before anything imports nova.

Each Nova-side test package (unit, sim, conformance, functional) imports
this module first, from its __init__.py, and its conftest.py takes the
state_path fixture from here; the benchmarks import it too.  tests/neutron
never does: Neutron runs in a pytest process of its own.

nova-compute 34 runs on native threads, and so do our tests: nova's
monkey_patch.patch() must run before anything imports nova.test (nova's own
test packages call it on import, with eventlet as default).  In threading
mode it also poisons 'import eventlet', which proves our drivers never
import it.
"""

import os

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

from nova import monkey_patch  # noqa: E402

monkey_patch.patch()

from nova import conf as nova_conf  # noqa: E402
from nova import test  # noqa: E402
import pytest  # noqa: E402

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
