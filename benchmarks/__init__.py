# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""nova-ibmz benchmarks: `make bench` (python -m benchmarks).

Requests per operation, wall time under a mainframe's latencies, the cost
of Nova's periodic work as instances grow, and concurrent boots, for both
drivers and, as the z/VM reference, nova's in-tree z/VM driver.  They run
the drivers against the simulators, set up by the test harness (tests/):
measurements live here, never in timed tests.
"""
