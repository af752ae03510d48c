# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""[dpm] and [zvm]: value types, loading from a real file, checks in load()."""

from nova.conf import paths as nova_paths_conf
from nova.conf import zvm as nova_zvm_conf
from oslo_config import cfg
import pytest

import nova_ibmz.conf
from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.conf import dpm
from nova_ibmz.conf import types
from nova_ibmz.conf import zvm

CPC_ID = '9b9a1e32-7ed7-11ee-8a4c-0a00000000c1'
FCP_1 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000201'
FCP_2 = 'a1b1c1d1-7ed7-11ee-b35a-0a0000000202'
PASSWORD = 'pw-Hmc-4711-secret'
ADMIN_TOKEN = 'zcc-admin-token-0815'

DPM_GOOD = f"""
[dpm]
hmc = hmc.example.org
hmc_username = openstack
hmc_password = {PASSWORD}
cpc_object_id = {CPC_ID}
max_processors = 10
max_memory = 65536
"""
# ... and the one more option dpm.load() needs.
DPM_LOADABLE = DPM_GOOD + """
physical_storage_adapter_mappings = a1b1c1d1-7ed7-11ee-b35a-0a0000000201:0
"""


def new_conf():
    """A fresh ConfigOpts with our options and the [DEFAULT] paths that
    nova's image_tmp_path default ($state_path/images) refers to."""
    conf = cfg.ConfigOpts()
    nova_paths_conf.register_opts(conf)
    nova_ibmz.conf.register_opts(conf)
    return conf


def load_conf(tmp_path, text):
    """A fresh ConfigOpts reading text (any indentation) as its one file."""
    path = tmp_path / 'nova.conf'
    path.write_text(''.join(line.strip() + '\n'
                            for line in text.splitlines()))
    conf = new_conf()
    conf(args=[], project='nova', default_config_files=[str(path)])
    return conf


# Value types ---------------------------------------------------------------


@pytest.mark.parametrize('text, expected', [
    ('hmc.example.org', ('hmc.example.org', 6794)),
    ('hmc.example.org:443', ('hmc.example.org', 443)),
    ('hmc1', ('hmc1', 6794)),
    ('192.0.2.10', ('192.0.2.10', 6794)),
    ('192.0.2.10:9000', ('192.0.2.10', 9000)),
    ('fd00::1', ('fd00::1', 6794)),
    ('fd00:0:0:1::17', ('fd00:0:0:1::17', 6794)),
    ('[fd00::1]', ('fd00::1', 6794)),
    ('[fd00::1]:6795', ('fd00::1', 6795)),
    ('hmc:1', ('hmc', 1)),
    ('hmc:65535', ('hmc', 65535)),
])
def test_host_port_valid(text, expected):
    value = types.parse_host_port(text)
    assert value == types.HostPort(*expected)
    assert isinstance(value.port, int)


@pytest.mark.parametrize('text', [
    'hmc:0', 'hmc:65536', 'hmc:99999', 'hmc:abc', 'hmc:', 'hmc:-1', ':6794',
    '[fd00::1]:', '[fd00::1]:0', '[fd00::1]:70000', '[fd00::1]x',
    '[fd00::1', '[]:6794', '', 'bad_host!', '-hmc', 'hmc-', 'hmc example',
    # Two colons make an IPv6 address, so this must be one.
    'hmc.example.org:67:94', 'fd00::1::2', 'hmc:6794:',
    # A continuation line in nova.conf puts a newline inside a value.
    'hmc\n:6794',
])
def test_host_port_invalid(text):
    with pytest.raises(ValueError) as e:
        types.parse_host_port(text)
    message = str(e.value)
    assert repr(text) in message or message.startswith(f'{text}: port ')


@pytest.mark.parametrize('value, text', [
    (types.HostPort('hmc.example.org', 6794), 'hmc.example.org:6794'),
    (types.HostPort('fd00::1', 6795), '[fd00::1]:6795'),
])
def test_host_port_str(value, text):
    assert str(value) == text
    assert types.parse_host_port(text) == value


def test_object_id_is_lower_case():
    assert (types.parse_object_id(CPC_ID.upper()) == CPC_ID ==
            types.parse_object_id(CPC_ID))


@pytest.mark.parametrize('text', [
    'nope', '', CPC_ID.replace('-', ''), CPC_ID[:-1], CPC_ID + '0',
    CPC_ID.replace('9', 'g'), CPC_ID + '\n', ' ' + CPC_ID,
])
def test_object_id_invalid(text):
    with pytest.raises(ValueError) as e:
        types.parse_object_id(text)
    assert repr(text) in str(e.value)


@pytest.mark.parametrize('text, expected', [
    (f'{FCP_1}:0', (FCP_1, 0)),
    (f'{FCP_1.upper()}:1', (FCP_1, 1)),
    (f'{FCP_2}:12', (FCP_2, 12)),
])
def test_adapter_port_valid(text, expected):
    value = types.parse_adapter_port(text)
    assert value == types.AdapterPort(*expected)
    assert str(value) == f'{expected[0]}:{expected[1]}'


@pytest.mark.parametrize('text', [
    FCP_1, f'{FCP_1}:', f'{FCP_1}:x', f'{FCP_1}:-1', 'OSD-1:0', ':0',
    f'{FCP_1}\n:0',
])
def test_adapter_port_invalid(text):
    with pytest.raises(ValueError) as e:
        types.parse_adapter_port(text)
    assert 'object-id' in str(e.value)


@pytest.mark.parametrize('text', [
    '50:05:07:68:01:40:ab:cd', '500507680140abcd', '500507680140ABCD',
    '0x500507680140abcd', '0X500507680140ABCD', '0x50:05:07:68:01:40:AB:CD',
])
def test_wwpn_valid(text):
    assert types.parse_wwpn(text) == '500507680140abcd'


@pytest.mark.parametrize('text', [
    '', 'zz', '500507680140abc', '500507680140abcd0', '500507680140abcg',
    '0x500507680140abc', '0x', '5005-0768-0140-abcd',
])
def test_wwpn_invalid(text):
    with pytest.raises(ValueError) as e:
        types.parse_wwpn(text)
    assert repr(text) in str(e.value)


@pytest.mark.parametrize('text, expected', [
    ('osdflt', 'OSDFLT'), ('VSW1', 'VSW1'), ('a', 'A'),
    ('@#$_-123', '@#$_-123'),
    ('xcatvsw2', 'XCATVSW2'),
])
def test_cp_name_valid(text, expected):
    assert types.parse_cp_name(text) == expected


@pytest.mark.parametrize('text', [
    '', 'TOOLONG12', 'has space', 'dot.ted', 'vsw1\n', 'ümlaut',
])
def test_cp_name_invalid(text):
    with pytest.raises(ValueError) as e:
        types.parse_cp_name(text)
    assert repr(text) in str(e.value)


@pytest.mark.parametrize('text, expected', [
    ('ECKD:POOL1', ('ECKD', 'POOL1')),
    ('eckd:pool1', ('ECKD', 'POOL1')),
    ('FBA:fbapool', ('FBA', 'FBAPOOL')),
])
def test_disk_pool_valid(text, expected):
    value = types.parse_disk_pool(text)
    assert value == types.DiskPool(*expected)
    assert str(value) == ':'.join(expected)


@pytest.mark.parametrize('text', [
    'POOL1', 'SSD:POOL1', ':POOL1', 'ECKD', 'ECKD:', 'ECKD:POOLNAME9',
    'ECKD:POOL 1',
])
def test_disk_pool_invalid(text):
    with pytest.raises(ValueError):
        types.parse_disk_pool(text)


def test_parsed_type_strips_and_passes_parsed_values():
    assert types.HostPortType('  hmc:7000 \t') == types.HostPort('hmc', 7000)
    parsed = types.DiskPool('FBA', 'P1')
    assert types.DiskPoolType(parsed) is parsed
    assert types.WWPNType != types.CPNameType
    assert types.WWPNType == types.Parsed('WWPN value', types.parse_wwpn)


# Through oslo.config, from a file ------------------------------------------


def test_good_file_gives_value_objects(tmp_path):
    conf = load_conf(tmp_path, f"""
        [dpm]
        hmc = [fd00::1]:6795
        cpc_object_id = {CPC_ID.upper()}
        physical_storage_adapter_mappings = {FCP_1.upper()}:0
        physical_storage_adapter_mappings = {FCP_2}:1
        target_wwpn_ignore_list = 50:05:07:68:01:40:ab:cd, 0xC05076FFE5005611
        [zvm]
        disk_pool = fba:pool2
        user_profile = osdflt
        vswitch = vsw1
        """)
    assert conf.dpm.hmc == types.HostPort('fd00::1', 6795)
    assert conf.dpm.cpc_object_id == CPC_ID
    assert conf.dpm.physical_storage_adapter_mappings == [
        types.AdapterPort(FCP_1, 0), types.AdapterPort(FCP_2, 1)]
    assert conf.dpm.target_wwpn_ignore_list == ['500507680140abcd',
                                                'c05076ffe5005611']
    assert conf.zvm.disk_pool == types.DiskPool('FBA', 'POOL2')
    assert conf.zvm.user_profile == 'OSDFLT'
    assert conf.zvm.vswitch == 'VSW1'


@pytest.mark.parametrize('group, option, value', [
    ('dpm', 'hmc', 'hmc.example.org:99999'),
    ('dpm', 'hmc', 'hmc.example.org:67:94'),
    ('dpm', 'cpc_object_id', 'CPC1'),
    ('dpm', 'physical_storage_adapter_mappings', f'{FCP_1}-0'),
    ('dpm', 'target_wwpn_ignore_list', '500507680140abcz'),
    ('zvm', 'disk_pool', 'SSD:POOL1'),
    ('zvm', 'user_profile', 'PROFILE123'),
    ('zvm', 'vswitch', 'V.SW'),
])
def test_bad_value_in_file_names_option_and_value(tmp_path, group, option,
                                                  value):
    conf = load_conf(tmp_path, f'[{group}]\n{option} = {value}\n')
    with pytest.raises(cfg.ConfigFileValueError) as e:
        conf[group][option]
    assert option in str(e.value)
    assert value in str(e.value)


@pytest.mark.parametrize('option, lines', [
    ('hmc', ['hmc = hmc.example.org', '  :6794']),
    ('physical_storage_adapter_mappings',
     [f'physical_storage_adapter_mappings = {FCP_1}', '  :0']),
])
def test_continuation_line_does_not_sneak_into_a_value(tmp_path, option,
                                                       lines):
    """An indented next line continues the value, with a newline in it."""
    path = tmp_path / 'nova.conf'
    path.write_text('\n'.join(['[dpm]'] + lines) + '\n')
    conf = new_conf()
    conf(args=[], default_config_files=[str(path)])
    with pytest.raises(cfg.ConfigFileValueError) as e:
        conf.dpm[option]
    assert option in str(e.value)
    assert '\\n' in str(e.value)  # the value, as repr() shows it


def test_bad_value_fails_load_with_option_name(tmp_path):
    conf = load_conf(tmp_path, DPM_GOOD + 'cpc_object_id = CPC1\n')
    with pytest.raises(cfg.ConfigFileValueError) as e:
        dpm.load(conf)
    assert 'cpc_object_id' in str(e.value)
    assert "'CPC1'" in str(e.value)


# dpm.load ------------------------------------------------------------------


def test_dpm_load_good(tmp_path):
    config = dpm.load(load_conf(tmp_path, DPM_GOOD + f"""
        physical_storage_adapter_mappings = {FCP_1}:0
        physical_storage_adapter_mappings = {FCP_2}:0
        target_wwpn_ignore_list = 500507680140abcd, 500507680140ABCD
        """))
    assert config == dpm.DPMConfig(
        hmc=types.HostPort('hmc.example.org', 6794),
        hmc_username='openstack', hmc_password=PASSWORD,
        cpc_object_id=CPC_ID, max_processors=10, max_memory=65536,
        hmc_ca_file=None, hmc_verify_cert=True,
        physical_storage_adapter_mappings=(types.AdapterPort(FCP_1, 0),
                                           types.AdapterPort(FCP_2, 0)),
        target_wwpn_ignore_list=frozenset(['500507680140abcd']))


def test_dpm_load_names_every_missing_option(tmp_path):
    with pytest.raises(ConfigurationError) as e:
        dpm.load(load_conf(tmp_path, '[dpm]\n'))
    message = str(e.value)
    assert message.startswith('[dpm] ')
    for name in ('hmc', 'hmc_username', 'hmc_password', 'cpc_object_id',
                 'max_processors', 'max_memory'):
        assert name in message


def test_dpm_load_names_only_the_missing_options(tmp_path):
    with pytest.raises(ConfigurationError) as e:
        dpm.load(load_conf(tmp_path, """
            [dpm]
            hmc = hmc.example.org
            hmc_username = openstack
            hmc_password =
            max_memory = 4096
            """))
    assert str(e.value) == (
        '[dpm] hmc_password, cpc_object_id, max_processors: required for '
        'compute_driver = ibmz.DPMDriver but not set')


@pytest.mark.parametrize('value', ['256', '511', '0'])
def test_dpm_max_memory_below_512_is_rejected(tmp_path, value):
    conf = load_conf(tmp_path, DPM_GOOD + f'max_memory = {value}\n')
    with pytest.raises(cfg.ConfigFileValueError) as e:
        dpm.load(conf)
    assert 'max_memory' in str(e.value)
    assert '512' in str(e.value)


def test_dpm_max_memory_512_is_accepted(tmp_path):
    conf = load_conf(tmp_path, DPM_LOADABLE + 'max_memory = 512\n')
    assert dpm.load(conf).max_memory == 512


def test_dpm_max_processors_0_is_rejected(tmp_path):
    conf = load_conf(tmp_path, DPM_GOOD + 'max_processors = 0\n')
    with pytest.raises(cfg.ConfigFileValueError) as e:
        dpm.load(conf)
    assert 'max_processors' in str(e.value)


@pytest.mark.parametrize('make_path', [
    lambda tmp_path: tmp_path / 'no-such-ca.pem',
    lambda tmp_path: tmp_path,  # a directory
])
def test_dpm_ca_file_must_be_a_file(tmp_path, make_path):
    path = make_path(tmp_path)
    conf = load_conf(tmp_path, DPM_GOOD + f'hmc_ca_file = {path}\n')
    with pytest.raises(ConfigurationError) as e:
        dpm.load(conf)
    assert str(e.value) == f'[dpm] hmc_ca_file: {str(path)!r} is not a file'


def test_dpm_ca_file_with_verify_off_is_rejected(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('-----BEGIN CERTIFICATE-----\n')
    conf = load_conf(tmp_path, DPM_GOOD + f"""
        hmc_ca_file = {ca}
        hmc_verify_cert = false
        """)
    with pytest.raises(ConfigurationError) as e:
        dpm.load(conf)
    assert 'hmc_ca_file' in str(e.value)
    assert 'hmc_verify_cert' in str(e.value)


def test_dpm_duplicate_adapter_mapping_is_rejected(tmp_path):
    # The same adapter port twice, once in upper case.
    conf = load_conf(tmp_path, DPM_GOOD + f"""
        physical_storage_adapter_mappings = {FCP_1}:0
        physical_storage_adapter_mappings = {FCP_2}:0
        physical_storage_adapter_mappings = {FCP_1.upper()}:0
        """)
    with pytest.raises(ConfigurationError) as e:
        dpm.load(conf)
    assert str(e.value) == (f"[dpm] physical_storage_adapter_mappings: "
                            f"'{FCP_1}:0' is given more than once")


def test_dpm_same_adapter_other_port_is_no_duplicate(tmp_path):
    conf = load_conf(tmp_path, DPM_GOOD + f"""
        physical_storage_adapter_mappings = {FCP_1}:0
        physical_storage_adapter_mappings = {FCP_1}:1
        """)
    assert dpm.load(conf).physical_storage_adapter_mappings == (
        types.AdapterPort(FCP_1, 0), types.AdapterPort(FCP_1, 1))


def test_dpm_verify(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('-----BEGIN CERTIFICATE-----\n')
    default = dpm.load(load_conf(tmp_path, DPM_LOADABLE))
    with_ca = dpm.load(load_conf(tmp_path,
                                 DPM_LOADABLE + f'hmc_ca_file = {ca}'))
    unverified = dpm.load(load_conf(tmp_path,
                                    DPM_LOADABLE + 'hmc_verify_cert = false'))
    assert default.verify is True
    assert with_ca.verify == str(ca)
    assert unverified.verify is False


def test_dpm_config_repr_hides_password(tmp_path):
    config = dpm.load(load_conf(tmp_path, DPM_LOADABLE))
    assert config.hmc_password == PASSWORD
    assert PASSWORD not in repr(config)
    assert PASSWORD not in str(config)
    assert 'openstack' in repr(config)  # the repr is not just empty


def test_hmc_password_is_secret():
    opts = {opt.name: opt for opt in dpm.OPTS}
    assert opts['hmc_password'].secret is True
    assert [name for name, opt in opts.items() if opt.secret] == [
        'hmc_password']


def test_secret_password_is_masked_in_conf_log(tmp_path):
    conf = load_conf(tmp_path, DPM_GOOD)
    lines = []

    class Log:
        def log(self, level, fmt, *args):
            lines.append(fmt % args if args else fmt)

    conf.log_opt_values(Log(), 20)
    text = '\n'.join(lines)
    assert 'dpm.hmc_password' in text
    assert PASSWORD not in text


# zvm.load ------------------------------------------------------------------

ZVM_GOOD = """
[zvm]
cloud_connector_url = https://zcc.example.org:8080/
disk_pool = ECKD:POOL1
"""


def test_zvm_load_good(tmp_path):
    config = zvm.load(load_conf(tmp_path, ZVM_GOOD + """
        user_profile = osdflt
        vswitch = vsw1
        connector_timeout = 60
        connector_retries = 0
        image_tmp_path = /var/lib/nova/zvm-images
        reachable_timeout = 120
        """))
    assert config == zvm.ZVMConfig(
        cloud_connector_url='https://zcc.example.org:8080/',
        disk_pool=types.DiskPool('ECKD', 'POOL1'), ca_file=None,
        admin_token=None, user_profile='OSDFLT', vswitch='VSW1',
        connector_timeout=60, connector_retries=0,
        image_tmp_path='/var/lib/nova/zvm-images')
    assert config.verify is True


def test_zvm_load_names_every_missing_option(tmp_path):
    with pytest.raises(ConfigurationError) as e:
        zvm.load(load_conf(tmp_path, '[zvm]\nvswitch = VSW1\n'))
    assert str(e.value) == (
        '[zvm] cloud_connector_url, disk_pool: required for compute_driver '
        '= ibmz.ZVMDriver but not set')


@pytest.mark.parametrize('url', ['ftp://zcc.example.org/',
                                 'ws://zcc.example.org:8080/'])
def test_zvm_url_must_be_http(tmp_path, url):
    conf = load_conf(tmp_path, f"""
        [zvm]
        cloud_connector_url = {url}
        disk_pool = ECKD:POOL1
        """)
    with pytest.raises(ConfigurationError) as e:
        zvm.load(conf)
    assert 'cloud_connector_url' in str(e.value)
    assert url in str(e.value)


@pytest.mark.parametrize('url, warned', [
    ('http://zcc.example.org:8080', True),
    ('http://10.0.0.8', True),
    ('http://[fd00::8]:8080/', True),
    ('https://zcc.example.org', False),
    ('http://127.0.0.1:8080', False),
    ('http://127.1.2.3', False),
    ('http://[::1]:8080', False),
    ('http://localhost:8080', False),
])
def test_zvm_plain_http_to_another_machine_is_warned_of(
        tmp_path, caplog, url, warned):
    conf = load_conf(tmp_path, f"""
        [zvm]
        cloud_connector_url = {url}
        disk_pool = ECKD:POOL1
        """)
    with caplog.at_level('WARNING', logger='nova_ibmz.conf.zvm'):
        zvm.load(conf)
    warnings = [r.getMessage() for r in caplog.records
                if r.name == 'nova_ibmz.conf.zvm']
    if warned:
        [message] = warnings
        assert message.startswith(f'[zvm] cloud_connector_url: {url} is '
                                  f'plain http to another machine')
    else:
        assert warnings == []


def test_zvm_ca_file(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('-----BEGIN CERTIFICATE-----\n')
    config = zvm.load(load_conf(tmp_path, ZVM_GOOD + f'ca_file = {ca}\n'))
    assert config.verify == str(ca)
    missing = tmp_path / 'missing.pem'
    conf = load_conf(tmp_path, ZVM_GOOD + f'ca_file = {missing}\n')
    with pytest.raises(ConfigurationError) as e:
        zvm.load(conf)
    assert str(e.value) == f'[zvm] ca_file: {str(missing)!r} is not a file'


@pytest.mark.parametrize('make_path, reason', [
    (lambda tmp_path: tmp_path / 'no-such-token', 'cannot read'),
    (lambda tmp_path: tmp_path, 'cannot read'),  # a directory
])
def test_zvm_admin_token_file_unreadable(tmp_path, make_path, reason):
    path = make_path(tmp_path)
    conf = load_conf(tmp_path, ZVM_GOOD + f'admin_token_file = {path}\n')
    with pytest.raises(ConfigurationError) as e:
        zvm.load(conf)
    assert str(e.value).startswith(
        f'[zvm] admin_token_file: {reason} {str(path)!r}: ')


@pytest.mark.parametrize('content', ['', '\n', '  \n\t\n'])
def test_zvm_admin_token_file_empty(tmp_path, content):
    token_file = tmp_path / 'token'
    token_file.write_text(content)
    conf = load_conf(tmp_path, ZVM_GOOD + f'admin_token_file = {token_file}')
    with pytest.raises(ConfigurationError) as e:
        zvm.load(conf)
    assert str(e.value) == (f'[zvm] admin_token_file: {str(token_file)!r} '
                            f'is empty')


def test_zvm_admin_token_read_and_stripped(tmp_path):
    token_file = tmp_path / 'token'
    token_file.write_text(f'  {ADMIN_TOKEN}\n\n')
    config = zvm.load(load_conf(
        tmp_path, ZVM_GOOD + f'admin_token_file = {token_file}\n'))
    assert config.admin_token == ADMIN_TOKEN
    assert ADMIN_TOKEN not in repr(config)
    assert ADMIN_TOKEN not in str(config)
    assert 'zcc.example.org' in repr(config)


# Registration and the sample generator's view ------------------------------


def test_list_opts_groups():
    groups = nova_ibmz.conf.list_opts()
    assert [group.name for group, _ in groups] == ['dpm', 'zvm']
    dpm_names = [opt.name for opt in groups[0][1]]
    assert dpm_names == ['hmc', 'hmc_username', 'hmc_password',
                         'hmc_ca_file', 'hmc_verify_cert', 'cpc_object_id',
                         'max_processors', 'max_memory',
                         'physical_storage_adapter_mappings',
                         'status_cache_seconds', 'job_timeout',
                         'orphan_action', 'target_wwpn_ignore_list',
                         'hmc_retries']


def test_list_opts_zvm_has_nova_options_and_ours_once():
    [zvm_opts] = [opts for group, opts in nova_ibmz.conf.list_opts()
                  if group.name == 'zvm']
    names = [opt.name for opt in zvm_opts]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted([
        # nova's in-tree [zvm] options
        'cloud_connector_url', 'ca_file', 'image_tmp_path',
        'reachable_timeout',
        # ours
        'disk_pool', 'user_profile', 'vswitch', 'admin_token_file',
        'connector_timeout', 'connector_retries'])
    # nova's own option objects, so an in-tree section keeps its meaning.
    for nova_opt in nova_zvm_conf.zvm_opts:
        assert any(opt is nova_opt for opt in zvm_opts)


def test_register_after_nova_zvm_opts(tmp_path):
    """nova.conf registers [zvm] first; ours must add to it, not clash."""
    conf = cfg.ConfigOpts()
    nova_paths_conf.register_opts(conf)
    nova_zvm_conf.register_opts(conf)
    nova_ibmz.conf.register_opts(conf)
    nova_ibmz.conf.register_opts(conf)  # twice is harmless
    path = tmp_path / 'nova.conf'
    path.write_text(ZVM_GOOD)
    conf(args=[], default_config_files=[str(path)])
    assert zvm.load(conf).disk_pool == types.DiskPool('ECKD', 'POOL1')


def test_nova_conf_has_our_groups():
    conf = nova_ibmz.conf.CONF
    assert conf.dpm.hmc_verify_cert is True
    assert conf.zvm.connector_timeout == 300
    assert conf.zvm.reachable_timeout == 300


def test_dpm_storage_adapter_mappings_are_required(tmp_path):
    with pytest.raises(ConfigurationError) as e:
        dpm.load(load_conf(tmp_path, DPM_GOOD))
    assert str(e.value).startswith(
        '[dpm] physical_storage_adapter_mappings: required')
