# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The drivers run on nova's native-threading mode: nothing imports eventlet.

Checked in a fresh interpreter, since this one has imported the test
helpers already.
"""

import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

PROBE = """
import json
import sys

from nova import monkey_patch

monkey_patch.patch()

import nova_ibmz.dpm.driver
import nova_ibmz.sim.zvm.server
import nova_ibmz.zvm.driver
import zhmcclient

try:
    import eventlet  # noqa: F401
    poisoned = False
except ImportError:
    poisoned = True

wanted = ['nova_ibmz.dpm.driver', 'nova_ibmz.zvm.driver',
          'nova_ibmz.sim.zvm.server', 'zhmcclient']
print(json.dumps({
    'imported': [m for m in wanted if m in sys.modules],
    'eventlet': sorted(m for m in sys.modules
                       if m == 'eventlet' or m.startswith('eventlet.')),
    'patched': monkey_patch.is_patched(),
    'poisoned': poisoned,
}))
"""


def test_drivers_never_import_eventlet():
    env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
    result = subprocess.run([sys.executable, '-c', PROBE], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report['imported'] == ['nova_ibmz.dpm.driver',
                                  'nova_ibmz.zvm.driver',
                                  'nova_ibmz.sim.zvm.server', 'zhmcclient']
    assert report['eventlet'] == []
    # Threading mode: no monkey patching, and eventlet (installed, as nova
    # needs it) is refused outright.
    assert report['patched'] is False
    assert report['poisoned'] is True
