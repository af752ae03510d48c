# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""python -m benchmarks.dpm_agent [--out DIR] [--quick]

What neutron-ibmz-dpm-agent costs the HMC and how soon a port turns
ACTIVE, written to DIR/dpm_agent.md (default benchmarks/results/):

1. HMC requests per polling interval with 85 partitions of 12 NICs each
   on three mapped virtual switches, counted from the HMC simulator's
   request log: the checks at start, the first interval (every NIC read
   once), an interval with nothing new, and intervals after NICs come and
   go.  The agent's manager is driven directly, as the loop drives it.
2. The time from a NIC's creation on the HMC (as the DPM driver makes it)
   to its port ACTIVE in a real neutron-server (the agent as its thread,
   as in the sandbox), and from the NIC's deletion to DOWN, at polling
   intervals of 1 and 2 s (the default), with the 85 x 12 NICs of another
   CPC subset's host on the same virtual switches.

It runs on the Neutron side of the process boundary (no nova), so
`python -m benchmarks` (which loads nova) runs it as a process of its own.
"""

import sys

# Before anything imports neutron, whose import leaves eventlet's green
# copies of socketserver and http.server in sys.modules: the HMC simulator
# this process serves would run on green threads and hang.
from nova_ibmz.sim import httpserver  # noqa: F401,I100

import zhmcclient  # noqa: I100

from benchmarks import agents
from nova_ibmz.hmc import naming
from nova_ibmz.neutron.dpm import agent as dpm_agent
from nova_ibmz.neutron.dpm import manager as dpm_manager
from nova_ibmz.neutron.dpm import mappings
from nova_ibmz.neutron.dpm import options
from tests.neutron import dpm_hmc

ADAPTERS = (dpm_hmc.OSD_1, dpm_hmc.OSD_2, dpm_hmc.HIPERSOCKET)
MAPPINGS = [f'physnet{n}:{a}' for n, a in enumerate(ADAPTERS, 1)]
OTHER_HOST = 'dpm-subset-2'


def populate(hypervisor, host, partitions, nics):
    """partitions of host with nics NICs each, spread over the three
    mapped virtual switches: [(partition, [NIC])]."""
    made = []
    for p in range(partitions):
        partition = hypervisor.partition(host)
        made.append((partition, [
            hypervisor.nic(partition, ADAPTERS[n % len(ADAPTERS)],
                           f'fa:16:3e:{p // 256:02x}:{p % 256:02x}:{n:02x}',
                           host=host)
            for n in range(nics)]))
    return made


def _config(path, **kwargs):
    return options.load(['--config-file', str(dpm_hmc.write_config(
        path, mappings=MAPPINGS, **kwargs))])


def polling_cost(partitions, nics, workdir):
    """[(what, HMC requests, target, seconds)] of the agent's manager; the
    target of an interval: one request per mapped virtual switch plus one
    per NIC new to the agent (None: no target)."""
    dpm_hmc.reset()
    hypervisor = dpm_hmc.Hypervisor()
    made = populate(hypervisor, dpm_hmc.HOST, partitions, nics)
    # Other workloads' NICs on the same virtual switches.
    for adapter in ADAPTERS:
        hypervisor.nic(hypervisor.foreign(), adapter, None,
                       description='Production eth')
    config = _config(workdir / 'cost.ini')
    session = dpm_agent.open_session(config)
    # Logons are the session's, not the agent's intervals'.
    requests = agents.Requests(dpm_hmc.server().log, '/api/sessions')

    def measure(what, work, new_nics=None):
        return requests.measure(what, work, None if new_nics is None
                                else len(ADAPTERS) + new_nics)

    cpc, targets = measure('start-up checks of 3 mappings',
                           lambda: mappings.check(
                               zhmcclient.Client(session), config))
    manager = dpm_manager.DPMManager(config, cpc, targets)
    total = partitions * nics
    foreign = len(ADAPTERS)
    devices = measure(f'first interval: {total} NICs of ours and {foreign} '
                      'foreign ones, each read once', manager.devices,
                      total + foreign)
    assert len(devices) == total, len(devices)
    measure('an interval, nothing new', manager.devices, 0)
    hypervisor.nic(made[0][0], dpm_hmc.OSD_1, 'fa:16:3e:ff:00:01')
    measure('an interval after 1 new NIC', manager.devices, 1)
    populate(hypervisor, dpm_hmc.HOST, 1, nics)
    measure(f'an interval after a new partition of {nics} NICs',
            manager.devices, nics)
    for nic in made[1][1]:
        nic.delete()
    measure(f'an interval after {nics} NICs deleted', manager.devices, 0)
    measure('an interval, nothing new', manager.devices, 0)
    session.logoff()
    hypervisor.close()
    return requests.rows


def time_to_active(samples, polling_interval, partitions, nics, workdir):
    """[(seconds NIC created -> ACTIVE, seconds NIC deleted -> DOWN)]
    through a real neutron-server with the agent as its thread."""
    dpm_hmc.reset()
    hypervisor = dpm_hmc.Hypervisor()
    populate(hypervisor, OTHER_HOST, partitions, nics)
    agent_config = dpm_hmc.write_config(
        workdir / f'agent-{polling_interval}.ini', mappings=MAPPINGS,
        polling_interval=polling_interval, report_interval=2)
    partition = hypervisor.partition()

    def make(port):
        # As the DPM driver makes it (zhmcclient), on the port's virtual
        # switch.
        vswitch = port.binding_vif_details['object_id']
        return partition.nics.create({
            'name': naming.nic_name(port.id),
            'description': naming.nic_description(dpm_hmc.HOST,
                                                  port.mac_address),
            'virtual-switch-uri': f'/api/virtual-switches/{vswitch}'})

    with agents.neutron(
            workdir / f'server-{polling_interval}',
            ('physnet1', 'physnet2', 'physnet3'),
            ('nova_ibmz.neutron.dpm.agent:server_agent',
             str(agent_config))) as sdk:
        network = agents.network(sdk, 'physnet1')
        results = agents.time_to_active(
            sdk, network.id, dpm_hmc.HOST, samples, polling_interval,
            [(make, lambda nic: nic.delete())])
    hypervisor.close()
    return results


def markdown(cost_rows, latencies, partitions, nics, samples):
    lines = agents.environment('neutron-ibmz-dpm-agent benchmarks',
                               'python -m benchmarks.dpm_agent',
                               ('neutron', 'zhmcclient'))
    lines += [
        f'## 1. HMC requests per polling interval ({partitions} partitions '
        f'x {nics} NICs)', '',
        'Counted from the HMC simulator\'s request log (logon excluded), the '
        'agent\'s manager driven as its loop drives it, 3 mapped virtual '
        'switches. Target: at most one request per mapped virtual switch '
        'plus one per NIC not seen before.', '']
    lines += agents.cost_table('HMC requests', cost_rows)
    lines += [
        '', '## 2. NIC to port ACTIVE, through a real neutron-server', '',
        f'{samples} ports per polling interval, one after another: the '
        'port is bound to the host, after a random wait within one '
        'interval the NIC made as the DPM driver makes it (zhmcclient), '
        f'{agents.WAITS} The agent runs as a thread of the server (as in '
        f'the sandbox), with {partitions * nics} NICs of another host on '
        f'the same virtual switches. {agents.READING}', '']
    lines += agents.latency_table(
        ('NIC created -> ACTIVE', 'NIC deleted -> DOWN'), latencies)
    return '\n'.join(lines) + '\n'


def measure(quick, workdir):
    """The report's markdown, at 85 partitions of 12 NICs (quick: 5)."""
    partitions, nics = (5, 12) if quick else (85, 12)
    samples = 3 if quick else 10
    return agents.measure(
        'HMC requests', lambda: polling_cost(partitions, nics, workdir),
        lambda interval: time_to_active(samples, interval, partitions, nics,
                                        workdir),
        lambda rows, latencies: markdown(rows, latencies, partitions, nics,
                                         samples))


def main(argv=None):
    return agents.main('dpm_agent', __doc__, '5 partitions and 3 samples: '
                       'checks the harness, not the agent', measure, argv)


if __name__ == '__main__':
    sys.exit(main())
