# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The scale-out sandbox under a burst of boots: its cold start, then N
servers (40) POSTed at once through Nova's API and left to the scheduler,
half from the z/VM image, half from volumes made first from the DPM image
through the Cinder stand-in, all with the same flavor: the image's
hypervisor_type (the volume's, which the stand-in copies from Glance as
Cinder does) is all that tells the scheduler's ImagePropertiesFilter
where each goes.

Measured: seconds from nothing to a cloud that boots (RabbitMQ, MariaDB,
the schemas, every service); wall time until every server is ACTIVE or
failed, each server's boot time (its POST to the poll that first saw it
ACTIVE, polls every POLL_SECONDS), where the scheduler put each, the
faults; each process's RSS and CPU seconds over the burst
(ScaleOut.usage(), and this process's, which runs the simulators), and
its CPU over IDLE_SECONDS after it; then the wall time to delete every
server, and the orphans left on the simulators (must be none).

Cost: ~4 minutes and ~3 GB of memory on 2 cores (start ~50 s, the burst
~50 s, idle 30 s, deletes ~15 s, stop ~30 s); needs rabbitmq-server and
mariadb-server.  `make bench` runs it (4 servers with --quick).

    python -m benchmarks.scaleout [--servers 40] [--dpm-hosts 2]
        [--zvm-hosts 2] [--out benchmarks/results/scaleout.md]
"""

import argparse
import collections
from concurrent import futures
import os
import pathlib
import statistics
import sys
import tempfile
import time

import requests

from benchmarks import agents
from nova_ibmz.sandbox import scaleout
from nova_ibmz.sandbox import seed
from tests.scaleout import cloud as scaleout_cloud

OUT = pathlib.Path(__file__).parent / 'results' / 'scaleout.md'
POLL_SECONDS = 1
IDLE_SECONDS = 30
WAIT_SECONDS = 900
MIB = 1024 * 1024


def parse(argv):
    parser = argparse.ArgumentParser(prog='python -m benchmarks.scaleout',
                                     description=__doc__.splitlines()[0])
    parser.add_argument('--servers', type=int, default=40)
    parser.add_argument('--dpm-hosts', type=int, default=2)
    parser.add_argument('--zvm-hosts', type=int, default=2)
    parser.add_argument('--out', type=pathlib.Path, default=OUT)
    parser.add_argument('--state-dir', type=pathlib.Path,
                        help='keep the sandbox\'s state and logs here '
                        '(default: a temporary directory)')
    return parser.parse_args(argv)


def _proc(pid):
    """(RSS bytes, CPU seconds) of one process, as processes.Process."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0, 0.0
    return (int(fields[21]) * os.sysconf('SC_PAGE_SIZE'),
            (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK'))


def usage(sandbox):
    """{process: (RSS bytes, CPU s)}: ScaleOut.usage(), every service,
    and this process's (the simulators and the client)."""
    measured = sandbox.usage()
    measured['simulators + this client'] = _proc(os.getpid())
    return measured


def wait_all(cloud, posted, done):
    """Poll Nova's list until done(server or None) for each of posted
    ({id: monotonic time of its POST}): {id: seconds to done}, {id:
    server as last seen}."""
    began = time.monotonic()
    seconds, last = {}, {}
    while len(seconds) < len(posted):
        servers = cloud.servers()
        now = time.monotonic()
        for server_id, at in posted.items():
            server = servers.get(server_id)
            last[server_id] = server
            if server_id not in seconds and done(server):
                seconds[server_id] = now - at
        if now - began > WAIT_SECONDS:
            break
        time.sleep(POLL_SECONDS)
    return seconds, last


def run(args, result):
    """Fills result as it goes: what a failure leaves is still reported."""
    result.update(load=os.getloadavg(), args=args)
    with tempfile.TemporaryDirectory(prefix='bench-scaleout-') as tmp:
        sandbox = scaleout.ScaleOut(
            args.state_dir or tmp, dpm_hosts=args.dpm_hosts,
            zvm_hosts=args.zvm_hosts)
        try:
            began = time.monotonic()
            sandbox.start()
            result['cold'] = time.monotonic() - began
            print(f'    started in {result["cold"]:.0f} s', flush=True)
            burst(sandbox, scaleout_cloud.Cloud(sandbox), args, result)
        finally:
            result['errors'] = errors(sandbox.logs)
            sandbox.stop()


def burst(sandbox, cloud, args, result):
    dpm = args.servers // 2
    cloud.flat_network_id       # looked up once, before the burst
    began = time.monotonic()
    volumes = [cloud.volume(f'boot-{n}') for n in range(dpm)]
    result['volumes'] = time.monotonic() - began
    before = usage(sandbox)
    result['load_burst'] = os.getloadavg()
    print(f'... {args.servers} servers', flush=True)

    def one(n):         # alternate, as users' requests would come
        at = time.monotonic()
        try:
            server_id = (cloud.boot(f'lpar-{n}', volume_id=volumes[n // 2])
                         if n % 2 else cloud.boot(f'vm-{n}'))
        except requests.RequestException as error:
            server_id = error
        return server_id, at, time.monotonic() - at

    began = time.monotonic()
    with futures.ThreadPoolExecutor(args.servers) as pool:
        answers = list(pool.map(one, range(args.servers)))
    posted = {i: at for i, at, _ in answers if isinstance(i, str)}
    kinds = {i: 'volume' if n % 2 else 'image'
             for n, (i, _, _) in enumerate(answers)}
    result['post_seconds'] = [t for _, _, t in answers]
    result['post_errors'] = [str(i) for i, _, _ in answers
                             if not isinstance(i, str)]
    result['posts'] = time.monotonic() - began
    seconds, last = wait_all(
        cloud, posted, lambda s: s and s['status'] in ('ACTIVE', 'ERROR'))
    result['burst'] = time.monotonic() - began
    after = usage(sandbox)
    result['load_after'] = os.getloadavg()
    result['usage'] = {name: (before.get(name, (0, 0)), after[name])
                       for name in after}
    result['servers'] = [(kinds[i], last[i], seconds.get(i)) for i in posted]
    print(f'    {result["burst"]:.0f} s; idle {IDLE_SECONDS} s', flush=True)
    time.sleep(IDLE_SECONDS)
    idle = usage(sandbox)
    result['idle_cpu'] = {name: (idle[name][1] - cpu) / IDLE_SECONDS
                          for name, (_, cpu) in after.items()}
    print(f'... deleting {len(posted)}', flush=True)
    began = time.monotonic()
    with futures.ThreadPoolExecutor(len(posted) or 1) as pool:
        list(pool.map(lambda i: cloud.api('DELETE', f'/servers/{i}'),
                      posted))
    gone, left = wait_all(cloud, dict.fromkeys(posted, began),
                          lambda s: s is None)
    result['delete'] = time.monotonic() - began
    result['not_deleted'] = [s for i, s in left.items() if i not in gone]
    result['orphans'] = cloud.orphans()


def errors(logs):
    """{log file: lines with ERROR or CRITICAL} of every service."""
    found = {}
    for path in sorted(pathlib.Path(logs).glob('*.log')):
        with open(path, errors='replace') as f:
            count = sum(1 for line in f if ' ERROR ' in line or
                        ' CRITICAL ' in line)
        if count:
            found[path.stem] = count
    return found


def _stats(values):
    return (f'{min(values):.1f} / {statistics.median(values):.1f} / '
            f'{max(values):.1f}' if values else '-')


def report(result):
    args = result['args']
    hosts = f'{args.dpm_hosts} DPM subsets and {args.zvm_hosts} z/VM members'
    lines = agents.environment(
        f'Scale-out sandbox: {args.servers} servers across '
        f'{args.dpm_hosts + args.zvm_hosts} hosts',
        ' '.join(['python -m benchmarks.scaleout', *sys.argv[1:]]),
        ('nova', 'neutron', 'oslo.messaging', 'gunicorn'))
    load = '; '.join(f'{when} {" / ".join(f"{v:.2f}" for v in result[key])}'
                     for when, key in (('at the start', 'load'),
                                       ('before the burst', 'load_burst'),
                                       ('after it', 'load_after'))
                     if key in result)
    lines += [
        f'Load average (1 / 5 / 15 min) {load}. The host has '
        f'{os.cpu_count()} cores, shared with whatever else ran.', '',
        f'`ScaleOut` with {hosts}, every service a process of its own over a '
        'private RabbitMQ and MariaDB (nova_ibmz/sandbox/scaleout.py), the '
        'simulators in the benchmark\'s process.', '']
    if 'cold' not in result:
        return '\n'.join(lines + ['The sandbox did not start.', ''])
    lines += [f'## Cold start: {result["cold"]:.1f} s', '',
              'From nothing (no broker, no database) to every compute host '
              'up and a hypervisor of the cell, and the flavors, networks '
              'and image seeded.', '']
    if 'servers' not in result:
        return '\n'.join(lines + ['The burst did not run.', ''])
    servers = result['servers']
    failed = [(k, s) for k, s, _ in servers
              if not s or s['status'] != 'ACTIVE']
    times = [t for _, s, t in servers if s and s['status'] == 'ACTIVE']
    placed = collections.Counter(
        (s['OS-EXT-SRV-ATTR:host'] if s else None, kind)
        for kind, s, _ in servers)
    lines += [
        f'## Burst: {args.servers} servers POSTed at once', '',
        f'{args.servers - args.servers // 2} from the image '
        f'{seed.IMAGE_NAME} (hypervisor_type zvm), {args.servers // 2} from '
        f'volumes made first from the image {seed.DPM_IMAGE_NAME} '
        f'(hypervisor_type prsm) through the Cinder stand-in '
        f'({result["volumes"]:.1f} s), alternating, each POST from a thread '
        'of its own (nova-api: gunicorn '
        f'{" ".join(scaleout.GUNICORN[:6])}); no host forced, one flavor '
        f'({seed.SMALL_FLAVOR}) for all. Only the hypervisor_type of each '
        'server\'s image tells the scheduler\'s ImagePropertiesFilter which '
        'hosts fit: for a volume boot, the one the stand-in copied from the '
        'DPM image into the volume\'s volume_image_metadata, as Cinder '
        'does.', '',
        '| measure | value |', '|---|---|',
        f'| all POSTs answered | {result["posts"]:.1f} s |',
        f'| one POST (min / median / max) | '
        f'{_stats(result["post_seconds"])} s |',
        f'| POSTs refused | {len(result["post_errors"])} |',
        f'| wall time to all ACTIVE or failed | {result["burst"]:.1f} s |',
        f'| ACTIVE | {len(times)} of {args.servers} |',
        f'| boot time per server, POST to ACTIVE (min / median / max) | '
        f'{_stats(times)} s |', '',
        f'Boot time is read by polling the server list every '
        f'{POLL_SECONDS} s.', '',
        '| host | from the image | from a volume |', '|---|---|---|']
    for host in sorted({h for h, _ in placed}, key=str):
        lines.append(f'| {host or "(none)"} | {placed[host, "image"]} | '
                     f'{placed[host, "volume"]} |')
    lines += ['', 'Failures: ' + (
        '' if failed or result['post_errors'] else 'none')]
    lines += [f'- POST: {error}' for error in result['post_errors']]
    for kind, s in failed:
        fault = (s or {}).get('fault', {}).get('message', 'no fault')
        lines.append(f'- {kind}: {s and s["status"]}: {fault}')
    if 'idle_cpu' not in result:
        return '\n'.join(lines + ['', 'Ended before the idle time.', ''])
    lines += ['', '## Processes', '',
              f'RSS after the burst, CPU seconds consumed during it, and CPU '
              f'over the {IDLE_SECONDS} s after it with the servers ACTIVE '
              '(per cent of one core).', '',
              '| process | RSS before MiB | RSS after MiB | burst CPU s | '
              'idle CPU % |', '|---|---|---|---|---|']
    total = [0, 0, 0, 0]
    for name, ((rss0, cpu0), (rss1, cpu1)) in sorted(
            result['usage'].items(), key=lambda i: -i[1][1][1] + i[1][0][1]):
        idle = 100 * result['idle_cpu'][name]
        for n, v in enumerate((rss0 / MIB, rss1 / MIB, cpu1 - cpu0, idle)):
            total[n] += v
        lines.append(f'| {name} | {rss0 / MIB:.0f} | {rss1 / MIB:.0f} | '
                     f'{cpu1 - cpu0:.1f} | {idle:.1f} |')
    lines += [f'| **sum** | {total[0]:.0f} | {total[1]:.0f} | '
              f'{total[2]:.1f} | {total[3]:.1f} |', '']
    if 'orphans' in result:
        orphans = result['orphans']
        lines += [f'## Delete: {result["delete"]:.1f} s', '',
                  'Every server DELETEd at once, until Nova lists none of '
                  f'them: {len(servers) - len(result["not_deleted"])} of '
                  f'{len(servers)} gone. Orphans left on the simulators '
                  f'(`Cloud.orphans()`): {len(orphans)}'
                  f'{": " + ", ".join(orphans) if orphans else ""}.', '']
    lines += ['## Errors in the services\' logs', '',
              'Lines with ERROR or CRITICAL, before the services stopped '
              '(start-up warnings logged as errors count too).', '',
              ', '.join(f'{name}: {n}' for name, n in
                        result['errors'].items()) or 'none', '']
    return '\n'.join(lines)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    result = {}
    try:
        run(args, result)
    finally:
        if result:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(report(result))
            print(f'report: {args.out}')
    servers = result.get('servers', ())
    ok = (servers and all(s and s['status'] == 'ACTIVE'
                          for _, s, _ in servers) and
          not result.get('orphans', 1) and not result.get('not_deleted'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
