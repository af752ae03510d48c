# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite against ZVMDriver on the simulator."""

from tests import connector
from tests.conformance import base


def zvm_driver(virtapi):
    """Build the driver as nova-compute would, on a fresh simulator model."""
    return connector.driver(virtapi)


class ZVMConformance(base.StrictConformance):
    driver = 'ibmz-zvm'

    def setUp(self):
        self.driver_module = f'{__name__}.zvm_driver'
        super().setUp()
        # z/VM userids hold at most 8 characters.
        self.flags(instance_name_template='os%06x')
