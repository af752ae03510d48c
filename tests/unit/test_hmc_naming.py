# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The NIC marks the DPM driver writes and the DPM agent reads back."""

import pytest

from nova_ibmz.hmc import naming

HOST = 'dpm-subset-1'
MAC = 'fa:16:3e:00:00:0a'


def test_a_nic_the_driver_describes_gives_its_mac_back():
    props = {'name': naming.nic_name('p1'),
             'description': naming.nic_description(HOST, MAC)}
    assert props['name'] == 'OpenStack_Port_p1'
    assert naming.nic_mac(props, HOST) == MAC


@pytest.mark.parametrize('description', [
    # another compute host's NIC on the same virtual switch
    f'OpenStack mac={MAC}, CPCSubset=dpm-subset-10',
    f'OpenStack mac={MAC}, CPCSubset=dpm-subset',
    f'OpenStack mac={MAC}, CPCSubset={HOST.upper()}',
    f'openstack mac={MAC}, CPCSubset={HOST}',
    # another workload's NICs
    'production uplink', '', None,
    f'Prod mac={MAC}, CPCSubset={HOST}',
    # not a MAC
    f'OpenStack mac=fa:16:3e:00:00, CPCSubset={HOST}',
    f'OpenStack mac={MAC}x, CPCSubset={HOST}',
])
def test_only_this_hosts_port_nics_give_a_mac(description):
    assert naming.nic_mac({'description': description}, HOST) is None


def test_the_mac_is_read_in_any_case():
    props = {'description': f'OpenStack mac={MAC.upper()}, CPCSubset={HOST}'}
    assert naming.nic_mac(props, HOST) == MAC
