# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM driver's side of the NIC entries on the kernel command line:
for the NICs of tests/vectors/dpm_nic_entries.json it writes exactly the
text that the guest image tools' tests (test_guest_tools.py) read back."""

import json
import pathlib
import types

from nova.network import model as network_model
import pytest

from nova_ibmz.dpm import network

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / 'vectors' /
                      'dpm_nic_entries.json').read_text())
INSTANCE = types.SimpleNamespace(uuid='7f42d041-5726-4aa3-8b6f-6bbf8f1ea74e')


def ports_bound_by_networking_dpm(nics):
    """One port per NIC, each on a virtual switch of its own."""
    return network_model.NetworkInfo([network_model.VIF(
        id=f'port-{index}', address=nic['mac'], type=network.VIF_TYPE,
        details={'object_id': f'vswitch-{index}'})
        for index, nic in enumerate(nics)])


@pytest.mark.parametrize('vector', VECTORS['written'],
                         ids=[v['name'] for v in VECTORS['written']])
def test_the_driver_writes_the_shared_vectors(vector):
    nics = vector['nics']
    specs = network.nic_specs(INSTANCE, ports_bound_by_networking_dpm(nics))
    # The device numbers are the driver's own choice, in port order.
    assert [s.devno for s in specs] == [nic['devno'] for nic in nics]
    adapter_ports = {f'vswitch-{index}': nic['port']
                     for index, nic in enumerate(nics)}
    assert network.boot_parameters(INSTANCE, specs, adapter_ports) == \
        vector['text']
    assert len(vector['text']) <= network.MAX_BOOT_PARAMETERS
