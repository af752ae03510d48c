# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite against ZVMDriver on the simulator."""

from tests.conformance import base
from tests.conformance import zvm_suite
from tests import nova_zvm


class ZVMConformance(base.StrictConformance):
    driver = 'ibmz-zvm'
    # nova's suite builds the driver with import_object(driver_module,
    # virtapi): this factory builds it on a fresh simulator model.
    driver_module = 'tests.connector.driver'

    def setUp(self):
        super().setUp()
        # z/VM userids hold at most 8 characters.
        self.flags(instance_name_template='os%06x')
        # The suite's instances cannot give the metadata a config drive
        # holds (nova asks Neutron for their security groups); the
        # functional tests and tests/unit/test_zvm_configdrive.py build
        # real ones.
        self.stub_out('nova_ibmz.zvm.configdrive.build',
                      lambda instance, path, *args:
                      nova_zvm.write_config_drive(None, path))

    def _get_running_instance(self, obj=True):
        return zvm_suite.spawn_running(self, obj)
