# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite against DPMDriver.

The driver talks HTTPS to the HMC simulator (tests/hmc.py), on the
default topology, which has foreign partitions on the CPC.
"""

from tests.conformance import base
from tests import hmc  # noqa: F401  (imported at collection: see TMP_ROOT)


class DPMConformance(base.StrictConformance):
    driver = 'ibmz-dpm'
    # nova's suite builds the driver with import_object(driver_module,
    # virtapi): this factory builds it on the simulator.
    driver_module = 'tests.hmc.driver'
