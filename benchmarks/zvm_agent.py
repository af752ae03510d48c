# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""python -m benchmarks.zvm_agent [--out DIR] [--quick]

What neutron-ibmz-zvm-agent costs the Cloud Connector and how soon a port
turns ACTIVE, written to DIR/zvm_agent.md (default benchmarks/results/):

1. Connector requests per polling interval with 500 guests of our driver
   (one or two coupled NICs each) among foreign guests, counted from the
   Cloud Connector simulator's request log: the check at start, the first
   interval (each OpenStack guest's directory entry read once, for its
   mark), an interval with nothing new, intervals after guests and NICs
   of our driver come, after an in-tree guest's NICs come (which the
   agent grants and couples), after NICs and a guest go.  The agent's
   manager is driven directly, as its loop drives it: devices(), then
   plug() of each device new since the interval before.
2. The time from a NIC coupled (a guest of our driver: the NIC made,
   granted and coupled through the connector's API as ZVMDriver does) to
   its port ACTIVE in a real neutron-server (the agent as its thread, as
   in the sandbox), and from the NIC's deletion to DOWN, at polling
   intervals of 1 and 2 s (the default), among those 500 guests, whose
   ports are ACTIVE already.
3. The same for a guest of Nova's in-tree driver, whose NIC is made and
   left uncoupled: the agent grants and couples it before its port is up.

It runs on the Neutron side of the process boundary (no nova), so
`python -m benchmarks` (which loads nova) runs it as a process of its own.
"""

import contextlib
import itertools
import sys
import time
import uuid

# Before anything imports neutron, whose import leaves eventlet's green
# copies of socketserver and http.server in sys.modules: the Cloud
# Connector simulator this process serves would run on green threads and
# hang.
from nova_ibmz.sim import httpserver  # noqa: F401,I100

from benchmarks import agents  # noqa: I100
from nova_ibmz.connector import client
from nova_ibmz.connector import naming
from nova_ibmz.connector import vswitch as vswitches
from nova_ibmz.neutron.zvm import agent as zvm_agent
from nova_ibmz.neutron.zvm import manager as zvm_manager
from nova_ibmz.neutron.zvm import options
from tests.neutron import test_zvm_agent as guests
from tests import zvm_agent_config
from tests import zvmsim

HOST = 'zvm-bench-1'
VSWITCH, PHYSNET, VLAN = 'VSWITCH1', 'physnet1', 100
# Our guests' userids (instance_name_template os%06x) from OS100000 on:
# clear of the foreign OS0000FF, an instance-like userid in the directory.
FIRST_USERID = 0x100000
# Guests in the connector's database that are no instance's (Linux
# servers an administrator runs), each with a NIC on the mapped vswitch,
# beside tests.neutron.test_zvm_agent's three foreign guests.
FOREIGN_GUESTS = 50
OS_VERSION = 'rhel8.6'


def define(connector, userid):
    """A guest as our driver defines it: marked with its instance; a small
    root disk, as 500 of them share one disk pool."""
    connector.post('/guests', {'guest': {
        'userid': userid, 'vcpus': 1, 'memory': 1024,
        'disk_list': [{'size': '50m', 'is_boot_disk': True}],
        'comments': [naming.MARK_PREFIX + str(uuid.uuid4())]}})


def attach(connector, userid, ports):
    """NICs for ports as our driver makes them on a logged-off guest: made
    (POST .../interface), the guest granted once on the vswitch and VLAN,
    each NIC coupled.  Their device numbers."""
    vdevs = guests.make_nics(connector, userid, ports)
    vswitches.grant(connector, userid, VSWITCH, VLAN)
    for vdev in vdevs:
        vswitches.couple(connector, userid, vdev, VSWITCH, VLAN, False)
    return vdevs


def detach(connector, userid, vdev):
    """Delete a NIC as our driver's detach does (which uncouples it)."""
    connector.delete(f'/guests/{userid}/interface', {'interface': {
        'os_version': OS_VERSION, 'vdev': vdev, 'active': False}})


def populate(connector, userids, count, port_ids):
    """count guests of our driver, every second one with two NICs, for the
    next ports of port_ids (an iterator of nics_of(count) or more):
    [(userid, [vdev])]."""
    made = []
    for n in range(count):
        userid = next(userids)
        define(connector, userid)
        made.append((userid, attach(connector, userid, list(
            itertools.islice(port_ids, 1 + n % 2)))))
    return made


def nics_of(count):
    """How many NICs populate() makes for count guests."""
    return count + count // 2


def _random_ports():
    return iter(lambda: str(uuid.uuid4()), None)


def add_foreign(sim, connector):
    """tests.neutron.test_zvm_agent's foreign guests, and FOREIGN_GUESTS
    more in the connector's database, each with a NIC coupled on the
    mapped vswitch and a port-like id."""
    guests.add_foreign(sim, connector)
    for n in range(FOREIGN_GUESTS):
        userid = f'LNX{n:05d}'
        zvmsim.add_guest(sim.model, userid, state='on', root='50m')
        connector.post(f'/guests/{userid}/nic', {'nic': {
            'vdev': '1000', 'nic_id': str(uuid.uuid4())}})
        vswitches.grant(connector, userid, VSWITCH, None)
        vswitches.couple(connector, userid, '1000', VSWITCH, None, True)


def _userids():
    """Our guests' userids, as instance_name_template os%06x names them."""
    return (f'OS{n:06X}' for n in itertools.count(FIRST_USERID))


@contextlib.contextmanager
def _system(path):
    """A Cloud Connector simulator with the foreign guests, served by this
    process: (its server, a client as a driver has one)."""
    with zvmsim.serve(path) as [sim]:
        connector = client.CloudConnector(
            sim.url, admin_token=zvmsim.ADMIN_TOKEN, timeout=60)
        add_foreign(sim, connector)
        yield sim, connector


def polling_cost(guest_count, workdir):
    """[(what, connector requests, target, seconds)] of the agent's
    manager; an interval's target: one GET /guests/nics, one GET
    .../user_direct per guest of the template not seen before, and for
    each uncoupled NIC plugged a GET .../power_state and a PUT .../nic,
    plus a grant per guest, vswitch and VLAN."""
    userids = _userids()
    with _system(workdir / 'cost-sim') as (sim, connector):
        made = populate(connector, userids, guest_count, _random_ports())
        config = options.load(['--config-file', zvm_agent_config.write(
            workdir / 'cost.ini', sim.url, HOST, token=zvmsim.ADMIN_TOKEN)[1]])
        own = zvm_agent.connect(config)
        # A token is the session's cost, not an interval's.
        requests = agents.Requests(sim.log, '/token')
        requests.measure('start-up check of the vswitch mappings',
                         lambda: zvm_agent.check_vswitches(
                             own, config.vswitch_mappings), 1)
        manager = zvm_manager.ZVMManager(own, config.vswitch_mappings,
                                         config.instance_name_template)
        seen = set()

        def interval():
            # As the loop: the devices, then plug() of each new one with
            # ML2's details of its port (bound here, on the VLAN network).
            devices = manager.devices()
            for device in devices - seen:
                assert manager.plug(device, guests.details(
                    device, physnet=PHYSNET, vlan=VLAN)), device
            seen.clear()
            seen.update(devices)
            return devices

        nics = sum(len(vdevs) for _, vdevs in made)
        devices = requests.measure(
            f'first interval: {guest_count} guests of ours with {nics} '
            f'NICs, {FOREIGN_GUESTS + len(guests.FOREIGN)} foreign guests',
            interval, 1 + guest_count)
        assert len(devices) == nics, len(devices)
        requests.measure('an interval, nothing new', interval, 1)
        new = populate(connector, userids, 2, _random_ports())
        attach(connector, made[0][0], [str(uuid.uuid4())])
        requests.measure(f'an interval after {len(new)} new guests of ours '
                         f'({nics_of(len(new))} NICs) and 1 new NIC of one',
                         interval, 1 + len(new))
        guests.in_tree_guest(connector, next(userids),
                             [str(uuid.uuid4()), str(uuid.uuid4())])
        # The listing, the guest's mark, one grant, and a power state and
        # a couple per NIC.
        requests.measure('an interval after an in-tree guest of 2 NICs '
                         '(granted once, both coupled)', interval,
                         1 + 1 + 1 + 2 * 2)
        connector.delete(f'/guests/{made[1][0]}')
        detach(connector, made[2][0], made[2][1][0])
        requests.measure(f'an interval after a guest of {len(made[1][1])} '
                         f'NICs deleted and a NIC detached', interval, 1)
        requests.measure('an interval, nothing new', interval, 1)
    return requests.rows


def _wait_all_active(sdk, network_id, count, timeout=600):
    """Wait until count ports of the network are ACTIVE (the agent's
    first intervals over the guests made before a sample)."""
    deadline = time.monotonic() + timeout
    while len(list(sdk.network.ports(network_id=network_id,
                                     status='ACTIVE'))) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f'{count} ports never ACTIVE')
        time.sleep(1)


def time_to_active(samples, polling_interval, guest_count, workdir):
    """[(seconds our NIC coupled -> ACTIVE, its deletion -> DOWN, seconds
    an in-tree NIC made -> ACTIVE, its deletion -> DOWN)] through a real
    neutron-server with the agent as its thread, among guest_count guests
    of ours whose ports are ACTIVE."""
    userids = _userids()
    with _system(workdir / f'sim-{polling_interval}') as (sim, connector):
        agent = zvm_agent_config.write(
            workdir / f'agent-{polling_interval}.ini', sim.url, HOST,
            token=zvmsim.ADMIN_TOKEN, agent={
                'polling_interval': str(polling_interval),
                'report_interval': '2'})

        def ours(port):
            userid = next(userids)
            define(connector, userid)
            return userid, attach(connector, userid, [port.id])[0]

        def in_tree(port):
            userid = next(userids)
            return userid, guests.in_tree_guest(connector, userid,
                                                [port.id])[0]

        def delete(nic):
            detach(connector, *nic)

        with agents.neutron(workdir / f'server-{polling_interval}',
                            ('physnet1', 'physnet2'), agent) as sdk:
            network = agents.network(sdk, PHYSNET, VLAN)
            # The guests' ports first (one bulk request), as Nova makes
            # them before the NICs, then the guests; the samples begin
            # once the agent has reported them all up.
            ports = sdk.network.create_ports([{
                'network_id': network.id, 'project_id': agents.PROJECT,
                'binding:host_id': HOST, 'device_owner': 'compute:nova',
                'device_id': str(uuid.uuid4())}
                for _ in range(nics_of(guest_count))])
            populate(connector, userids, guest_count,
                     (port.id for port in ports))
            _wait_all_active(sdk, network.id, nics_of(guest_count))
            return agents.time_to_active(
                sdk, network.id, HOST, samples, polling_interval,
                [(ours, delete), (in_tree, delete)])


def markdown(cost_rows, latencies, guest_count, samples):
    lines = agents.environment('neutron-ibmz-zvm-agent benchmarks',
                               'python -m benchmarks.zvm_agent',
                               ('neutron', 'zVMCloudConnector'))
    lines += [
        f'## 1. Cloud Connector requests per polling interval '
        f'({guest_count} guests of ours)', '',
        'Counted from the Cloud Connector simulator\'s request log (tokens '
        'excluded), the agent\'s manager driven as its loop drives it '
        '(devices, then plug of each new device), vswitch mappings of 2 '
        'vswitches. Target: one GET /guests/nics, plus one GET '
        '.../user_direct per guest of the template not seen before; for '
        'each NIC the agent couples one GET .../power_state and one PUT '
        '.../nic, and a grant per guest, vswitch and VLAN.', '']
    lines += agents.cost_table('connector requests', cost_rows)
    lines += [
        '', '## 2. NIC to port ACTIVE, through a real neutron-server', '',
        f'{samples} ports of each kind per polling interval, one after '
        'another, on a VLAN network: the port is bound to the host, after '
        'a random wait within one interval a new guest\'s NIC made through '
        f'the connector\'s API, {agents.WAITS} Our driver\'s NIC is made, '
        'granted and coupled as ZVMDriver does, and timed from its couple; '
        'the in-tree driver\'s NIC is made uncoupled and timed from then: '
        'the agent grants and couples it. The agent runs as a thread of the '
        f'server (as in the sandbox), among {guest_count} guests of ours '
        f'with {nics_of(guest_count)} NICs whose ports are ACTIVE, and the '
        f'foreign guests of section 1. {agents.READING}', '']
    lines += agents.latency_table(
        ('our NIC coupled -> ACTIVE', 'our NIC deleted -> DOWN',
         'in-tree NIC made -> ACTIVE', 'in-tree NIC deleted -> DOWN'),
        latencies)
    return '\n'.join(lines) + '\n'


def measure(quick, workdir):
    """The report's markdown, among 500 guests of ours (quick: 10)."""
    guest_count = 10 if quick else 500
    samples = 3 if quick else 10
    return agents.measure(
        'connector requests', lambda: polling_cost(guest_count, workdir),
        lambda interval: time_to_active(samples, interval, guest_count,
                                        workdir),
        lambda rows, latencies: markdown(rows, latencies, guest_count,
                                         samples))


def main(argv=None):
    return agents.main('zvm_agent', __doc__, '10 guests and 3 samples: '
                       'checks the harness, not the agent', measure, argv)


if __name__ == '__main__':
    sys.exit(main())
