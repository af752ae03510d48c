# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite against DPMDriver.

Until the HMC simulator serves HTTPS (issue 3), the driver talks to
zhmcclient's in-process faked HMC loaded with the simulator's default
topology, which has foreign partitions on the CPC.
"""

from tests.conformance import base


class DPMConformance(base.StrictConformance):
    driver = 'ibmz-dpm'
    # nova's suite builds the driver with import_object(driver_module,
    # virtapi): this factory builds it on the faked HMC.
    driver_module = 'tests.hmc.driver'
