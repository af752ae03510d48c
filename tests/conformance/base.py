# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Nova's driver conformance suite, strict.

nova's _VirtDriverTestCase wraps most tests in catch_notimplementederror,
which turns NotImplementedError into a log line, so a driver that implements
nothing passes.  With STRICT_CONFORMANCE=1 (our default; 0 gives nova's
lenient behaviour) each test runs unwrapped: NotImplementedError fails it,
unless the test is in the driver's allowed-missing list.  A listed test
that passes fails too, so the lists can only shrink.
"""

import functools
import os
from unittest import mock

from nova import test
from nova.tests.unit.virt import test_virt_drivers as nova_suite

from tests.conformance import allowed_missing

STRICT = os.environ.get('STRICT_CONFORMANCE', '1') != '0'

# (test class name, test name) of the tests that raised an allowed
# NotImplementedError in this run; conftest reports them as allowed-missing.
ALLOWED_HITS = set()
# test class name -> driver key of doc/support-matrix.ini
DRIVER_OF_CLASS = {}


def _strict(cls_name, name, test_func, allowed):
    raw = getattr(test_func, '__wrapped__', test_func)

    @functools.wraps(raw)
    def run(self):
        try:
            raw(self)
        except NotImplementedError:
            if name not in allowed:
                raise
            ALLOWED_HITS.add((cls_name, name))
            return
        if name in allowed:
            self.fail(f'{name} passes now: remove it from the allowed-missing '
                      f'list in tests/conformance/allowed_missing.py')
    return run


class StrictConformance(nova_suite._VirtDriverTestCase, test.TestCase):
    """Base of one driver's conformance run; set driver and driver_module."""

    driver = None  # key in allowed_missing.BY_DRIVER
    # For a driver that is not ours (no support-matrix column): its own
    # allowed-missing list, which then replaces BY_DRIVER[driver].
    allowed_missing_tests = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        allowed = (cls.allowed_missing_tests
                   if cls.allowed_missing_tests is not None
                   else allowed_missing.BY_DRIVER[cls.driver])
        DRIVER_OF_CLASS[cls.__name__] = cls.driver
        suite_tests = [n for n in dir(nova_suite._VirtDriverTestCase)
                       if n.startswith('test_')]
        unknown = set(allowed) - set(suite_tests)
        if unknown:
            raise ValueError(f'allowed-missing tests of {cls.driver} that '
                             f'nova does not have: {sorted(unknown)}')
        if STRICT:
            for name in suite_tests:
                setattr(cls, name, _strict(cls.__name__, name,
                                           getattr(cls, name), allowed))

    def test_live_migration_force_complete(self):
        # nova's test first fills libvirt's active_migrations, which no
        # other driver has; the call itself is what is tested.
        instance, _ = self._get_running_instance()
        self.connection.live_migration_force_complete(instance)

    # The volume tests, with the connection info of a volume the driver
    # can attach (nova's suite uses the type 'fake').

    def volume_connection(self, instance, lun):
        """Cinder's connection info for a volume at lun."""
        return {'driver_volume_type': 'fake', 'serial': f'fake-{lun}',
                'data': {}}

    def block_device_info(self, instance):
        """What the compute manager passes to power_on for the instance."""
        return None

    def test_attach_detach_volume(self):
        instance, _ = self._get_running_instance()
        connection_info = self.volume_connection(instance, 2)
        self.assertIsNone(self.connection.attach_volume(
            None, connection_info, instance, '/dev/sdb'))
        self.assertIsNone(self.connection.detach_volume(
            mock.sentinel.context, connection_info, instance, '/dev/sdb'))

    def test_swap_volume(self):
        instance, _ = self._get_running_instance()
        old = self.volume_connection(instance, 2)
        self.connection.attach_volume(None, old, instance, '/dev/sdb')
        self.connection.swap_volume(None, old,
                                    self.volume_connection(instance, 3),
                                    instance, '/dev/sdb', 2)

    def test_attach_detach_different_power_states(self):
        instance, network_info = self._get_running_instance()
        connection_info = self.volume_connection(instance, 2)
        self.connection.power_off(instance)
        self.connection.attach_volume(None, connection_info, instance,
                                      '/dev/sdb')
        self.connection.power_on(self.ctxt, instance, network_info,
                                 self.block_device_info(instance))
        self.connection.detach_volume(mock.sentinel.context,
                                      connection_info, instance, '/dev/sdb')
