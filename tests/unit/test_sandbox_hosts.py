# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's simulators and the nova.conf of each of its compute
hosts: written as an operator would write them, read back through our own
option groups, and enough for each driver to reach its simulator."""

import stat

from oslo_config import cfg
import pytest

from nova_ibmz import conf
from nova_ibmz.dpm import driver as dpm_driver
from nova_ibmz.sandbox import simulators
from nova_ibmz.zvm import driver as zvm_driver


@pytest.fixture
def sims(tmp_path):
    sims = simulators.Simulators(tmp_path).start()
    yield sims
    sims.stop()


def load(path):
    """A host's .conf file, read as nova-compute reads nova.conf."""
    options = cfg.ConfigOpts()
    options.register_opts([cfg.StrOpt('host'), cfg.StrOpt('compute_driver'),
                           cfg.StrOpt('instance_name_template')])
    conf.register_opts(options)
    options(args=[], default_config_files=[str(path)])
    return options


def test_each_host_gets_a_readable_conf_file(sims, tmp_path):
    paths = sims.write_host_configs()
    assert sorted(paths) == ['dpm-subset-1', 'zvm-1', 'zvm-2']
    for host, path in paths.items():
        assert path == tmp_path / f'{host}.conf'
        # The DPM host's file holds the HMC password: the owner's only.
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load(path).host == host
    assert 'hmc_password = openstack-sim' in paths['dpm-subset-1'].read_text()


def test_the_dpm_host_reaches_its_cpc(sims):
    options = load(sims.write_host_configs()['dpm-subset-1'])
    assert options.compute_driver == 'ibmz.DPMDriver'
    driver = dpm_driver.DPMDriver(None, config=conf.dpm.load(options),
                                  host_name=options.host,
                                  known_instances=lambda host: set())
    driver.init_host(options.host)
    resources = driver.get_available_resource(options.host)
    assert (resources['vcpus'], resources['memory_mb']) == (
        simulators.DPM_PROCESSORS, simulators.DPM_MEMORY_MB)


@pytest.mark.parametrize('host, system', [('zvm-1', 'ZVMSIM1'),
                                          ('zvm-2', 'ZVMSIM2')])
def test_each_zvm_host_reaches_its_ssi_member(sims, host, system):
    options = load(sims.write_host_configs()[host])
    assert options.compute_driver == 'ibmz.ZVMDriver'
    driver = zvm_driver.ZVMDriver(None, config=conf.zvm.load(options))
    # With token auth, from the admin token file the conf names.
    assert driver.get_available_nodes() == [system]


def test_state_survives_a_restart(tmp_path):
    """The admin token and the certificates stay; the new ports are in
    the rewritten files."""
    first = simulators.Simulators(tmp_path).start()
    token = first.admin_token_file.read_text()
    ca = first.hmc.certs.ca_file.read_bytes()
    first.stop()
    again = simulators.Simulators(tmp_path).start()
    try:
        assert again.admin_token_file.read_text() == token
        assert again.hmc.certs.ca_file.read_bytes() == ca
        options = load(again.write_host_configs()['zvm-2'])
        assert options.zvm.cloud_connector_url == again.connectors[1].url
    finally:
        again.stop()
