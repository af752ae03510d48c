# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's mainframes: an HMC simulator (its first DPM CPC, one CPC
subset per DPM compute host) and a z/VM SSI cluster (one member per z/VM
compute host), served in this process on free local ports, with their
state, certificates and admin token in the sandbox's directory.  By
default one DPM host and two z/VM hosts; the scale-out mode takes other
counts.

Hosts() gives each compute host of the sandbox its nova.conf sections, the
values an operator would write for a real HMC or Cloud Connector: only the
addresses and the CA file are the simulators'.
"""

import dataclasses
import pathlib
import secrets
import shutil

import yaml

from nova_ibmz.sim.hmc import model as hmc_model
from nova_ibmz.sim.hmc import server as hmc_server
from nova_ibmz.sim import tls
from nova_ibmz.sim.zvm import model as zvm_model
from nova_ibmz.sim.zvm import server as zvm_server

DPM_HOST = 'dpm-subset-1'
ZVM_HOSTS = ('zvm-1', 'zvm-2')
# z/VM joins at most four systems in an SSI cluster; the CPC's 40 IFLs
# hold five subsets of DPM_PROCESSORS.
MAX_ZVM_HOSTS = 4
MAX_DPM_HOSTS = 5
# The default topology's HMC user (it holds the simulator's password).
HMC_TOPOLOGY = 'default'
# What the DPM host may use of the CPC (its subset).
DPM_PROCESSORS = 8
DPM_MEMORY_MB = 65536
ZVM_DISK_POOL = 'ECKD:POOL1'
ZVM_VSWITCH = 'VSWITCH1'
# How often the network agents look for NICs that came or went.
AGENT_POLLING_SECONDS = 1


@dataclasses.dataclass(frozen=True)
class DPMTarget:
    """What the DPM host needs to know of the simulated HMC's topology."""

    userid: str
    password: str
    cpc_object_id: str
    fcp_adapter_id: str
    osd_vswitch_id: str         # where the DPM agent's mapping binds ports
    osd_adapter_id: str         # the adapter and port of that switch
    osd_port: int


def dpm_target(topology_path):
    """The first DPM CPC of a topology, its first FCP adapter and OSD
    virtual switch, and the HMC user, read from the topology file."""
    definition = yaml.safe_load(pathlib.Path(topology_path).read_text())
    hmc = definition['hmc_definition']
    user = hmc['consoles'][0]['users'][0]['properties']
    cpc = next(c for c in hmc['cpcs'] if c['properties'].get('dpm-enabled'))
    fcp = next(a['properties'] for a in cpc.get('adapters', [])
               if a['properties'].get('type') == 'fcp')
    osd = next(v['properties'] for v in cpc.get('virtual_switches', [])
               if v['properties'].get('type') == 'osd')
    return DPMTarget(user['name'], user['password'],
                     cpc['properties']['object-id'], fcp['object-id'],
                     osd['object-id'],
                     osd['backing-adapter-uri'].rsplit('/', 1)[1],
                     osd.get('port', 0))


class Simulators:
    """Both simulators, started by start() and stopped by stop()."""

    def __init__(self, state_dir, dpm_hosts=1, zvm_hosts=len(ZVM_HOSTS)):
        """dpm_hosts: how many DPM compute hosts (CPC subsets
        dpm-subset-1, -2, ... of the first DPM CPC, each of DPM_PROCESSORS
        IFLs and DPM_MEMORY_MB); zvm_hosts: how many z/VM compute hosts (zvm-1,
        -2, ..., each an SSI member)."""
        if not 1 <= dpm_hosts <= MAX_DPM_HOSTS:
            raise ValueError(f'{dpm_hosts} DPM hosts: the CPC holds 1 to '
                             f'{MAX_DPM_HOSTS} subsets of {DPM_PROCESSORS} '
                             'IFLs')
        if not 1 <= zvm_hosts <= MAX_ZVM_HOSTS:
            raise ValueError(f'{zvm_hosts} z/VM hosts: an SSI cluster has 1 '
                             f'to {MAX_ZVM_HOSTS} members')
        self.state_dir = pathlib.Path(state_dir)
        self.dpm_hosts = tuple(f'dpm-subset-{i}'
                               for i in range(1, dpm_hosts + 1))
        self.zvm_hosts = tuple(f'zvm-{i}' for i in range(1, zvm_hosts + 1))
        self.hmc = None
        self.connectors = []
        self.admin_token_file = self.state_dir / 'zvm' / 'admin-token'

    def start(self):
        """Serve both, from empty hypervisors: Nova's database lives in
        memory, so anything a previous sandbox left would be servers Nova
        does not know.  (stop() saves the state for a look afterwards.)"""
        hmc_dir = self.state_dir / 'hmc'
        zvm_dir = self.admin_token_file.parent
        for stale in (hmc_dir / 'state.json', zvm_dir / 'state.json'):
            stale.unlink(missing_ok=True)
        shutil.rmtree(zvm_dir / 'images', ignore_errors=True)
        hmc_dir.mkdir(parents=True, exist_ok=True)
        topology = hmc_model.topology_path(HMC_TOPOLOGY)
        self.dpm = dpm_target(topology)
        self.hmc = hmc_server.HMCServer(
            hmc_model.Simulator(topology, state_file=hmc_dir / 'state.json'),
            tls.ensure(hmc_dir, 'nova-ibmz sandbox HMC')).start()
        zvm_dir.mkdir(parents=True, exist_ok=True)
        cluster = zvm_model.Model(members=len(self.zvm_hosts),
                                  image_dir=zvm_dir / 'images',
                                  state_file=zvm_dir / 'state.json')
        token = self._admin_token()
        self.connectors = [
            zvm_server.ConnectorServer(cluster, name,
                                       admin_token=token).start()
            for name in cluster.members]
        return self

    def _admin_token(self):
        if not self.admin_token_file.exists():
            tls.write(self.admin_token_file,
                      secrets.token_urlsafe(32).encode(), 0o600)
        return self.admin_token_file.read_text().strip()

    def stop(self):
        """Stop serving and save both simulators' state."""
        for server in [self.hmc] + self.connectors:
            if server is not None:
                server.stop()
        if self.hmc is not None:
            self.hmc.sim.save()
        if self.connectors:
            self.connectors[0].model.save()

    def host_options(self):
        """{compute host: {section: {option: value}}}, nova.conf values
        that point each host's driver at its simulator."""
        hosts = {host: {
            'DEFAULT': {'host': host, 'compute_driver': 'ibmz.DPMDriver'},
            'dpm': {
                'hmc': f'127.0.0.1:{self.hmc.port}',
                'hmc_username': self.dpm.userid,
                'hmc_password': self.dpm.password,
                'hmc_ca_file': str(self.hmc.certs.ca_file),
                'cpc_object_id': self.dpm.cpc_object_id,
                'max_processors': DPM_PROCESSORS,
                'max_memory': DPM_MEMORY_MB,
                # A MultiOpt: one line per adapter port in a file.
                'physical_storage_adapter_mappings':
                    [f'{self.dpm.fcp_adapter_id}:0'],
            }} for host in self.dpm_hosts}
        for host, connector in zip(self.zvm_hosts, self.connectors):
            hosts[host] = {
                'DEFAULT': {'host': host, 'compute_driver': 'ibmz.ZVMDriver',
                            'instance_name_template': 'os%06x'},
                'zvm': {
                    'cloud_connector_url': connector.url,
                    'admin_token_file': str(self.admin_token_file),
                    'disk_pool': ZVM_DISK_POOL,
                    'vswitch': ZVM_VSWITCH,
                    'image_tmp_path': str(self.state_dir / host / 'images'),
                },
                # A guest's NICs move with it (VMRELOCATE): no agent sees
                # them on the destination before the move, so Neutron
                # sends no network-vif-plugged to wait for there.
                'compute': {'live_migration_wait_for_vif_plug': False}}
        return hosts

    def request_logs(self):
        """{name: (simulator URL, CA file or None)}: where to read each
        simulator's request log (GET <url>/_sim/requests)."""
        logs = {'hmc': (self.hmc.url, str(self.hmc.certs.ca_file))}
        for host, connector in zip(self.zvm_hosts, self.connectors):
            logs[host] = (connector.url, None)
        return logs

    def agent_options(self, physnet):
        """{host: {section: {option: value}}}: the configuration of each
        compute host's network agent (neutron-ibmz-dpm-agent,
        neutron-ibmz-zvm-agent), which maps physnet to the host's
        virtual switch."""
        hosts = self.host_options()
        agents = {host: {
            'DEFAULT': {'host': host},
            'dpm': dict({k: hosts[host]['dpm'][k] for k in (
                'hmc', 'hmc_username', 'hmc_password', 'hmc_ca_file',
                'cpc_object_id')},
                physical_network_adapter_mappings=[
                    f'{physnet}:{self.dpm.osd_adapter_id}:'
                    f'{self.dpm.osd_port}']),
            'agent': {'polling_interval': AGENT_POLLING_SECONDS}}
            for host in self.dpm_hosts}
        for host, connector in zip(self.zvm_hosts, self.connectors):
            agents[host] = {
                'DEFAULT': {'host': host, 'instance_name_template': 'os%06x'},
                'zvm': {'cloud_connector_url': connector.url,
                        'admin_token_file': str(self.admin_token_file),
                        'vswitch_mappings': f'{physnet}:{ZVM_VSWITCH}'},
                'agent': {'polling_interval': AGENT_POLLING_SECONDS}}
        return agents

    def write_host_configs(self, state_paths=None):
        """One <host>.conf per compute host in the state directory, so a
        user can read how each host is configured.  state_paths: a
        directory in which each host gets its own [DEFAULT] state_path (a
        nova-compute process of its own keeps its compute_id there).
        Returns their paths."""
        written = {}
        for host, sections in self.host_options().items():
            if state_paths is not None:
                sections['DEFAULT']['state_path'] = str(
                    pathlib.Path(state_paths) / host)
            written[host] = _write_conf(self.state_dir / f'{host}.conf',
                                        sections)
        return written

    def write_agent_configs(self, physnet):
        """One <host>-agent.conf per compute host's network agent in the
        state directory.  Returns their paths."""
        return {host: _write_conf(self.state_dir / f'{host}-agent.conf',
                                  sections)
                for host, sections in self.agent_options(physnet).items()}


def _write_conf(path, sections):
    """An oslo.config file of sections ({section: {option: value}}; a
    list is a MultiOpt's lines), readable by its owner only (it holds the
    HMC password)."""
    lines = []
    for section, options in sections.items():
        lines.append(f'[{section}]')
        for name, value in options.items():
            values = value if isinstance(value, list) else [value]
            lines += [f'{name} = {v}' for v in values]
        lines.append('')
    tls.write(path, '\n'.join(lines).encode(), 0o600)
    return path
