# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM driver waits for Neutron to report its new partition's ports
plugged (the DPM agent reports a port up once it sees its NIC), and a port
that does not come up fails the build with nothing left on the HMC."""

from nova import conf as nova_conf
from nova import exception as nova_exception
import pytest

from nova_ibmz.common.exception import InstanceSetupError
from tests import hmc
from tests.unit.test_dpm_driver import assert_nothing_left
from tests.unit.test_dpm_driver import faked
from tests.unit.test_dpm_driver import make_instance
from tests.unit.test_vifs import RecordingVirtAPI

CONF = nova_conf.CONF


@pytest.fixture
def fatal_timeout():
    CONF.set_override('vif_plugging_timeout', 300)
    CONF.set_override('vif_plugging_is_fatal', True)
    yield
    CONF.clear_override('vif_plugging_timeout')
    CONF.clear_override('vif_plugging_is_fatal')


def spawn(virtapi, network_info, instance=None):
    dpm = hmc.driver(virtapi, known_instances=hmc.no_instances)
    instance = instance or make_instance()
    dpm.prepare_for_spawn(instance)
    dpm.spawn(None, instance, None, [], None, {}, network_info=network_info,
              block_device_info=hmc.boot_from_volume(instance))
    return instance


def test_spawn_waits_for_the_ports_neutron_reports_down(fatal_timeout):
    virtapi = RecordingVirtAPI()
    info = hmc.network_info(hmc.VSWITCH_OSD_1, hmc.VSWITCH_OSD_2,
                            active=False)
    instance = spawn(virtapi, info)
    assert virtapi.waits == [(
        [('network-vif-plugged', vif['id']) for vif in info], 300)]
    assert faked(instance).properties['status'] == 'active'


def test_ports_that_do_not_come_up_fail_the_build(fatal_timeout):
    virtapi = RecordingVirtAPI(nova_exception.InstanceEventTimeout())
    info = hmc.network_info(hmc.VSWITCH_OSD_1, active=False)
    instance = make_instance()
    with pytest.raises(InstanceSetupError) as e:
        spawn(virtapi, info, instance)
    assert str(e.value).endswith(f'vif_plugging_timeout): {info[0]["id"]}')
    assert_nothing_left(instance)
