# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Topology files in, state files out (no server needed)."""

import yaml

from nova_ibmz.sim.hmc import model
from nova_ibmz.sim.hmc import persist

TOPOLOGY = """
hmc_definition:
  host: h
  api_version: '4.10'
  consoles:
    - properties: {name: HMC, version: '2.16.0'}
      users:
        - properties: {name: op, password: secret, disabled: false}
  cpcs:
    - properties: {name: C, dpm-enabled: true}
      adapters:
        - properties: {name: OSD, type: osd}
          ports:
            - properties: {name: Port 0}
            - properties: {name: Port 1}
      partitions:
        - properties: {name: P, status: stopped}
          nics:
            - properties: {name: n}
  metric_values:
    - group_name: partition-usage
      resource_uri: /api/partitions/p
      timestamp: '2026-11-21T00:00:00'
      metrics: {processor-usage: 10}
"""


def test_read_topology_fills_ids_and_takes_out_passwords(tmp_path):
    path = tmp_path / 'topology.yaml'
    path.write_text(TOPOLOGY)
    definition, passwords = persist.read_topology(path)
    assert passwords == {'op': 'secret'}
    hmc = definition['hmc_definition']
    assert 'password' not in hmc['consoles'][0]['users'][0]['properties']
    [cpc] = hmc['cpcs']
    ports = cpc['adapters'][0]['ports']
    assert [p['properties']['element-id'] for p in ports] == ['0', '1']
    nic = cpc['partitions'][0]['nics'][0]['properties']
    assert 'element-id' in nic and 'object-id' not in nic
    assert len(cpc['properties']['object-id']) == 36


def test_state_round_trip(tmp_path):
    """What the state file holds loads back into the same HMC."""
    path = tmp_path / 'topology.yaml'
    path.write_text(TOPOLOGY)
    state = tmp_path / 'state.json'
    first = model.Simulator(path, state_file=state)
    with first.lock:
        [part] = first.all_partitions()
        first.os_message(part, 'hello')
        first.save()
    second = model.Simulator(path, state_file=state)
    assert second.metric_values == yaml.safe_load(TOPOLOGY)[
        'hmc_definition']['metric_values']
    assert second.passwords == {'op': 'secret'}
    [again] = second.all_partitions()
    assert again.uri == part.uri
    assert again.properties['nic-uris'] == part.properties['nic-uris']
    assert [m['message-text'] for m in second.os_messages[again.uri]] == [
        'hello']
    assert persist.hmc_definition(second.hmc, second.metric_values) == \
        persist.hmc_definition(first.hmc, first.metric_values)
