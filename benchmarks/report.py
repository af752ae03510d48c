# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""benchmarks/results/latest.md and its plots, from the measurements."""

import datetime
import importlib.metadata
import os
import platform
import subprocess

import matplotlib

matplotlib.use('Agg')
from matplotlib import pyplot  # noqa: E402

from nova import conf as nova_conf  # noqa: E402

from benchmarks import operations  # noqa: E402
from nova_ibmz.sandbox import simulators  # noqa: E402

CONF = nova_conf.CONF

DRIVER_NAMES = {key: rig_class.name
                for key, (rig_class, _) in operations.LIVES.items()}
# A reference, not measured by make bench: the retired nova-dpm 3.0's
# requests, counted from its code on zhmcclient's mock with one FCP
# adapter and two NICs (the project's reference notes on the HMC and
# zhmcclient); J: its job polls and job delete.
NOVA_DPM = {'spawn': '19 + J', 'get_info': '2 per instance',
            'get_available_resource': '2(1+P): 4 for P=1',
            'power_off': '3 + J', 'power_on': '3 + J',
            'reboot': '5 + 2J', 'attach_volume': '0 (did nothing)',
            'detach_volume': '0 (did nothing)', 'destroy': '6 + J'}


def _count(op):
    if op.sample is None:
        return 'missing'
    polls = f' + {op.sample.job_polls} polls' if op.sample.job_polls else ''
    return f'{op.sample.requests}{polls}'


def machine():
    versions = ', '.join(
        f'{name} {importlib.metadata.version(name)}'
        for name in ('nova', 'zhmcclient', 'requests', 'zVMCloudConnector'))
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                                capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = 'unknown'
    return (f'{platform.platform()}, {os.cpu_count()} CPUs, Python '
            f'{platform.python_version()}; {versions}; nova-ibmz {commit}')


def _requests_section(counts):
    lines = ['## 1. Requests per operation', '',
             'Counted from the simulators\' request logs, no latency. '
             '"polls" are the GET and DELETE of HMC jobs. The minimum is '
             'the fewest requests the API allows for the operation.', '']
    for key, reference_name in (('dpm', 'nova-dpm 3.0 (reference: counted '
                                 'from its code, not measured)'),
                                ('zvm', 'nova in-tree z/VM driver')):
        ops = counts[key]
        reference = ({op: NOVA_DPM.get(op, 'missing') for op in
                      (o.name for o in ops)} if key == 'dpm' else
                     {o.name: _count(o) for o in counts['nova-zvm']})
        lines += [f'### {DRIVER_NAMES[key]}', '',
                  f'| operation | ours | minimum | why | {reference_name} |',
                  '|---|---|---|---|---|']
        for op in ops:
            minimum, why = operations.MINIMUM[key].get(op.name, ('-', ''))
            lines.append(f'| {op.name} | {_count(op)} | {minimum} | {why} | '
                         f'{reference[op.name]} |')
        lines.append('')
    lines += ['get_info is measured without the cache (use_cache=False); '
              'the power-state sync uses the cache: see section 3.', '']
    return lines


def _wall_section(timed, latency):
    lines = ['## 2. Wall time under latency', '', latency.describe() + '.',
             'Hypervisor time is the job and disk copy time the operation '
             'contains; the rest is the driver\'s own overhead (its '
             'requests, its polling, its CPU).', '',
             '| driver | operation | wall s | hypervisor s | overhead s | '
             'overhead % | CPU ms |', '|---|---|---|---|---|---|---|']
    for key, ops in timed.items():
        for op in ops:
            if op.sample is None:
                continue
            wall, hyper = op.sample.wall, op.hypervisor_s
            over = wall - hyper
            pct = f'{100 * over / wall:.0f}' if wall else '-'
            lines.append(f'| {DRIVER_NAMES[key]} | {op.name} | {wall:.2f} | '
                         f'{hyper:.1f} | {over:.2f} | {pct} | '
                         f'{1000 * op.sample.cpu:.1f} |')
    return lines + ['', '![wall time](wall_time.png)', '']


def _scale_section(points):
    lines = ['## 3. Scale: Nova\'s periodic work', '',
             'One period in the steady state: the power-state sync '
             '(get_num_instances, then get_info of each instance), the '
             'resource audit (get_available_resource) and list_instances. '
             'CPU is the calling thread\'s: the driver and its client '
             'library.', '',
             '| driver | instances | sync requests | sync CPU ms | audit '
             'requests | list_instances requests |',
             '|---|---|---|---|---|---|']
    for key, series in points.items():
        for p in series:
            lines.append(f'| {DRIVER_NAMES[key]} | {p.instances} | '
                         f'{p.sync.total} | {1000 * p.sync.cpu:.1f} | '
                         f'{p.audit.total} | {p.listing.total} |')
    return lines + ['', '![scale](scale.png)', '']


def _concurrency_section(bursts, latency, timed):
    waves = -(-bursts[0].servers // CONF.max_concurrent_builds)
    spawn = {simulators.DPM_HOST: _op(timed['dpm'], 'spawn'),
             simulators.ZVM_HOSTS[0]: _op(timed['zvm'], 'spawn')}
    lines = ['## 4. Concurrency', '',
             f'{bursts[0].servers} servers in one request, through Nova in '
             f'one process (the sandbox\'s cloud), {latency.describe()}. '
             'Threads and memory are the whole process\'s (Nova\'s '
             'services, the drivers and the simulators). "Ideal" is one '
             f'spawn\'s wall time (section 2) for each of the {waves} waves '
             f'that nova-compute\'s max_concurrent_builds '
             f'({CONF.max_concurrent_builds}) allows: above it, builds wait '
             'for each other somewhere below Nova.', '',
             '| host | servers | active | seconds | ideal s | threads '
             'before | peak threads | RSS before MiB | peak RSS MiB | '
             'failures |', '|---|---|---|---|---|---|---|---|---|---|']
    for b in bursts:
        ideal = waves * spawn[b.host].sample.wall
        lines.append(f'| {b.host} | {b.servers} | {b.active} | '
                     f'{b.seconds:.1f} | {ideal:.1f} | {b.threads_before} | '
                     f'{b.peak_threads} | {b.rss_before_mb:.0f} | '
                     f'{b.peak_rss_mb:.0f} | '
                     f'{"; ".join(b.failures) or "none"} |')
    return lines + ['']


def _op(ops, name):
    return next(o for o in ops if o.name == name)


def targets(counts, timed, points, bursts):
    """(target, measured, met) rows."""
    dpm_spawn = _op(counts['dpm'], 'spawn').sample
    rows = [('DPM spawn, 2 NICs and 1 adapter: at most 8 HMC requests plus '
             'job polls (nova-dpm, reference: 19 + J)',
             f'{dpm_spawn.requests} + {dpm_spawn.job_polls} polls',
             dpm_spawn.requests <= 8)]
    dpm_sync = [p.sync.total for p in points['dpm']]
    rows.append(('DPM power sync of N instances: 1 request per period for '
                 'any N (nova-dpm, reference: 2 per instance)',
                 ', '.join(f'N={p.instances}: {p.sync.total}'
                           for p in points['dpm']),
                 set(dpm_sync) == {1}))
    for name in ('power_off', 'power_on', 'reboot'):
        op = _op(timed['dpm'], name)
        over = op.sample.wall - op.hypervisor_s
        rows.append((f'DPM {name} wall time within 1 s of the job time',
                     f'{op.sample.wall:.2f} s for {op.hypervisor_s:g} s of '
                     f'jobs (+{over:.2f} s)', over <= 1.0))
    zvm = {p.instances: p.sync.total for p in points['zvm']}
    intree = {p.instances: p.sync.total for p in points['nova-zvm']}
    top = max(zvm)
    rows.append((f'z/VM power sync of {top} guests: 1 request per period '
                 f'(in-tree: {top})',
                 f'{zvm[top]} (in-tree measured: {intree.get(top)})',
                 zvm[top] == 1))
    rows.append((f'{bursts[0].servers} concurrent boots: no failure',
                 ', '.join(f'{b.host}: {b.active}/{b.servers}'
                           for b in bursts),
                 all(b.active == b.servers for b in bursts)))
    return rows


def _targets_section(rows):
    lines = ['## Targets', '', '| target | measured | met |',
             '|---|---|---|']
    lines += [f'| {t} | {m} | {"yes" if ok else "**no**"} |'
              for t, m, ok in rows]
    return lines + ['']


def plot_scale(points, path):
    figure, (requests, cpu) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for key, series in points.items():
        xs = [p.instances for p in series]
        requests.plot(xs, [p.sync.total for p in series], 'o-',
                      label=DRIVER_NAMES[key])
        cpu.plot(xs, [1000 * p.sync.cpu for p in series], 'o-',
                 label=DRIVER_NAMES[key])
    for axes, title in ((requests, 'requests per power-state sync'),
                        (cpu, 'driver CPU ms per power-state sync')):
        axes.set_xscale('log')
        axes.set_yscale('log')
        axes.set_xlabel('instances on the host')
        axes.set_title(title)
        axes.grid(True, which='both', alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def plot_wall(timed, path):
    rows = [(f'{DRIVER_NAMES[key].split(" (")[0]}'
             f'{" in-tree" if key == "nova-zvm" else ""} {op.name}',
             op.hypervisor_s, op.sample.wall - op.hypervisor_s)
            for key, ops in timed.items() for op in ops
            if op.sample is not None]
    figure, axes = pyplot.subplots(figsize=(11, 0.28 * len(rows) + 1.2))
    labels = [r[0] for r in rows]
    axes.barh(labels, [r[1] for r in rows], label='hypervisor (jobs, '
              'disk copies)')
    axes.barh(labels, [max(r[2], 0) for r in rows],
              left=[r[1] for r in rows], label='driver overhead')
    axes.invert_yaxis()
    axes.set_xlabel('seconds')
    axes.legend(loc='lower right')
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def write(out_dir, latency, counts, timed, points, bursts):
    """latest.md, scale.png and wall_time.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_scale(points, out_dir / 'scale.png')
    plot_wall(timed, out_dir / 'wall_time.png')
    rows = targets(counts, timed, points, bursts)
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = ['# nova-ibmz benchmarks', '',
             f'Run {now:%Y-%m-%d %H:%M} UTC on {machine()}.', '',
             'Drivers against the simulators (`make bench`); the z/VM '
             'reference is nova\'s in-tree driver, measured in the same run '
             'against the same simulator code.', '']
    lines += _targets_section(rows)
    lines += _requests_section(counts)
    lines += _wall_section(timed, latency)
    lines += _scale_section(points)
    lines += _concurrency_section(bursts, latency, timed)
    (out_dir / 'latest.md').write_text('\n'.join(lines))
    return rows


def add_agents(out_dir, agents, codes):
    """The end of latest.md: the Neutron agents' reports, which their own
    processes write after the rest ({module: agent}), each linked, or why
    it is missing ({module: exit code, None if not run})."""
    lines = ['', '## 5. The Neutron agents', '',
             'Each agent\'s requests per polling interval and the time from '
             'a NIC to its port ACTIVE through a real neutron-server, '
             'measured in a process of its own (Neutron never shares one '
             'with Nova):', '']
    for name, agent in agents.items():
        code = codes[name]
        lines.append(f'- {agent}: ' + (
            f'[{name}.md]({name}.md)' if code == 0 else
            'not run: neutron or openstacksdk is not installed (the test '
            'extra has them)' if code is None else
            f'failed (exit code {code}), see the output of the run'))
    with open(out_dir / 'latest.md', 'a') as f:
        f.write('\n'.join(lines) + '\n')


def add_scaleout(out_dir, code):
    """The end of latest.md: the scale-out sandbox's burst of boots, which
    its own process writes (benchmarks/scaleout.py), linked, or why it is
    missing (its exit code, None if not run)."""
    line = ('[scaleout.md](scaleout.md)' if code == 0 else
            'not run: rabbitmq-server or mariadb-server is not installed'
            if code is None else
            f'failed (exit code {code}): see [scaleout.md](scaleout.md)')
    with open(out_dir / 'latest.md', 'a') as f:
        f.write('\n## 6. The scale-out sandbox\n\n'
                'Cold start, then servers booted at once across its hosts '
                '(every service a process of its own over RabbitMQ and '
                'MariaDB): boot and delete times, per-process RSS and CPU: '
                f'{line}\n')
