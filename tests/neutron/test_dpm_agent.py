# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-dpm-agent against the HMC simulator over HTTPS (real
zhmcclient sessions, dpm_hmc.py), with Neutron's RPC in memory
(fake_rpc.py): its options, its checks at start, the NICs it finds and
what it costs the HMC.  Through the real neutron-server:
test_dpm_agent_server.py."""

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import zhmcclient

from nova_ibmz.hmc import naming
from nova_ibmz.neutron.dpm import agent as dpm_agent
from nova_ibmz.neutron.dpm import manager as dpm_manager
from nova_ibmz.neutron.dpm import mappings
from nova_ibmz.neutron.dpm import options
from tests.neutron import dpm_hmc
from tests.neutron.dpm_hmc import HIPERSOCKET
from tests.neutron.dpm_hmc import HOST
from tests.neutron.dpm_hmc import OSD_1
from tests.neutron.dpm_hmc import OSD_2
from tests.neutron.dpm_hmc import VSWITCH
from tests.neutron import fake_rpc

REPO = pathlib.Path(__file__).resolve().parents[2]
MAC_1 = 'fa:16:3e:00:01:01'
MAC_2 = 'fa:16:3e:00:01:02'


@pytest.fixture
def hmc():
    return dpm_hmc.reset()


@pytest.fixture
def hypervisor(hmc):
    made = dpm_hmc.Hypervisor()
    yield made
    made.close()


@pytest.fixture
def make_config(tmp_path, hmc):
    def make(**kwargs):
        return options.load(['--config-file', str(dpm_hmc.write_config(
            tmp_path / f'agent-{uuid.uuid4()}.ini', **kwargs))])
    return make


@pytest.fixture
def plugin():
    return fake_rpc.Plugin()


@pytest.fixture
def state():
    return fake_rpc.State()


@pytest.fixture
def run_agent(plugin, state):
    """Start an agent of a config with the in-memory RPC; stopped after
    the test."""
    started = []

    def run(config, **kwargs):
        agent = dpm_agent.DPMAgent(config, first_wait=0.05, backoff=0.01,
                                   rpc={'state_rpc': state,
                                        'plugin_rpc': plugin,
                                        'context': 'ctx'}, **kwargs)
        started.append(agent)
        agent.start()
        return agent
    yield run
    for agent in started:
        agent.stop()


def wait_until(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f'never: {what}'
        time.sleep(0.05)


def polls_since(seq):
    """How many times the agent listed a virtual switch's NICs."""
    return sum(1 for e in dpm_hmc.server().log.since(seq)
               if e['path'].endswith('/get-connected-vnics'))


# -- options -------------------------------------------------------------

def test_the_options_as_the_agent_reads_them(make_config):
    config = make_config(mappings=[f'physnet1:{OSD_1}',
                                   f' physnet2 : {HIPERSOCKET.upper()} ',
                                   f'physnet3:{OSD_1}:1'],
                         hmc='[fd00::1]:6795', polling_interval=3)
    assert config.mappings == (
        options.Mapping('physnet1', OSD_1, 0),
        options.Mapping('physnet2', HIPERSOCKET, 0),
        options.Mapping('physnet3', OSD_1, 1))
    assert (config.host, config.hmc_host, config.hmc_port,
            config.polling_interval, config.report_interval) == (
        HOST, '[fd00::1]', 6795, 3, 1)
    assert config.verify == config.hmc_ca_file
    assert dpm_hmc.hmcsim.PASSWORD not in repr(config)
    assert options.parse_hmc('hmc.example.org') == (
        'hmc.example.org', 6794)


@pytest.mark.parametrize('lines, why', [
    (['physnet1'], 'not "<physical network>:<adapter object-id>[:<port>]"'),
    ([f':{OSD_1}'], 'not "<physical network>'),
    ([f'physnet1:{OSD_1}:0:1'], 'not "<physical network>'),
    (['physnet1:OSD-1'], "'OSD-1' is not an adapter object-id"),
    ([f'physnet1:{OSD_1}:2'], "port '2' is neither 0 nor 1"),
    ([f'physnet1:{OSD_1}', f'physnet1:{OSD_2}'],
     'physical network physnet1 is mapped twice'),
    ([f'physnet1:{OSD_1}', f'physnet2:{OSD_1}:0'],
     f'port 0 of adapter {OSD_1} is mapped twice'),
])
def test_a_mapping_of_the_wrong_form_is_refused(make_config, lines, why):
    with pytest.raises(options.ConfigError) as refused:
        make_config(mappings=lines)
    message = str(refused.value)
    assert message == (f'[dpm] physical_network_adapter_mappings = '
                       f'{lines[-1].strip()}: {message.split(": ", 1)[1]}')
    assert why in message
    assert '\n' not in message


@pytest.mark.parametrize('change, why', [
    ({'mappings': []}, 'no mapping given'),
    ({'hmc_password': None}, 'hmc_password'),
    ({'hmc': 'hmc.example.org:http'}, "[dpm] hmc: 'hmc.example.org:http'"),
    ({'cpc_object_id': 'CPC1'}, "[dpm] cpc_object_id: 'CPC1'"),
    ({'hmc_verify_cert': 'false'}, 'hmc_ca_file is set while'),
    ({'hmc_ca_file': '/nonexistent.pem'}, "'/nonexistent.pem' is not a"),
    # oslo.config checks a value when it is read.
    ({'hmc_retries': '99'}, 'hmc_retries'),
    ({'polling_interval': 0}, 'polling_interval'),
])
def test_a_wrong_option_is_refused(make_config, change, why):
    with pytest.raises(options.ConfigError, match='^.*$') as refused:
        make_config(**change)
    assert why in str(refused.value)


# -- the checks at start, against the HMC -------------------------------

@pytest.mark.parametrize('mapping, why', [
    (f'physnet1:{uuid.UUID(int=7)}', f'the HMC has no adapter '
                                     f'{uuid.UUID(int=7)}'),
    (f'physnet1:{dpm_hmc.FCP_1}', 'adapter FCP-1 is of type fcp; a '
                                  'mapping needs an OSA (osd) or '
                                  'HiperSockets adapter'),
    (f'physnet1:{HIPERSOCKET}:1', 'adapter HIPERSOCKET-1 has no port 1'),
    (f'physnet1:{OSD_2}:1', 'CPC CPC1 has no virtual switch for port 1 of '
                            'adapter OSD-2'),
])
def test_a_mapping_the_hmc_does_not_have_is_refused(
        make_config, run_agent, plugin, state, mapping, why):
    before = dpm_hmc.state()
    config = make_config(mappings=[f'physnet2:{OSD_1}', mapping])
    with pytest.raises(options.ConfigError) as refused:
        run_agent(config)
    assert str(refused.value) == (
        f'[dpm] physical_network_adapter_mappings = {mapping}: {why}')
    # Nothing reported, nothing changed on the HMC.
    assert (state.reports, plugin.calls) == ([], [])
    assert dpm_hmc.writes() == []
    assert dpm_hmc.state() == before


def test_an_unknown_cpc_is_refused(make_config, run_agent):
    missing = str(uuid.UUID(int=9))
    with pytest.raises(options.ConfigError,
                       match=f'^\\[dpm\\] cpc_object_id: the HMC '
                             f'127.0.0.1:\\d+ has no CPC {missing}$'):
        run_agent(make_config(cpc_object_id=missing))


def test_a_refused_logon_is_refused_once_without_the_password(
        make_config, run_agent, caplog):
    with pytest.raises(options.ConfigError) as refused:
        run_agent(make_config(hmc_password='wrong-password'))
    assert 'the logon of' in str(refused.value)
    assert 'check [dpm] hmc_username and hmc_password' in str(refused.value)
    logons = [e for e in dpm_hmc.server().log.since()
              if e['path'] == '/api/sessions']
    assert [e['status'] for e in logons] == [403]
    assert 'wrong-password' not in str(refused.value) + caplog.text


def test_an_hmc_down_at_start_is_waited_for(make_config, run_agent, state,
                                            caplog):
    controls = dpm_hmc.controls()
    controls.call('POST', '/unavailable', {'seconds': 3600})
    started = threading.Event()
    agent_holder = []

    def start():
        agent_holder.append(run_agent(make_config()))
        started.set()
    thread = threading.Thread(target=start)
    thread.start()
    try:
        wait_until(lambda: sum(e['status'] == 0 for e in
                               dpm_hmc.server().log.since()) >= 3,
                   'three tries against the silent HMC')
        assert not started.is_set()
        assert caplog.text.count('checking the mappings against the HMC '
                                 'failed') >= 2
        controls.call('DELETE', '/faults')
        thread.join(60)
        assert started.is_set()
        wait_until(lambda: state.reports, 'a state report')
    finally:
        controls.call('DELETE', '/faults')
        thread.join(60)
    [agent] = agent_holder
    assert state.reports[0][0]['configurations'] == {
        'adapter_mappings': {'physnet1': [VSWITCH[OSD_1]]}, 'devices': 0}
    assert agent.manager is not None


def test_stop_ends_the_wait_for_a_silent_hmc(make_config):
    dpm_hmc.controls().call('POST', '/unavailable', {'seconds': 3600})
    try:
        agent = dpm_agent.DPMAgent(make_config(), first_wait=0.05,
                                   backoff=0.01, rpc={'state_rpc': object(),
                                                      'plugin_rpc': object(),
                                                      'context': 'ctx'})
        thread = threading.Thread(target=agent.start)
        thread.start()
        wait_until(lambda: dpm_hmc.server().log.since(), 'a first try')
        agent.stop()
        thread.join(60)
        assert not thread.is_alive()
        assert agent.manager is None
    finally:
        dpm_hmc.controls().call('DELETE', '/faults')


# -- the NICs ------------------------------------------------------------

def test_only_this_hosts_nics_on_mapped_virtual_switches_are_devices(
        make_config, hypervisor):
    ours = hypervisor.partition()
    hypervisor.nic(ours, OSD_1, MAC_1)
    hypervisor.nic(ours, HIPERSOCKET, MAC_2)
    # On the same virtual switch: another workload's NIC, the NICs of
    # another subset's host (one named like ours with a suffix), a NIC of
    # ours whose description is not OpenStack's.
    hypervisor.nic(hypervisor.foreign(), OSD_1, None,
                   description='Production DB2 eth0')
    for other in ('dpm-subset-2', f'{HOST}0'):
        hypervisor.nic(hypervisor.partition(other), OSD_1,
                       'fa:16:3e:00:02:01', host=other)
    hypervisor.nic(ours, OSD_1, None, description=f'eth9 of {HOST}')
    # Ours, on a virtual switch that is not mapped.
    hypervisor.nic(ours, OSD_2, 'fa:16:3e:00:03:01')
    config = make_config(mappings=[f'physnet1:{OSD_1}',
                                   f'physnet2:{HIPERSOCKET}'])
    client = zhmcclient.Client(dpm_agent.open_session(config))
    cpc, targets = mappings.check(client, config)
    manager = dpm_manager.DPMManager(config, cpc, targets)
    assert manager.devices() == {MAC_1, MAC_2}
    assert manager.configurations() == {'adapter_mappings': {
        'physnet1': [VSWITCH[OSD_1]], 'physnet2': [VSWITCH[HIPERSOCKET]]}}
    # plug: only on the virtual switch its port's physical network maps.
    details = {'port_id': 'p1', 'physical_network': 'physnet1'}
    assert manager.plug(MAC_1, details)
    assert not manager.plug(MAC_2, details)
    assert not manager.plug(MAC_1, dict(details,
                                        physical_network='physnet9'))
    client.session.logoff()


def test_a_nic_made_again_between_two_looks_is_replaced(
        make_config, hypervisor):
    """A rebuild deletes a partition's NICs and makes them again."""
    ours = hypervisor.partition()
    nic_1 = hypervisor.nic(ours, OSD_1, MAC_1)
    hypervisor.nic(ours, OSD_1, MAC_2)
    config = make_config(mappings=[f'physnet1:{OSD_1}'])
    client = zhmcclient.Client(dpm_agent.open_session(config))
    manager = dpm_manager.DPMManager(config, *mappings.check(client, config))
    assert (manager.devices(), manager.replaced()) == ({MAC_1, MAC_2}, set())
    nic_1.delete()
    hypervisor.nic(ours, OSD_1, MAC_1)
    assert (manager.devices(), manager.replaced()) == ({MAC_1, MAC_2},
                                                       {MAC_1})
    assert (manager.devices(), manager.replaced()) == ({MAC_1, MAC_2}, set())
    client.session.logoff()


def test_the_cost_of_a_polling_interval(make_config, hypervisor):
    ours = hypervisor.partition()
    hypervisor.nic(ours, OSD_1, MAC_1)
    hypervisor.nic(hypervisor.partition('dpm-subset-2'), OSD_1,
                   'fa:16:3e:00:02:01', host='dpm-subset-2')
    hypervisor.nic(hypervisor.foreign(), HIPERSOCKET, None,
                   description='Production DB2 eth0')
    config = make_config(mappings=[f'physnet1:{OSD_1}',
                                   f'physnet2:{HIPERSOCKET}'])
    session = dpm_agent.open_session(config)
    cpc, targets = mappings.check(zhmcclient.Client(session),
                                  config)
    manager = dpm_manager.DPMManager(config, cpc, targets)
    log = dpm_hmc.server().log

    def requests_of_one_poll():
        seq = log.since()[-1]['seq']
        devices = manager.devices()
        return devices, sorted(e['path'] for e in log.since(seq))
    vnics = sorted(f'/api/virtual-switches/{VSWITCH[a]}/operations/'
                   f'get-connected-vnics' for a in (HIPERSOCKET, OSD_1))
    # First: each NIC on the mapped virtual switches is read once.
    devices, paths = requests_of_one_poll()
    assert devices == {MAC_1}
    assert len(paths) == 2 + 3 and vnics[0] in paths and vnics[1] in paths
    # Then one request per mapped virtual switch, whatever the NICs.
    assert requests_of_one_poll() == ({MAC_1}, vnics)
    # A new NIC: read once.
    nic = hypervisor.nic(ours, HIPERSOCKET, MAC_2)
    devices, paths = requests_of_one_poll()
    assert devices == {MAC_1, MAC_2}
    assert paths == sorted(vnics + [nic.uri])
    assert requests_of_one_poll() == ({MAC_1, MAC_2}, vnics)
    session.logoff()


def test_nics_come_and_go_and_the_agent_changes_nothing(
        make_config, run_agent, hypervisor, plugin, state):
    port_1 = plugin.bind(MAC_1, host=HOST)
    port_2 = plugin.bind(MAC_2, host=HOST, physical_network='physnet2')
    ours = hypervisor.partition()
    hypervisor.nic(hypervisor.foreign(), OSD_1, None,
                   description='Production DB2 eth0')
    other = hypervisor.partition('dpm-subset-2')
    hypervisor.nic(other, OSD_1, MAC_2, host='dpm-subset-2')
    before = dpm_hmc.state()
    seq = dpm_hmc.server().log.since()[-1]['seq']
    agent = run_agent(make_config(mappings=[f'physnet1:{OSD_1}',
                                            f'physnet2:{HIPERSOCKET}']))
    wait_until(lambda: polls_since(seq) >= 4, 'two polls')
    # Another host's NIC with MAC_2 on the virtual switch: not ours.
    assert plugin.status == {}
    assert dpm_hmc.state() == before
    # Nova's driver makes our NICs: their ports go up.
    nic_1 = hypervisor.nic(ours, OSD_1, MAC_1, port_id=port_1)
    nic_2 = hypervisor.nic(ours, HIPERSOCKET, MAC_2, port_id=port_2)
    wait_until(lambda: plugin.status == {port_1: 'ACTIVE',
                                         port_2: 'ACTIVE'}, 'ports up')
    # One goes behind OpenStack's back: its port goes down.
    nic_1.delete()
    wait_until(lambda: plugin.status[port_1] == 'DOWN', 'port 1 down')
    assert plugin.status[port_2] == 'ACTIVE'
    wait_until(lambda: state.reports[-1][0]['configurations'][
        'devices'] == 1, 'a report of one device')
    # The agent wrote nothing: every write is the test's own.
    agent.stop()
    assert dpm_hmc.writes(seq) == [
        ('POST', f'{ours.uri}/nics'), ('POST', f'{ours.uri}/nics'),
        ('DELETE', nic_1.uri)]
    assert nic_2.uri in str(dpm_hmc.state())


def test_an_hmc_outage_reports_no_port_down(make_config, run_agent,
                                            hypervisor, plugin):
    port = plugin.bind(MAC_1, host=HOST)
    hypervisor.nic(hypervisor.partition(), OSD_1, MAC_1, port_id=port)
    run_agent(make_config())
    wait_until(lambda: plugin.status.get(port) == 'ACTIVE', 'port up')
    controls = dpm_hmc.controls()
    seq = dpm_hmc.server().log.since()[-1]['seq']
    controls.call('POST', '/unavailable', {'seconds': 3600})
    try:
        wait_until(lambda: sum(e['status'] == 0 for e in
                               dpm_hmc.server().log.since(seq)) >= 2,
                   'two polls in the outage')
    finally:
        controls.call('DELETE', '/faults')
    seq = dpm_hmc.server().log.since()[-1]['seq']
    wait_until(lambda: polls_since(seq) >= 2, 'two polls after it')
    assert [name for name, _ in plugin.calls] == ['details', 'update']
    assert plugin.status[port] == 'ACTIVE'


# -- the console script ----------------------------------------------------

def console_script(config_file, tmp_path):
    """neutron-ibmz-dpm-agent in a process of its own, logging to a file,
    on oslo.messaging's in-process transport (no server: its reports time
    out and are tried again)."""
    with open(config_file, 'a') as f:
        f.write(f'[DEFAULT]\ntransport_url = fake:/\n'
                f'log_file = {tmp_path / "agent.log"}\n')
    return subprocess.Popen(
        [sys.executable, '-m', 'nova_ibmz.neutron.dpm.agent',
         '--config-file', str(config_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_the_console_script_refuses_a_wrong_mapping_in_one_line(
        tmp_path, hmc):
    config = dpm_hmc.write_config(tmp_path / 'agent.ini',
                                  mappings=[f'physnet1:{dpm_hmc.FCP_1}'])
    process = console_script(config, tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1
    # The last line (libraries may warn before it), and the only one that
    # names the mapping.
    error = (f'neutron-ibmz-dpm-agent: [dpm] '
             f'physical_network_adapter_mappings = physnet1:'
             f'{dpm_hmc.FCP_1}: adapter FCP-1 is of type fcp; a mapping '
             f'needs an OSA (osd) or HiperSockets adapter')
    assert err.splitlines()[-1] == error
    assert [line for line in err.splitlines()
            if dpm_hmc.FCP_1 in line] == [error]
    assert dpm_hmc.writes() == []


def test_the_console_script_polls_until_sigterm(tmp_path, hmc):
    config = dpm_hmc.write_config(tmp_path / 'agent.ini')
    process = console_script(config, tmp_path)
    try:
        wait_until(lambda: polls_since(0) >= 2, 'two polls')
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert dpm_hmc.writes() == []
    log = (tmp_path / 'agent.log').read_text()
    assert 'DPM agent of host dpm-subset-1 runs on CPC CPC1' in log
    assert dpm_hmc.hmcsim.PASSWORD not in log
    # It logged off.
    assert dpm_hmc.server().log.since()[-1]['method'] == 'DELETE'


# -- a CPC without virtual switches (z17) --------------------------------

@pytest.fixture
def z17(hmc):
    """The CPC as a z17 shows itself: the API feature
    network-express-support and no virtual switches, so NICs name their
    adapter port.  (The simulator's model, changed in this process: the
    topology format has no API features.)"""
    with hmc.sim.lock:
        cpc = hmc.sim.hmc.cpcs.lookup_by_oid(dpm_hmc.CPC_ID)
        cpc.api_features = [mappings.NO_VSWITCHES_FEATURE]
        for vswitch in cpc.virtual_switches.list():
            cpc.virtual_switches.remove(vswitch.oid)
    return hmc


def port_nic(partition, adapter, mac, host=HOST):
    """A NIC on port 0 of adapter, as the DPM driver would make it on a
    CPC without virtual switches."""
    return partition.nics.create({
        'name': naming.nic_name(str(uuid.uuid4())),
        'description': naming.nic_description(host, mac),
        'network-adapter-port-uri': f'/api/adapters/{adapter}/'
                                    f'network-ports/0'})


def test_a_cpc_without_virtual_switches_maps_adapter_ports(
        z17, make_config, run_agent, hypervisor, plugin, state):
    port_uri = f'/api/adapters/{HIPERSOCKET}/network-ports/0'
    port = plugin.bind(MAC_1, host=HOST)
    # Port 1 of OSD-2 has no virtual switch, and needs none here.
    run_agent(make_config(mappings=[f'physnet1:{HIPERSOCKET}',
                                    f'physnet2:{OSD_2}:1']))
    wait_until(lambda: state.reports, 'a report')
    assert state.reports[0][0]['configurations'] == {
        'network_port_mappings': {
            'physnet1': [{'uri': port_uri, 'index': 0}],
            'physnet2': [{'uri': f'/api/adapters/{OSD_2}/network-ports/1',
                          'index': 1}]},
        'devices': 0}
    port_nic(hypervisor.partition('dpm-subset-2'), HIPERSOCKET, MAC_1,
             host='dpm-subset-2')
    ours = hypervisor.partition()
    port_nic(ours, OSD_1, 'fa:16:3e:00:03:01')      # not mapped
    nic = port_nic(ours, HIPERSOCKET, MAC_1)
    wait_until(lambda: plugin.status.get(port) == 'ACTIVE', 'port up')
    # One request per interval: this host's partitions with their NICs.
    seq = dpm_hmc.server().log.since()[-1]['seq']
    wait_until(lambda: len(dpm_hmc.server().log.since(seq)) >= 2,
               'two polls')
    listing = f'/api/cpcs/{dpm_hmc.CPC_ID}/partitions?name=OpenStack-'
    assert all(e['path'].startswith(listing) and
               e['path'].endswith('additional-properties=nic-uris')
               for e in dpm_hmc.server().log.since(seq))
    nic.delete()
    wait_until(lambda: plugin.status[port] == 'DOWN', 'port down')
