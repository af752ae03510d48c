# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The DPM guest image tools (guest_tools/dpm), run with bash on this
machine: each test builds a fake /proc and /sys, points the tools at them
and at stand-in commands that record how they were called, and checks
what the tools wrote and ran.  The NIC entries come from the vectors the
driver's tests share (tests/vectors/dpm_nic_entries.json)."""

import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[2]
TOOLS = ROOT / 'guest_tools' / 'dpm'
LIBRARY = TOOLS / 'usr' / 'lib' / 'dpm-guest-tools' / 'common.sh'
AUTOCONFIGURE = TOOLS / 'usr' / 'bin' / 'autoconfigure_networking.sh'
SETMAC = TOOLS / 'usr' / 'bin' / 'setmac.sh'
INSTALL = TOOLS / 'install.sh'
SCRIPTS = [LIBRARY, AUTOCONFIGURE, SETMAC, INSTALL]
VECTORS = json.loads((ROOT / 'tests' / 'vectors' /
                      'dpm_nic_entries.json').read_text())
SHELLCHECK = pathlib.Path(sys.executable).parent / 'shellcheck'


def written_as_read():
    """The driver's vectors, as the guest reads them: the text among other
    kernel parameters, and the NICs it must yield."""
    return [{'name': f'written: {v["name"]}',
             'cmdline': f'root=/dev/sda1 {v["text"]} quiet',
             'nics': [[f'0.0.{n["devno"]}', str(n['port']), n['mac']]
                      for n in v['nics']],
             'skipped': 0} for v in VECTORS['written']]


READ_VECTORS = written_as_read() + VECTORS['read']


class Guest:
    """A fake guest: /proc, /sys, and stand-ins for chzdev, ip and logger
    that append their arguments, a line per call, to calls/<name>."""

    def __init__(self, root, cmdline=''):
        self.root = root
        self.proc = root / 'proc'
        self.sys = root / 'sys'
        self.bin = root / 'bin'
        self.calls = root / 'calls'
        for directory in (self.proc, self.sys, self.bin, self.calls):
            directory.mkdir(parents=True)
        self.cmdline(cmdline)
        self.env = dict(os.environ, DPM_TOOLS_PROC=str(self.proc),
                        DPM_TOOLS_SYS=str(self.sys),
                        DPM_TOOLS_CHZDEV='',
                        DPM_TOOLS_IP=self.command('ip'),
                        DPM_TOOLS_LOGGER=self.command('logger'))

    def cmdline(self, text):
        (self.proc / 'cmdline').write_text(text + '\n')

    def command(self, name, exit_code=0):
        """A stand-in command; returns its path."""
        path = self.bin / name
        path.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" >> '
                        f'"{self.calls / name}"\nexit {exit_code}\n')
        path.chmod(0o755)
        return str(path)

    def called(self, name):
        path = self.calls / name
        return path.read_text().splitlines() if path.exists() else []

    def ccw_devices(self, first_devno):
        """The three subchannels of a NIC (read, write, data)."""
        for offset in range(3):
            (self.sys / 'bus' / 'ccw' / 'devices' /
             f'0.0.{first_devno + offset:04x}').mkdir(parents=True)

    def qeth_device(self, bus_id, online=False):
        """A grouped qeth device, its attributes as the kernel shows
        them."""
        device = self.sys / 'bus' / 'ccwgroup' / 'drivers' / 'qeth' / bus_id
        device.mkdir(parents=True)
        for name, value in (('online', int(online)), ('layer2', 0),
                            ('portno', 0)):
            (device / name).write_text(f'{value}\n')
        return device

    def interface(self, name, bus_id, mac):
        """A network interface of a grouped qeth device."""
        group = self.sys / 'bus' / 'ccwgroup' / 'devices' / bus_id
        (group / 'net' / name).mkdir(parents=True)
        net = self.sys / 'class' / 'net' / name
        net.mkdir(parents=True)
        (net / 'address').write_text(f'{mac}\n')
        (net / 'device').symlink_to(group)

    def run(self, *command):
        return subprocess.run(['bash', *map(str, command)], env=self.env,
                              cwd=self.root, capture_output=True, text=True,
                              timeout=30)


@pytest.fixture
def guest(tmp_path):
    return Guest(tmp_path)


# -- reading the kernel command line ---------------------------------------

@pytest.mark.parametrize('vector', READ_VECTORS,
                         ids=[v['name'] for v in READ_VECTORS])
def test_the_tools_read_the_shared_vectors(guest, vector):
    guest.cmdline(vector['cmdline'])
    done = guest.run('-c', 'source "$1" && dpm_nics', 'test', LIBRARY)
    assert done.returncode == 0, done.stderr
    assert [line.split() for line in done.stdout.splitlines()] == \
        vector['nics']
    skipped = [line for line in done.stderr.splitlines()
               if 'skipped malformed entry' in line]
    assert len(skipped) == vector['skipped'], done.stderr
    # Each skipped entry is logged to syslog too.
    assert len([c for c in guest.called('logger')
                if 'skipped malformed entry' in c]) == vector['skipped']
    # Shell syntax in an entry is never run.
    assert not (guest.root / 'pwned').exists()


# -- autoconfigure_networking.sh -------------------------------------------

def test_autoconfigure_puts_listed_nics_online_in_layer_2(guest):
    guest.cmdline('root=/dev/sda1 1000,1,fa163e000001;1004,0; quiet')
    guest.ccw_devices(0x1000)
    guest.ccw_devices(0x1004)
    first = guest.qeth_device('0.0.1000')
    second = guest.qeth_device('0.0.1004')
    done = guest.run(AUTOCONFIGURE)
    assert done.returncode == 0, done.stderr
    for device, port in ((first, '1'), (second, '0')):
        assert [(device / name).read_text() for name in
                ('layer2', 'portno', 'online')] == ['1\n', f'{port}\n', '1\n']
    assert 'online in layer 2 on port 1' in done.stderr


def test_autoconfigure_groups_a_nic_the_kernel_has_not_grouped(guest):
    guest.cmdline('1010,0,fa163e000001;')
    guest.ccw_devices(0x1010)
    qeth = guest.sys / 'bus' / 'ccwgroup' / 'drivers' / 'qeth'
    qeth.mkdir(parents=True)
    done = guest.run(AUTOCONFIGURE)
    assert (qeth / 'group').read_text() == '0.0.1010,0.0.1011,0.0.1012\n'
    # The fake kernel makes no device of it: a failure, reported.
    assert done.returncode == 1
    assert '0.0.1010: the qeth group did not appear' in done.stderr


def test_autoconfigure_leaves_online_nics_and_reports_missing_ones(guest):
    guest.cmdline('1000,1,fa163e000001;1008,0,fa163e000002;')
    guest.ccw_devices(0x1000)
    online = guest.qeth_device('0.0.1000', online=True)
    done = guest.run(AUTOCONFIGURE)
    assert done.returncode == 1
    assert (online / 'portno').read_text() == '0\n'     # untouched
    assert '0.0.1000: online already' in done.stderr
    assert '0.0.1008: no such device' in done.stderr
    assert '0.0.1008: could not be brought online' in done.stderr


def test_autoconfigure_uses_chzdev_when_there_is_one(guest):
    guest.cmdline(VECTORS['written'][1]['text'])
    guest.env['DPM_TOOLS_CHZDEV'] = guest.command('chzdev')
    done = guest.run(AUTOCONFIGURE)
    assert done.returncode == 0, done.stderr
    assert guest.called('chzdev') == [
        '--enable --active qeth 0.0.1000:0.0.1001:0.0.1002 layer2=1 '
        'portno=0',
        '--enable --active qeth 0.0.1004:0.0.1005:0.0.1006 layer2=1 '
        'portno=1']


def test_autoconfigure_reports_a_failed_chzdev(guest):
    guest.cmdline('1000,0,fa163e000001;')
    guest.env['DPM_TOOLS_CHZDEV'] = guest.command('chzdev', exit_code=3)
    done = guest.run(AUTOCONFIGURE)
    assert done.returncode == 1
    assert '0.0.1000: could not be brought online' in done.stderr


def test_autoconfigure_with_nothing_listed_does_nothing(guest):
    guest.cmdline('root=/dev/sda1 console=ttyS0,115200')
    guest.env['DPM_TOOLS_CHZDEV'] = guest.command('chzdev')
    assert guest.run(AUTOCONFIGURE).returncode == 0
    assert guest.called('chzdev') == []


# -- setmac.sh -------------------------------------------------------------

@pytest.mark.parametrize('argument', ['eth1', '0.0.1004', '0.0.1004'.upper()])
def test_setmac_sets_the_listed_mac(guest, argument):
    guest.cmdline('1000,0,fa163e000001;1004,1,FA163E000002; quiet')
    guest.interface('eth1', '0.0.1004', '02:00:00:00:00:07')
    done = guest.run(SETMAC, argument)
    assert done.returncode == 0, done.stderr
    assert guest.called('ip') == [
        'link set dev eth1 address fa:16:3e:00:00:02']


@pytest.mark.parametrize('cmdline, why', [
    ('1004,1;', 'no MAC given'),
    ('1000,0,fa163e000001;', 'not on the kernel command line'),
    ('1004,1,0200000000aa;', None)])        # it has that MAC already
def test_setmac_leaves_the_mac_as_it_is(guest, cmdline, why):
    guest.cmdline(cmdline)
    guest.interface('eth1', '0.0.1004', '02:00:00:00:00:aa')
    done = guest.run(SETMAC, 'eth1')
    assert done.returncode == 0, done.stderr
    assert guest.called('ip') == []
    if why:
        assert why in done.stderr


@pytest.mark.parametrize('argument', [
    '', 'eth1;reboot', '$(touch pwned)', '../../etc', 'a' * 16])
def test_setmac_refuses_a_bad_argument(guest, argument):
    guest.cmdline('1004,1,fa163e000002;')
    done = guest.run(SETMAC, argument)
    assert done.returncode == 2
    assert 'usage: setmac.sh' in done.stderr
    assert guest.called('ip') == []
    assert not (guest.root / 'pwned').exists()


def test_setmac_reports_an_unknown_interface_and_a_failed_ip(guest):
    guest.cmdline('1004,1,fa163e000002;')
    done = guest.run(SETMAC, 'eth9')
    assert (done.returncode, guest.called('ip')) == (1, [])
    assert 'eth9: no such interface' in done.stderr
    guest.interface('eth1', '0.0.1004', '02:00:00:00:00:07')
    guest.env['DPM_TOOLS_IP'] = guest.command('ip', exit_code=2)
    done = guest.run(SETMAC, 'eth1')
    assert done.returncode == 1
    assert 'could not set MAC fa:16:3e:00:00:02' in done.stderr


# -- installing, and what the image runs -----------------------------------

INSTALLED = {
    'usr/bin/autoconfigure_networking.sh': 0o755,
    'usr/bin/setmac.sh': 0o755,
    'usr/lib/dpm-guest-tools/common.sh': 0o644,
    'usr/lib/systemd/system/autoconfigure_networking.service': 0o644,
    'etc/udev/rules.d/80-setmac.rules': 0o644,
}


def test_install_places_the_tools_in_an_image_tree(guest):
    image = guest.root / 'image'
    image.mkdir()
    done = guest.run(INSTALL, '--root', image)
    assert done.returncode == 0, done.stderr
    for path, mode in INSTALLED.items():
        assert stat.S_IMODE((image / path).stat().st_mode) == mode, path
        assert (image / path).read_bytes() == (TOOLS / path).read_bytes()
    enabled = (image / 'etc' / 'systemd' / 'system' /
               'multi-user.target.wants' / 'autoconfigure_networking.service')
    assert os.readlink(enabled) == \
        '/usr/lib/systemd/system/autoconfigure_networking.service'
    # The installed scripts find their library where install put it.
    guest.cmdline('1000,0,fa163e000001;')
    guest.env['DPM_TOOLS_CHZDEV'] = guest.command('chzdev')
    assert guest.run(image / 'usr' / 'bin' /
                     'autoconfigure_networking.sh').returncode == 0
    assert len(guest.called('chzdev')) == 1


@pytest.mark.parametrize('arguments', [(), ('--root',), ('--root', 'nowhere'),
                                       ('--prefix', '/')])
def test_install_refuses_a_bad_root(guest, arguments):
    done = guest.run(INSTALL, *arguments)
    assert done.returncode == 2
    assert not (guest.root / 'nowhere').exists()


def test_the_unit_and_the_rule_run_the_installed_scripts():
    unit = (TOOLS / 'usr/lib/systemd/system/'
            'autoconfigure_networking.service').read_text()
    assert 'ExecStart=/usr/bin/autoconfigure_networking.sh\n' in unit
    assert 'Before=cloud-init-local.service' in unit
    rule = (TOOLS / 'etc/udev/rules.d/80-setmac.rules').read_text()
    assert 'RUN+="/usr/bin/setmac.sh %k"' in rule
    assert 'DRIVERS=="qeth"' in rule


def test_shellcheck_is_clean():
    done = subprocess.run([str(SHELLCHECK), '--external-sources',
                           *map(str, SCRIPTS)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout
