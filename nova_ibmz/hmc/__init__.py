# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the DPM Nova driver and the DPM Neutron agent both need of the HMC:
the session, the errors, the names and marks of what OpenStack makes.

It imports neither nova nor neutron (they cannot share a process; a test
of the boundaries checks it).
"""
