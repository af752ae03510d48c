# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Test package of nova-ibmz.

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
