# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The nova shim loads our drivers, and never shadows nova, in every mode.

Each install mode gets its own venv whose site-packages is a hard-linked
copy of the test venv's (nova and all, in well under a second) without our
own package; the project is then installed into it from a copy of the
source tree.  A probe script, run in that venv from a neutral directory,
loads both drivers through nova's own load_compute_driver.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SITE = pathlib.Path(sysconfig.get_paths()['purelib'])

PROBE = '''
import json, sys
from nova import monkey_patch
monkey_patch.patch()
import nova, nova.conf, nova.virt.zvm
from nova.virt import driver, fake
nova.conf.CONF(['--config-file', sys.argv[1]], project='nova')
loaded = {name: driver.load_compute_driver(fake.FakeVirtAPI(), name)
          for name in ('ibmz.DPMDriver', 'ibmz.ZVMDriver')}
import nova.virt.ibmz, nova_ibmz
print(json.dumps({
    'nova': nova.__file__,
    'nova.virt.zvm': nova.virt.zvm.__file__,
    'shim': nova.virt.ibmz.__file__,
    'nova_ibmz': nova_ibmz.__file__,
    'drivers': {name: [type(d).__module__, type(d).__name__,
                       isinstance(d, driver.ComputeDriver)]
                for name, d in loaded.items()},
}))
'''

NOVA_CONF = '''
[DEFAULT]
host = shim-test
[dpm]
hmc = hmc.example.org
hmc_username = openstack
hmc_password = secret
cpc_object_id = 9b9a1e32-7ed7-11ee-8a4c-0a00000000c1
max_processors = 4
max_memory = 8192
physical_storage_adapter_mappings = a1b1c1d1-7ed7-11ee-b35a-0a0000000201:0
[zvm]
cloud_connector_url = http://zcc.example.org:8080
disk_pool = ECKD:POOL1
'''

EXPECTED_DRIVERS = {
    'ibmz.DPMDriver': ['nova_ibmz.dpm.driver', 'DPMDriver', True],
    'ibmz.ZVMDriver': ['nova_ibmz.zvm.driver', 'ZVMDriver', True],
}


def _env():
    env = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1')
    env.pop('PYTHONPATH', None)
    return env


def _run_probe(python, workdir, cwd):
    conf = workdir / 'nova.conf'
    conf.write_text(NOVA_CONF)
    script = workdir / 'probe.py'
    script.write_text(PROBE)
    out = subprocess.run([str(python), str(script), str(conf)], cwd=cwd,
                         env=_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _is_ours(name):
    return (name.startswith(('nova_ibmz', '__editable__.nova_ibmz',
                             '__editable___nova_ibmz')))


def _venv_with_nova(tmp_path):
    """A venv holding everything the test venv has except nova-ibmz."""
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)],
                   check=True)
    site = venv / 'lib' / f'python{sys.version_info.major}.' \
        f'{sys.version_info.minor}' / 'site-packages'
    shutil.rmtree(site)
    # Hard links: files are shared, directories are not, so what pip adds
    # or removes in the copy never touches the test venv.
    subprocess.run(['cp', '-al', str(SITE), str(site)], check=True)
    for entry in site.iterdir():
        if _is_ours(entry.name):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.rmtree(site / 'nova' / 'virt' / 'ibmz', ignore_errors=True)
    return venv / 'bin' / 'python', site


def _source_copy(tmp_path):
    src = tmp_path / 'src'
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'build', '*.egg-info', '__pycache__'))
    return src


@pytest.mark.parametrize('editable', [False, True],
                         ids=['regular', 'editable'])
def test_installed_shim_loads_drivers(tmp_path, editable):
    python, site = _venv_with_nova(tmp_path)
    src = _source_copy(tmp_path)
    cmd = [str(python), '-m', 'pip', 'install', '-q', '--no-deps',
           '--no-index', '--no-build-isolation']
    cmd += ['-e', str(src)] if editable else [str(src)]
    subprocess.run(cmd, check=True, env=_env(), capture_output=True,
                   cwd=tmp_path, timeout=300)
    found = _run_probe(python, tmp_path, cwd=tmp_path)

    assert found['drivers'] == EXPECTED_DRIVERS
    # nova is the real one, with its in-tree z/VM driver.
    assert found['nova'] == str(site / 'nova' / '__init__.py')
    assert found['nova.virt.zvm'] == str(
        site / 'nova' / 'virt' / 'zvm' / '__init__.py')
    home = src if editable else site
    assert found['shim'] == str(home / 'nova' / 'virt' / 'ibmz' /
                                '__init__.py')
    assert found['nova_ibmz'] == str(home / 'nova_ibmz' / '__init__.py')
    if not editable:
        # A regular install adds only our shim to nova's tree.
        assert not (site / 'nova' / 'virt' / 'ibmz' / 'dpm').exists()
        record = next(site.glob('nova_ibmz-*.dist-info')) / 'RECORD'
        nova_files = [line.split(',')[0] for line in
                      record.read_text().splitlines()
                      if line.startswith('nova/')]
        assert nova_files and all(
            f.startswith('nova/virt/ibmz/') for f in nova_files), nova_files


def test_source_checkout_on_sys_path_does_not_shadow_nova(tmp_path):
    # python run from the repository root has the checkout first on
    # sys.path, as a developer's shell does.
    found = _run_probe(sys.executable, tmp_path, cwd=REPO)
    assert found['nova'] == str(SITE / 'nova' / '__init__.py')
    assert found['nova.virt.zvm'] == str(
        SITE / 'nova' / 'virt' / 'zvm' / '__init__.py')
    assert found['drivers'] == EXPECTED_DRIVERS
    assert found['nova_ibmz'] == str(REPO / 'nova_ibmz' / '__init__.py')
