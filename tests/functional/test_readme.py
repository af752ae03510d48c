# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The README's sandbox section as a new user follows it: `make sandbox`
in a copy of the tree (its relative state directory `.sandbox` and all),
then each line of the README's example block, verbatim, through bash in
that directory, each result checked; and `make demo` there.

The copy holds the tree's files with their times, and `.venv` is a link to
this venv, whose stamp make finds up to date (`-o` tells make never to
rebuild it from the copy).  `SANDBOX_PORT=0`: the API on a free port,
which clouds.yaml names, so the README's lines find it.
"""

import ast
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import pytest

from nova_ibmz.hmc import naming
from nova_ibmz.sandbox import seed
from nova_ibmz.sandbox import simulators
from nova_ibmz.sim.hmc import model as hmc_model
from tests.functional import test_sandbox

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = pathlib.Path(sys.prefix)
MAKE = ('make', '-o', '.venv/.installed-stamp')
CLI = 'openstack --os-cloud ibmz-sandbox '
DPM_PROVIDER = '1957e729-0a2e-5402-9e7d-ea86696edbdd'
# The image the README's lines upload, from the seeded one's saved data
# (in the directory the lines run in).
SAVED = 'rhel-s390x.img'
UPLOADED = 'my-rhel'
DEMO_STEPS = 17


def example_block(section='The sandbox'):
    """The lines of a README section's example block: the fenced block
    that sets OS_CLIENT_CONFIG_FILE."""
    readme = (ROOT / 'README.md').read_text()
    text = readme.split(f'\n## {section}\n', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'^ *```\n(.*?)^ *```$', text, re.M | re.S)
    [block] = [b for b in blocks if 'OS_CLIENT_CONFIG_FILE' in b]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    """A copy of the working tree's files (tracked and new ones), with
    their modification times, and .venv linking to this venv."""
    copy = tmp_path_factory.mktemp('clone')
    listed = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others',
         '--exclude-standard'], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split('\0')):
        source = ROOT / name
        if source.is_file():        # not a file deleted but not yet staged
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / '.venv').symlink_to(VENV)
    return copy


def user_env(tree):
    """The environment of a user's shell in the tree: no OS_* variables
    of this run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')
           # make test runs this: the user's make is not a sub-make
           # (which would say "Entering directory" and pass its flags).
           and k not in ('MAKELEVEL', 'MAKEFLAGS', 'MFLAGS')}
    return dict(env, PWD=str(tree), PYTHONUNBUFFERED='1')


class Readme:
    """Checks of the README's lines: check(line, output) asserts the
    result of one line of the example block; a line without a check is a
    failure.  Checks may look further with the client (self.openstack)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.saved_file = state_dir.parent / SAVED
        self.hosts = {}         # server name: host, as last checked
        self.ids = {}
        self.checks = {
            f'{CLI}hypervisor list': self.hypervisors,
            f'{CLI}hypervisor show dpm-subset-1': self.dpm_hypervisor,
            f'{CLI}resource provider list': self.providers,
            f'{CLI}resource provider inventory list {DPM_PROVIDER}':
                self.dpm_inventory,
            f'{CLI}image list': self.images,
            f'{CLI}image save --file {SAVED} {seed.IMAGE_NAME}': self.saved,
            f'{CLI}image create --file {SAVED} --disk-format raw '
            f'--container-format bare --property os_distro={seed.OS_DISTRO} '
            f'--property architecture=s390x --property hypervisor_type=zvm '
            f'{UPLOADED}': self.uploaded,
            f'{CLI}image show {UPLOADED}': self.uploaded,
            f'{CLI}server create --image {seed.IMAGE_NAME} --flavor '
            f'{seed.SMALL_FLAVOR} --network {seed.FLAT.name} --wait vm1':
                self.created('vm1', ('zvm-1', 'zvm-2')),
            f'{CLI}server create --volume {seed.BOOT_VOLUME} --flavor '
            f'{seed.SMALL_FLAVOR} --network {seed.FLAT.name} --network '
            f'{seed.VLAN.name} --wait lpar1':
                self.created('lpar1', (simulators.DPM_HOST,)),
            f'{CLI}server list': self.listed,
            f'{CLI}server list --long': self.listed_long,
            f'{CLI}network agent list': self.agents,
            f'{CLI}network agent show -c agent_type -c configuration '
            f'$({CLI}network agent list --host {simulators.DPM_HOST} '
            f'-f value -c ID)': self.dpm_agent,
            f'{CLI}port show -c status -c binding_vif_type -c '
            f'binding_vif_details $({CLI}port list --server lpar1 '
            f'--network {seed.VLAN.name} -f value -c ID)': self.dpm_port,
            f'{CLI}network create --provider-network-type vlan '
            f'--provider-physical-network {seed.PHYSNET} --provider-segment '
            f'200 vlan-200': self.network_created,
            f'{CLI}subnet create --network vlan-200 --subnet-range '
            f'10.30.0.0/24 --no-dhcp vlan-200-subnet': self.subnet_created,
            f'{CLI}server create --image {seed.IMAGE_NAME} --flavor '
            f'{seed.SMALL_FLAVOR} --network vlan-200 --wait vm2':
                self.created('vm2', ('zvm-1', 'zvm-2')),
            f'{CLI}console log show vm1': self.console(
                'vm1', lambda server_id: 'vm1'),
            f'{CLI}console log show lpar1': self.console(
                'lpar1', lambda server_id: naming.partition_name(
                    simulators.DPM_HOST, server_id)),
            f'{CLI}server migrate --live-migration --wait vm1':
                self.migrated,
            f'{CLI}server show vm1 -c OS-EXT-SRV-ATTR:host': self.shown,
            f'{CLI}server delete --wait vm1 vm2 lpar1': self.deleted,
            f'{CLI}network delete vlan-200': self.network_deleted,
            f'{CLI}image delete {UPLOADED}': self.image_deleted,
        }

    def openstack(self, *args):
        return test_sandbox.openstack(self.state_dir, *args)

    def hypervisors(self, output):
        for name in ('dpm-subset-1', 'ZVMSIM1', 'ZVMSIM2'):
            assert re.search(rf'\| {name} +\| \w+ +\| [\d.]+ +\| up +\|',
                             output), output

    def dpm_hypervisor(self, output):
        assert fields(output)['hypervisor_type'] == 'prsm'
        assert fields(output)['state'] == 'up'

    def providers(self, output):
        shown = {row[1]: row[0] for row in rows(output)}
        assert sorted(shown) == ['ZVMSIM1', 'ZVMSIM2', 'dpm-subset-1']
        # The README names the DPM host's provider: it is stable.
        assert shown['dpm-subset-1'] == DPM_PROVIDER

    def dpm_inventory(self, output):
        totals = {row[0]: int(row[6]) for row in rows(output)}
        assert totals == {'VCPU': simulators.DPM_PROCESSORS,
                          'MEMORY_MB': simulators.DPM_MEMORY_MB}

    def images(self, output):
        """The seeded image, active in Glance, under its stable id."""
        assert [seed.IMAGE_ID, seed.IMAGE_NAME, 'active'] in rows(output)

    def saved(self, output):
        """The file holds the image's data: Glance's checksum of it."""
        data = self.saved_file.read_bytes()
        image = self.openstack('image', 'show', '-f', 'json',
                               seed.IMAGE_NAME)
        assert (len(data), hashlib.md5(data).hexdigest()) == (
            image['size'], image['checksum'])

    def uploaded(self, output):
        """The image made from the saved file: active, the file's data,
        the properties the z/VM driver and the scheduler read."""
        shown = fields(output)
        data = self.saved_file.read_bytes()
        assert (shown['name'], shown['status'], shown['disk_format'],
                shown['size'], shown['checksum']) == (
            UPLOADED, 'active', 'raw', str(len(data)),
            hashlib.md5(data).hexdigest()), shown
        for prop in (f"os_distro='{seed.OS_DISTRO}'",
                     "architecture='s390x'", "hypervisor_type='zvm'"):
            assert prop in shown['properties'], shown

    def image_deleted(self, output):
        assert UPLOADED not in [i['Name'] for i in self.openstack(
            'image', 'list', '-f', 'json')]

    def created(self, name, hosts):
        def check(output):
            shown = fields(output)
            assert (shown['name'], shown['status']) == (name, 'ACTIVE')
            assert shown['OS-EXT-SRV-ATTR:host'] in hosts
            self.hosts[name] = shown['OS-EXT-SRV-ATTR:host']
            self.ids[name] = shown['id']
        return check

    def listed(self, output):
        assert {(row[1], row[2]) for row in rows(output)} == {
            ('vm1', 'ACTIVE'), ('lpar1', 'ACTIVE')}

    def listed_long(self, output):
        """Each server's image by name and id, which the client asks
        Glance for."""
        shown = {row['Name']: (row['Image Name'], row['Image ID'])
                 for row in records(output)}
        assert shown == {
            'vm1': (seed.IMAGE_NAME, seed.IMAGE_ID),
            'lpar1': ('N/A (booted from volume)',) * 2}, output

    def agents(self, output):
        """Each compute host's agent, alive and up, as networking-dpm's
        and networking-zvm's were listed."""
        shown = {(row[2], row[1], row[4], row[5], row[6])
                 for row in rows(output)}
        assert shown == {
            (simulators.DPM_HOST, 'DPM agent', ':-)', 'UP',
             'neutron-ibmz-dpm-agent'),
            *((host, 'z/VM agent', ':-)', 'UP', 'neutron-ibmz-zvm-agent')
              for host in simulators.ZVM_HOSTS)}, output

    def dpm_agent(self, output):
        """The mapping of the provider network to the OSD virtual switch,
        as the agent translated it."""
        shown = fields(output)
        assert shown['agent_type'] == 'DPM agent'
        target = simulators.dpm_target(
            hmc_model.topology_path(simulators.HMC_TOPOLOGY))
        assert ast.literal_eval(shown['configuration'])[
            'adapter_mappings'] == {seed.PHYSNET: [target.osd_vswitch_id]}

    def dpm_port(self, output):
        shown = fields(output)
        assert (shown['status'], shown['binding_vif_type']) == (
            'ACTIVE', 'dpm_vswitch')
        details = shown['binding_vif_details']
        assert "bound_drivers.0='ibmz_dpm'" in details
        assert "vlan='100'" in details, shown

    def network_created(self, output):
        shown = fields(output)
        assert (shown['provider:network_type'],
                shown['provider:physical_network'],
                shown['provider:segmentation_id']) == (
            'vlan', seed.PHYSNET, '200'), shown

    def subnet_created(self, output):
        assert fields(output)['cidr'] == '10.30.0.0/24'

    def network_deleted(self, output):
        assert 'vlan-200' not in [n['Name'] for n in self.openstack(
            'network', 'list', '-f', 'json')]

    def console(self, name, system):
        """system(server id): the name the server's login prompt shows
        (the guest's host name, the partition's name)."""
        def check(output):
            assert f'{system(self.ids[name])} login:' in output, output
        return check

    def migrated(self, output):
        host = self.openstack('server', 'show', '-f', 'json',
                              'vm1')['OS-EXT-SRV-ATTR:host']
        assert {host, self.hosts['vm1']} == {'zvm-1', 'zvm-2'}
        self.hosts['vm1'] = host

    def shown(self, output):
        assert fields(output) == {'OS-EXT-SRV-ATTR:host': self.hosts['vm1']}

    def deleted(self, output):
        assert self.openstack('server', 'list', '-f', 'json') == []


def rows(table):
    """The data rows of a client's table, as lists of cells."""
    lines = [line for line in table.splitlines() if line.startswith('| ')]
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in lines[1:]]


def records(table):
    """The data rows of a client's table, as {column: cell}."""
    lines = [line for line in table.splitlines() if line.startswith('| ')]
    head, *body = [[cell.strip() for cell in line.strip('|').split('|')]
                   for line in lines]
    return [dict(zip(head, row)) for row in body]


def fields(table):
    """{field: value} of a client's Field/Value table."""
    return {row[0]: row[1] for row in rows(table)}


# make target, its state directory, the README section that sets up the
# client for it, how long it may take to start, the logs that must hold
# no traceback once the lines ran.
MODES = {
    'one-process': ('sandbox', '.sandbox', 'The sandbox', 120,
                    ('nova.log', 'glance/glance.log')),
    'scale-out': ('sandbox-scaleout', '.sandbox-scaleout',
                  'The sandbox in scale-out mode', 400,
                  ('logs/nova-compute-dpm-subset-1.log',
                   'logs/nova-compute-zvm-1.log',
                   'logs/nova-compute-zvm-2.log', 'logs/glance.log')),
}


@pytest.mark.parametrize('mode', MODES)
def test_the_readme_sandbox_lines_work_as_written(tree, mode):
    """Each line of the sandbox section's block, verbatim, in either mode
    (the scale-out section sets up the client for the same lines)."""
    target, state, section, start_seconds, logs = MODES[mode]
    lines = example_block()
    commands = [line for line in lines if line.startswith(CLI)]
    assert [line for line in lines if not line.startswith(CLI)] == [
        'export OS_CLIENT_CONFIG_FILE=$PWD/.sandbox/clouds.yaml',
        'PATH=$PWD/.venv/bin:$PATH']
    setup = [line for line in example_block(section)
             if not line.startswith(CLI)]
    assert setup == [f'export OS_CLIENT_CONFIG_FILE=$PWD/{state}/clouds.yaml',
                     'PATH=$PWD/.venv/bin:$PATH']
    readme = Readme(tree / state)
    # Every line has a check, and every check a line.
    assert set(commands) == set(readme.checks), (
        set(commands) ^ set(readme.checks))
    make = subprocess.Popen(
        [*MAKE, target, 'SANDBOX_PORT=0'], cwd=tree, env=user_env(tree),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    output = test_sandbox.Output(make.stdout)
    try:
        output.wait_for(r'^Nova API: ', start_seconds)
        for line in commands:
            done = subprocess.run(
                ['bash', '-euc', '\n'.join([*setup, line])], cwd=tree,
                env=user_env(tree), capture_output=True, text=True,
                timeout=300)
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            readme.checks[line](done.stdout)
        # Nothing the README does leaves a traceback in Nova's log (its
        # compute hosts' in scale-out mode), or in Glance's.
        for log_file in logs:
            log = (tree / state / log_file).read_text()
            assert 'Traceback' not in log, log[log.index('Traceback') - 2000:]
        # Ctrl-C in make's terminal stops the sandbox.
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=120)
        output.wait_for(r'^nova-ibmz sandbox stopped', 10)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()


def test_make_demo_passes_every_step(tree):
    demo = subprocess.run([*MAKE, 'demo'], cwd=tree, env=user_env(tree),
                          capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    assert f'demo passed: {DEMO_STEPS} steps' in demo.stdout
    assert lines[-1] == 'nova-ibmz sandbox stopped'
    rows = test_sandbox.demo_rows(lines)
    assert len(rows) == DEMO_STEPS
    assert {result for _, result, _ in rows.values()} == {'ok'}
    # Each step is served by the driver it names, and its own requests
    # go to that driver's simulator only; Nova's periodic tasks, which
    # run all along, are counted apart, on both.
    for step, (host, _, made) in rows.items():
        if 'DPM' in step:
            assert host == simulators.DPM_HOST, step
            assert made['HMC req'] > 0 and made['z/VM req'] == 0, step
        elif 'z/VM' in step:
            assert host in simulators.ZVM_HOSTS, step
            assert made['z/VM req'] > 0 and made['HMC req'] == 0, step
    for column in ('HMC periodic', 'z/VM periodic'):
        assert sum(made[column] for _, _, made in rows.values()) > 0
    before, _, _ = rows['resize to z1.medium and confirm (z/VM)']
    after, _, _ = rows['live-migrate to the other SSI member (z/VM)']
    assert before != after
    endpoints = json.loads(
        (tree / '.sandbox-demo' / 'sandbox.json').read_text())
    test_sandbox.assert_nothing_listens(test_sandbox.ports_of(endpoints))
