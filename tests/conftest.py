# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Make nova's testtools-based TestCase run under pytest."""

from nova import test

# nova.test.TestCase deletes every public instance attribute in a cleanup to
# save memory; pytest then fails to find the test method it is running
# ("object has no attribute 'test_spawn'").  pytest frees them itself.
test.TestCase._clear_attrs = lambda self: None
