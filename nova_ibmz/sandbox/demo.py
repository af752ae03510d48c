# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's scripted tour: `python -m nova_ibmz.sandbox.demo STATE_DIR`
against a running sandbox (`nova-ibmz sandbox --demo` runs it).

It is an ordinary API client: openstacksdk with the sandbox's clouds.yaml.
Each step prints a progress line; at the end a table shows the step, the
compute host, the seconds it took, its result, and the requests the
drivers sent the HMC and the Cloud Connectors meanwhile: the step's own,
and apart from them those of Nova's periodic tasks, which run all along
(the sandbox counts them by cause as the drivers send them, see
nova_ibmz/sandbox/traffic.py).  The exit code is 1 if any step failed.  A
failed step does not stop the tour: steps about a server that could not
be created are skipped, and every server is deleted at the end.
"""

import collections
import json
import pathlib
import sys
import time

import openstack
import requests

from nova_ibmz.sandbox import seed

TIMEOUT = 180           # seconds for any one wait
KINDS = ('HMC', 'z/VM')  # the simulators whose requests a step counts
CAUSES = ('operation', 'periodic')
# (kind, cause) in the table's order: the steps' own, then the periodic.
NO_REQUESTS = dict.fromkeys(
    ((kind, cause) for cause in CAUSES for kind in KINDS), 0)


class StepFailed(Exception):
    pass


class RequestCounter:
    """Requests the drivers sent each kind of simulator since the last
    mark(), by cause, read from the sandbox's count at url."""

    def __init__(self, url):
        self.url = url
        self.seen = self._read()

    def _read(self):
        answer = requests.get(self.url, timeout=30)
        answer.raise_for_status()
        counts = collections.Counter()
        for name, by_cause in answer.json().items():
            for cause, count in by_cause.items():
                counts['HMC' if name == 'hmc' else 'z/VM', cause] += count
        return counts

    def mark(self):
        """{(kind, cause): n} since the previous mark."""
        now = self._read()
        made = {key: now[key] - self.seen[key] for key in NO_REQUESTS}
        self.seen = now
        return made


class Tour:
    def __init__(self, conn, counter):
        self.conn = conn
        self.counter = counter
        self.rows = []
        self.servers = {}           # label: server
        self.networks = []          # the demo's own
        self.snapshot = None

    # -- running steps ----------------------------------------------------

    def step(self, title, label, action, creates=False):
        """Run action() as one step about server label (which it creates,
        if creates) and record its row."""
        if label and not creates and label not in self.servers:
            self._row(title, '-', 0.0, f'skipped (no {label} server)',
                      NO_REQUESTS)
            return
        self.counter.mark()
        started = time.monotonic()
        print(f'... {title}', flush=True)
        try:
            action()
            result = 'ok'
        except Exception as error:      # a step's failure is its result
            result = f'FAILED: {_one_line(error)}'
        seconds = time.monotonic() - started
        self._row(title, self.host_of(label), seconds, result,
                  self.counter.mark())

    def _row(self, title, host, seconds, result, requests_made):
        self.rows.append((title, host, seconds, result, requests_made))
        print(f'{"ok " if result == "ok" else "!! "}{title}: {result} '
              f'({seconds:.1f} s on {host}; requests: '
              f'{_requests(requests_made, "operation")}, periodic tasks '
              f'{_requests(requests_made, "periodic")})', flush=True)

    def host_of(self, label):
        server = self.servers.get(label)
        if server is None:
            return '-'
        try:
            return self.conn.compute.get_server(server.id).compute_host or '-'
        except openstack.exceptions.ResourceNotFound:
            return '-'

    @property
    def failed(self):
        return any(row[3] != 'ok' for row in self.rows)

    # -- waits -------------------------------------------------------------

    def wait_status(self, label, status, failures=('ERROR',)):
        """The server, once it shows status; StepFailed with the server's
        fault if it shows one of failures first."""
        server = self.servers[label]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            server = self.conn.compute.get_server(server.id)
            self.servers[label] = server
            if server.status == status:
                return server
            if server.status in failures:
                raise StepFailed(f'{server.name} is {server.status}: '
                                 f'{(server.fault or {}).get("message")}')
            time.sleep(0.5)
        raise StepFailed(f'{server.name} is still {server.status} after '
                         f'{TIMEOUT} s, not {status}')

    def wait_volume(self, volume_id, status):
        volume = self.conn.block_storage.get_volume(volume_id)
        self.conn.block_storage.wait_for_status(
            volume, status=status, failures=['error'], interval=0.5,
            wait=TIMEOUT)


def _requests(made, cause):
    return ', '.join(f'{kind} {made[kind, cause]}' for kind in KINDS)


def _one_line(error):
    return ' '.join(str(error).split())[:160] or type(error).__name__


def tour(conn, counter):
    t = Tour(conn, counter)
    compute = conn.compute
    flat = conn.network.find_network(seed.FLAT.name, ignore_missing=False)
    vlan = conn.network.find_network(seed.VLAN.name, ignore_missing=False)
    image = conn.image.find_image(seed.IMAGE_NAME,
                                  ignore_missing=False)
    small = compute.find_flavor(seed.SMALL_FLAVOR, ignore_missing=False)
    medium = compute.find_flavor(seed.RESIZE_FLAVOR, ignore_missing=False)
    boot_volume = conn.block_storage.find_volume(
        seed.BOOT_VOLUME, ignore_missing=False)
    data = [conn.block_storage.find_volume(name, ignore_missing=False)
            for name in seed.DATA_VOLUMES]

    def boot(label, **how):
        t.servers[label] = compute.create_server(
            name=f'demo-{label}', flavor_id=small.id, **how)
        t.wait_status(label, 'ACTIVE')

    def boot_zvm():
        boot('zvm', image_id=image.id,
             networks=[{'uuid': flat.id}, {'uuid': vlan.id}])

    def boot_dpm():
        boot('dpm', networks=[{'uuid': flat.id}, {'uuid': vlan.id}],
             block_device_mapping=[{
                 'boot_index': 0, 'uuid': boot_volume.id,
                 'source_type': 'volume', 'destination_type': 'volume',
                 'delete_on_termination': False}])

    def stop_start(label):
        def action():
            compute.stop_server(t.servers[label])
            t.wait_status(label, 'SHUTOFF')
            compute.start_server(t.servers[label])
            t.wait_status(label, 'ACTIVE')
        return action

    def reboot(label, kind):
        def action():
            # The API shows REBOOT or HARD_REBOOT until the host is done.
            compute.reboot_server(t.servers[label], kind)
            t.wait_status(label, 'ACTIVE')
        return action

    def pause_unpause():
        compute.pause_server(t.servers['zvm'])
        t.wait_status('zvm', 'PAUSED')
        compute.unpause_server(t.servers['zvm'])
        t.wait_status('zvm', 'ACTIVE')

    def resize_confirm():
        compute.resize_server(t.servers['zvm'], medium.id)
        # Back to ACTIVE without VERIFY_RESIZE: the resize was refused.
        t.wait_status('zvm', 'VERIFY_RESIZE', failures=('ERROR', 'ACTIVE'))
        compute.confirm_server_resize(t.servers['zvm'])
        server = t.wait_status('zvm', 'ACTIVE')
        if server.flavor.name != medium.name:
            raise StepFailed(f'flavor is {server.flavor.name} after resize')

    def snapshot():
        t.snapshot = compute.create_server_image(
            t.servers['zvm'], 'demo-snapshot', wait=True, timeout=TIMEOUT)

    def boot_snapshot():
        if t.snapshot is None:
            raise StepFailed('no snapshot was made')
        boot('from-snapshot', image_id=t.snapshot.id,
             networks=[{'uuid': flat.id}])

    def live_migrate():
        before = t.host_of('zvm')
        compute.live_migrate_server(t.servers['zvm'], host=None,
                                    block_migration='auto')
        t.wait_status('zvm', 'ACTIVE')      # MIGRATING until it is done
        if t.host_of('zvm') == before:
            raise StepFailed(f'still on {before}: the live migration '
                             'failed (see the server\'s instance actions)')

    def attach_detach(label, volume):
        def action():
            compute.create_volume_attachment(t.servers[label],
                                             volume_id=volume.id)
            t.wait_volume(volume.id, 'in-use')
            compute.delete_volume_attachment(t.servers[label], volume.id)
            t.wait_volume(volume.id, 'available')
        return action

    def console(label):
        def action():
            output = compute.get_server_console_output(t.servers[label])
            if not output.get('output', '').strip():
                raise StepFailed('the console log is empty')
        return action

    def boot_on_own_network():
        """A VLAN network of the demo's own (Neutron's API), a server on
        it: its port bound by the z/VM mechanism driver with that VLAN,
        ACTIVE once the z/VM agent saw the guest's NIC."""
        network = conn.network.create_network(
            name='demo-vlan-200', provider_network_type='vlan',
            provider_physical_network=seed.PHYSNET,
            provider_segmentation_id=200)
        t.networks.append(network)
        conn.network.create_subnet(network_id=network.id, ip_version=4,
                                   cidr='10.30.0.0/24', is_dhcp_enabled=False)
        boot('own-network', image_id=image.id,
             networks=[{'uuid': network.id}])
        [port] = conn.network.ports(device_id=t.servers['own-network'].id)
        if (port.status, port.binding_vif_details.get('vlan')) != (
                'ACTIVE', 200):
            raise StepFailed(f'port {port.id} is {port.status} with binding '
                             f'details {port.binding_vif_details}')

    def delete_all():
        for server in t.servers.values():
            compute.delete_server(server)
        for label, server in list(t.servers.items()):
            compute.wait_for_delete(server, interval=0.5, wait=TIMEOUT)
            del t.servers[label]
        for network in t.networks:
            conn.network.delete_network(network)

    t.step('boot on z/VM from an image', 'zvm', boot_zvm, creates=True)
    t.step('boot on DPM from an FC volume', 'dpm', boot_dpm, creates=True)
    t.step('stop and start (z/VM)', 'zvm', stop_start('zvm'))
    t.step('stop and start (DPM)', 'dpm', stop_start('dpm'))
    t.step('soft reboot (z/VM)', 'zvm', reboot('zvm', 'SOFT'))
    t.step('hard reboot (DPM)', 'dpm', reboot('dpm', 'HARD'))
    t.step('pause and unpause (z/VM)', 'zvm', pause_unpause)
    t.step(f'resize to {seed.RESIZE_FLAVOR} and confirm (z/VM)', 'zvm',
           resize_confirm)
    t.step('snapshot (z/VM)', 'zvm', snapshot)
    t.step('boot from the snapshot (z/VM)', 'from-snapshot', boot_snapshot,
           creates=True)
    t.step('live-migrate to the other SSI member (z/VM)', 'zvm',
           live_migrate)
    t.step('attach and detach a volume (z/VM)', 'zvm',
           attach_detach('zvm', data[0]))
    t.step('attach and detach a volume (DPM)', 'dpm',
           attach_detach('dpm', data[1]))
    t.step('console log (z/VM)', 'zvm', console('zvm'))
    t.step('console log (DPM)', 'dpm', console('dpm'))
    t.step('boot on a VLAN network of its own (z/VM)', 'own-network',
           boot_on_own_network, creates=True)
    t.step('delete all servers and networks', None, delete_all)
    return t


def table(rows):
    """The steps, with the requests of each on the HMC and the Cloud
    Connectors ('req') and those of Nova's periodic tasks meanwhile
    ('periodic')."""
    head = ('step', 'host', 'seconds', 'result', 'HMC req', 'z/VM req',
            'HMC periodic', 'z/VM periodic')
    lines = [(title, host, f'{seconds:.1f}', result,
              *(str(made[key]) for key in NO_REQUESTS))
             for title, host, seconds, result, made in rows]
    widths = [max(len(r[i]) for r in [head, *lines])
              for i in range(len(head))]
    rule = '+-' + '-+-'.join('-' * w for w in widths) + '-+'
    out = [rule, _cells(head, widths), rule]
    out += [_cells(line, widths) for line in lines]
    return '\n'.join(out + [rule])


def _cells(values, widths):
    return '| ' + ' | '.join(v.ljust(w) for v, w in zip(values, widths)) + \
        ' |'


def connect(clouds_yaml, cloud):
    config = openstack.config.OpenStackConfig(
        config_files=[str(clouds_yaml)])
    return openstack.connection.Connection(
        config=config.get_one(cloud=cloud), compute_api_version='2.latest')


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print('usage: python -m nova_ibmz.sandbox.demo STATE_DIR',
              file=sys.stderr)
        return 2
    endpoints = json.loads(
        (pathlib.Path(args[0]) / 'sandbox.json').read_text())
    conn = connect(endpoints['clouds_yaml'], endpoints['cloud'])
    counter = RequestCounter(endpoints['requests'])
    started = time.monotonic()
    done = tour(conn, counter)
    print(table(done.rows))
    print(f'demo {"FAILED" if done.failed else "passed"}: '
          f'{len(done.rows)} steps in {time.monotonic() - started:.1f} s')
    return 1 if done.failed else 0


if __name__ == '__main__':
    sys.exit(main())
