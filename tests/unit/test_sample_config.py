# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sample configurations in etc/ (nova-compute's, and the two network
agents') are what oslo-config-generator makes today."""

import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
GENERATOR_CONFS = REPO / 'etc' / 'oslo-config-generator'
SAMPLE = REPO / 'etc' / 'nova-ibmz.conf.sample'


def _generate(tmp_path, name):
    out = tmp_path / f'{name}.conf.sample'
    # Through the oslo.config.opts entry points, as an operator's tooling
    # would find our options.
    subprocess.run([sys.executable, '-m', 'oslo_config.generator',
                    '--config-file', str(GENERATOR_CONFS / f'{name}.conf'),
                    '--output-file', str(out)],
                   check=True, cwd=REPO, capture_output=True, timeout=60)
    return out.read_text()


@pytest.mark.parametrize('name', ['nova-ibmz', 'neutron-ibmz-dpm-agent',
                                  'neutron-ibmz-zvm-agent'])
def test_sample_config_is_current(tmp_path, name):
    assert _generate(tmp_path, name) == (
        REPO / 'etc' / f'{name}.conf.sample').read_text(), (
        f'etc/{name}.conf.sample is stale: run make sample-config')


def test_every_generator_configuration_is_checked():
    assert sorted(p.stem for p in GENERATOR_CONFS.glob('*.conf')) == [
        'neutron-ibmz-dpm-agent', 'neutron-ibmz-zvm-agent', 'nova-ibmz']


def test_sample_config_has_both_groups_and_nova_zvm_options():
    text = SAMPLE.read_text()
    for line in ('[dpm]', '[zvm]', '#hmc = <None>', '#hmc_verify_cert = true',
                 '#cloud_connector_url = http://zvm.example.org:8080/',
                 '#reachable_timeout = 300', '#disk_pool = <None>'):
        assert line in text.splitlines(), line
