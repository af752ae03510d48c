# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""etc/nova-ibmz.conf.sample is what oslo-config-generator makes today."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
GENERATOR_CONF = REPO / 'etc' / 'oslo-config-generator' / 'nova-ibmz.conf'
SAMPLE = REPO / 'etc' / 'nova-ibmz.conf.sample'


def _generate(tmp_path):
    out = tmp_path / 'nova-ibmz.conf.sample'
    # Through the oslo.config.opts entry point, as an operator's tooling
    # would find our options.
    subprocess.run([sys.executable, '-m', 'oslo_config.generator',
                    '--config-file', str(GENERATOR_CONF),
                    '--output-file', str(out)],
                   check=True, cwd=REPO, capture_output=True, timeout=60)
    return out.read_text()


def test_sample_config_is_current(tmp_path):
    assert _generate(tmp_path) == SAMPLE.read_text(), (
        'etc/nova-ibmz.conf.sample is stale: run make sample-config')


def test_sample_config_has_both_groups_and_nova_zvm_options():
    text = SAMPLE.read_text()
    for line in ('[dpm]', '[zvm]', '#hmc = <None>', '#hmc_verify_cert = true',
                 '#cloud_connector_url = http://zvm.example.org:8080/',
                 '#reachable_timeout = 300', '#disk_pool = <None>'):
        assert line in text.splitlines(), line
