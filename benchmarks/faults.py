# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The fault table: what an HMC or Cloud Connector failure does to a build
or a delete through Nova, as measured.

Nova runs in one process (the sandbox's cloud) on the simulators, without
latency, with the drivers' default retry options.  For each case a fault
rule is set on the simulator, a server is created (or deleted), and the
table gets: where Nova ended (ERROR, ACTIVE, deleted) with the start of the
server's fault; how many requests matched the rule (the first try and the
driver's repeats); how many of the host's partitions or guests were
orphans (not the server Nova runs) when Nova was done; and, after the
fault was lifted and Nova's resource audit ran once, how many were still
left and how long that run took.

python -m benchmarks.faults [--out DIR] writes faults.md; make bench runs
it too.
"""

import argparse
import dataclasses
import pathlib
import re
import sys
import time

# nova on native threads, before anything imports nova.test.
import tests.nova_side  # noqa: F401

from benchmarks import rig  # noqa: E402
from nova_ibmz.sandbox import seed  # noqa: E402
from nova_ibmz.sandbox import simulators  # noqa: E402
from nova_ibmz.sim.hmc import faults as hmc_faults  # noqa: E402
from nova_ibmz.sim.zvm import faults as zvm_faults  # noqa: E402

TIMEOUT_S = 300
OUTAGE = 3600           # an outage lasts until the case lifts it
ZVM_HOST = simulators.ZVM_HOSTS[0]


@dataclasses.dataclass(frozen=True)
class Case:
    hypervisor: str         # 'DPM' or 'z/VM'
    phase: str              # 'create' or 'delete'
    fault: str              # what the table says of it
    rule: dict              # the simulator's fault rule


CASES = [
    Case('DPM', 'create', 'HMC busy (409,2) twice at Create Partition',
         {'method': 'POST', 'path': r'/cpcs/[^/]+/partitions$',
          'status': 409, 'reason': 2, 'times': 2}),
    Case('DPM', 'create', 'HMC busy (409,2) at every Create Partition',
         {'method': 'POST', 'path': r'/cpcs/[^/]+/partitions$',
          'status': 409, 'reason': 2}),
    Case('DPM', 'create', 'connection dropped once at a GET of the spawn '
         '(an HBA\'s WWPN)',
         {'method': 'GET', 'path': r'/hbas/[^/?]+', 'times': 1,
          'drop': True}),
    Case('DPM', 'create', 'HMC outage from the first Create NIC (the '
         'partition exists)',
         {'method': 'POST', 'path': r'/nics$', 'times': 1,
          'outage_s': OUTAGE}),
    Case('DPM', 'delete', 'HMC outage from the stop of the partition',
         {'method': 'POST', 'path': r'/operations/stop$', 'times': 1,
          'outage_s': OUTAGE}),
    # First of the z/VM cases: the host reads an image's record at its
    # first boot only.
    Case('z/VM', 'create', 'connection dropped once at a GET of the spawn '
         '(the image\'s record, read at its first boot on the host)',
         {'method': 'GET', 'path': r'^/images', 'times': 1, 'drop': True}),
    Case('z/VM', 'create', 'connector busy (503) twice at POST /guests',
         {'method': 'POST', 'path': r'^/guests$', 'status': 503,
          'times': 2}),
    Case('z/VM', 'create', 'connector busy (503) at every POST /guests',
         {'method': 'POST', 'path': r'^/guests$', 'status': 503}),
    Case('z/VM', 'create', 'connector outage from the deploy (the guest '
         'exists)',
         {'method': 'POST', 'path': r'^/guests/[^/]+/action$', 'times': 1,
          'outage_s': OUTAGE}),
    Case('z/VM', 'delete', 'connector outage from DELETE /guests/{userid}',
         {'method': 'DELETE', 'path': r'^/guests/OS[0-9A-F]+$', 'times': 1,
          'outage_s': OUTAGE}),
]


@dataclasses.dataclass
class Row:
    case: Case
    state: str
    fault: str
    matched: int
    orphans: int
    orphans_after_audit: int
    audit_s: float


class Bench:
    """The cloud, and what a case needs of it."""

    def __init__(self, nova, sims):
        self.nova = nova
        self.sims = sims
        self.flavor = next(f['id'] for f in nova.api.get_flavors()
                           if f['name'] == seed.SMALL_FLAVOR)
        self.image = seed.IMAGE_ID
        self.dpm_boot = rig.dpm_boot()

    def body(self, hypervisor, name):
        body = {'name': name, 'flavorRef': self.flavor,
                'networks': [
                    {'uuid': self.nova.networks[seed.FLAT.name]['id']}]}
        if hypervisor == 'DPM':
            body['block_device_mapping_v2'] = self.dpm_boot
        else:
            body.update(imageRef=self.image,
                        availability_zone=f'nova:{ZVM_HOST}')
        return body

    def faults(self, hypervisor):
        if hypervisor == 'DPM':
            return self.sims.hmc.sim.faults, hmc_faults.parse_rule
        return self.sims.connectors[0].model.faults, zvm_faults.parse_rule

    def log(self, hypervisor):
        return (self.sims.hmc.log if hypervisor == 'DPM'
                else self.sims.connectors[0].log)

    def ours(self, hypervisor):
        """The host's partitions, or the cluster's guests (it has no
        other workload), as the simulator holds them."""
        if hypervisor == 'DPM':
            sim = self.sims.hmc.sim
            with sim.lock:
                cpc = sim.hmc.cpcs.lookup_by_oid(self.sims.dpm.cpc_object_id)
                return sum(1 for p in cpc.partitions.list()
                           if p.name.startswith(
                               f'OpenStack-{simulators.DPM_HOST}-'))
        model = self.sims.connectors[0].model
        with model.lock:
            return len(model.guests)

    def wait(self, server_id, statuses):
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            servers = [s for s in self.nova.api.get_servers()
                       if s['id'] == server_id]
            if not servers:
                return None
            if servers[0]['status'] in statuses:
                return servers[0]
            time.sleep(0.2)
        raise TimeoutError(f'server {server_id} did not end')

    def create(self, hypervisor, name):
        server = self.nova.api.post_server(
            {'server': self.body(hypervisor, name)})
        return self.wait(server['id'], ('ACTIVE', 'ERROR'))

    def delete(self, server):
        self.nova.api.delete_server(server['id'])
        self.wait(server['id'], ())

    def run(self, case, index):
        name = f'fault-{index}'
        faults, parse_rule = self.faults(case.hypervisor)
        server = None
        if case.phase == 'delete':
            server = self.create(case.hypervisor, name)
        log = self.log(case.hypervisor)
        seq = max([e['seq'] for e in log.since()], default=0)
        faults.add(parse_rule(case.rule))
        if case.phase == 'create':
            server = self.create(case.hypervisor, name)
            state = server['status']
        else:
            self.delete(server)
            state = 'deleted'
        matched = sum(1 for e in log.since(seq)
                      if e['method'] == case.rule['method'] and
                      re.search(case.rule['path'], e['path']))
        # What the hypervisor holds besides the server Nova runs there.
        running = 1 if state == 'ACTIVE' else 0
        orphans = self.ours(case.hypervisor) - running
        faults.clear()
        started = time.monotonic()
        self.nova._run_periodics()
        audit_s = time.monotonic() - started
        orphans_after = self.ours(case.hypervisor) - running
        if case.phase == 'create':
            self.delete(server)
        fault = (server.get('fault') or {}).get('message', '')
        return Row(case, state, _short(fault, server['id']), matched,
                   orphans, orphans_after, audit_s)


def _short(message, server_id):
    """The fault's first words, without ids that differ in every run."""
    message = message.replace(server_id, '<uuid>')
    message = re.sub(r'127\.0\.0\.1:\d+', '<address>', message)
    message = re.sub(r'Port_[0-9a-f-]{36}', 'Port_<port>', message)
    message = re.sub(r'OS[0-9A-F]{6}', 'OS<n>', message)
    return message[:160] + ('...' if len(message) > 160 else '')


def run():
    """[Row] for CASES."""
    with rig.sandbox_cloud('nova-ibmz-faults-') as (nova, sims):
        bench = Bench(nova, sims)
        return [bench.run(case, n) for n, case in enumerate(CASES)]


def markdown(rows):
    lines = [
        '# Fault table', '',
        'What an HMC or Cloud Connector failure does to a build or a delete '
        'through Nova (benchmarks/faults.py): the sandbox\'s cloud on the '
        'simulators, default retry options ([dpm] hmc_retries and [zvm] '
        'connector_retries 3, waits 1, 2, 4 s). "Requests": those that '
        'matched the fault rule (the first try and the driver\'s repeats). '
        '"Orphans": the host\'s partitions or guests that are not the server '
        'Nova runs, when Nova was done; "after": once the fault was lifted '
        'and Nova\'s resource audit had run once, which took "audit".', '',
        '| Hypervisor | Phase | Fault | Nova | Requests | Orphans | After | '
        'Audit | Fault message |',
        '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |']
    for row in rows:
        lines.append(
            f'| {row.case.hypervisor} | {row.case.phase} | {row.case.fault} '
            f'| {row.state} | {row.matched} | {row.orphans} | '
            f'{row.orphans_after_audit} | {row.audit_s:.1f} s | '
            f'{row.fault.replace("|", "/") or "-"} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.faults',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--out', type=pathlib.Path,
                        default=pathlib.Path(__file__).parent / 'results')
    args = parser.parse_args(argv)
    rows = run()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / 'faults.md').write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
