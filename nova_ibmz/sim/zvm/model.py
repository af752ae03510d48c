# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the simulated z/VM systems hold.

One Model is one SSI cluster (or a single z/VM system): a user directory
shared by its members, disk pools, vswitches and an image repository; each
member has its own CPUs, memory, FCP devices and its own Cloud Connector,
whose database (``registry``) holds the guests that connector manages.  A
guest defined in the directory but in no connector's database is foreign:
the connector refuses to touch it, as the real one does.

All state changes go through the model's lock, because the HTTP servers
answer each request on its own thread; the route modules (guests, images,
network, volumes, host) change the dataclasses below while holding it.
"""

import dataclasses
import pathlib
import threading
import time
import uuid

from nova_ibmz.sim import faults as sim_faults
from nova_ibmz.sim import statefile
from nova_ibmz.sim.zvm import errors

ECKD_UNIT_BYTES = 737280        # a 3390 cylinder formatted with 4K blocks
FBA_UNIT_BYTES = 512            # an FBA block
UNIT_BYTES = {'ECKD': ECKD_UNIT_BYTES, 'FBA': FBA_UNIT_BYTES}
UNIT_NAMES = {'ECKD': 'CYL', 'FBA': 'BLK'}
ROOT_VDEV = '0100'
NIC_FIRST_VDEV = 0x1000
MAC_PREFIX = '02:00:0b'         # the simulated VMLAN MACPREFIX


@dataclasses.dataclass
class Minidisk:
    vdev: str
    pool: str                   # 'ECKD:POOL1'
    units: int                  # cylinders or blocks
    format: str = ''            # ext3, ext4, xfs, swap or '' (none)
    mount: str = ''             # where config_minidisks mounted it
    image: str = ''             # the image deployed on it (a root disk)

    @property
    def size_bytes(self):
        return self.units * UNIT_BYTES[self.pool.split(':')[0]]

    def size_units(self):
        """'3338:CYL' or '4194304:BLK', as image headers write it."""
        return f'{self.units}:{UNIT_NAMES[self.pool.split(":")[0]]}'


@dataclasses.dataclass
class Nic:
    vdev: str
    mac: str
    nic_id: str = ''            # the Neutron port id
    vswitch: str = ''           # coupled to (empty when uncoupled)
    vlan_id: int = -1


@dataclasses.dataclass
class Guest:
    userid: str
    vcpus: int
    memory_mb: int
    max_cpu: int
    max_mem_mb: int
    profile: str = 'OSDFLT'
    state: str = 'off'          # off (logged off), on (logged on), paused
    member: str = ''            # the member it is logged on to, when on
    disks: dict = dataclasses.field(default_factory=dict)   # vdev: Minidisk
    nics: dict = dataclasses.field(default_factory=dict)    # vdev: Nic
    interfaces: list = dataclasses.field(default_factory=list)
    volumes: list = dataclasses.field(default_factory=list)
    reader: list = dataclasses.field(default_factory=list)  # spool files
    console: list = dataclasses.field(default_factory=list)  # lines
    os_version: str = ''
    hostname: str = ''
    comments: list = dataclasses.field(default_factory=list)  # '* ' lines
    logon_time: float = 0.0     # time.time() of the last logon
    cpu_us: int = 0             # CPU time used in earlier logons
    active_vcpus: int = 0       # online CPUs while logged on

    def cpu_time_us(self, now=None):
        """CPU time used: a tenth of each CPU while logged on."""
        if self.state == 'off':
            return self.cpu_us
        elapsed = (now or time.time()) - self.logon_time
        return self.cpu_us + int(elapsed * self.active_vcpus * 100000)


@dataclasses.dataclass
class DiskPool:
    name: str                   # 'ECKD:POOL1'
    total_units: int

    @property
    def kind(self):
        return self.name.split(':')[0]


@dataclasses.dataclass
class Vswitch:
    name: str
    vlan_aware: bool = True
    real_dev: str = ''
    grants: dict = dataclasses.field(default_factory=dict)  # userid: vlan


@dataclasses.dataclass
class Image:
    name: str
    os_version: str
    md5sum: str
    size_bytes: int
    disk_size_units: str        # '3338:CYL'
    type: str = 'rootonly'
    comments: str = ''
    last_access: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass
class Fcp:
    devno: str                  # '1a00'
    chpid: str
    wwpn_npiv: str
    wwpn_phy: str
    userid: str = ''            # the guest it is dedicated to
    connections: int = 0        # volumes attached through it
    # The connector's FCP database: reserved (1) for assigner_id from
    # template tmpl_id, from get_volume_connector until it is released.
    assigner_id: str = ''
    reserved: int = 0
    tmpl_id: str = ''


@dataclasses.dataclass
class Member:
    """One z/VM system of the cluster and its Cloud Connector."""

    name: str                   # the system name, e.g. ZVMSIM1
    vcpus: int = 16
    memory_mb: int = 262144
    version: str = '7.3.0'
    cec_model: str = '8561'
    zcc_userid: str = 'OPNCLOUD'
    ipl_time: float = dataclasses.field(default_factory=time.time)
    registry: list = dataclasses.field(default_factory=list)  # userids
    fcps: dict = dataclasses.field(default_factory=dict)   # devno: Fcp
    # FCP Multipath Templates by id: {id, name, description, host_default,
    # storage_providers, min_fcp_paths_count, fcps: {devno: path}}
    templates: dict = dataclasses.field(default_factory=dict)


def default_members(count=1):
    members = []
    for i in range(1, count + 1):
        fcps = {}
        for n, devno in enumerate(('1a00', '1a01', '1b00', '1b01')):
            fcps[devno] = Fcp(devno, chpid=f'{0x27 + n // 2:02X}',
                              wwpn_npiv=f'c05076{i:02x}ee00{n:04x}',
                              wwpn_phy=f'c05076{i:02x}ff00{n // 2:04x}')
        name = f'ZVMSIM{i}'
        members.append(Member(name=name, fcps=fcps,
                              templates=default_template(name, fcps)))
    return members


def default_template(member_name, fcps):
    """The host default FCP Multipath Template: a path per CHPID.  Its id
    stays the same across resets, so tests can name it."""
    chpids = sorted({fcp.chpid for fcp in fcps.values()})
    template_id = str(uuid.uuid5(uuid.NAMESPACE_URL,
                                 f'zvmsim:{member_name}:fcp-template'))
    return {template_id: {
        'id': template_id, 'name': 'default',
        'description': f'The FCP devices of {member_name}',
        'host_default': True, 'storage_providers': [],
        'min_fcp_paths_count': -1,      # -1: as many as the paths
        'fcps': {devno: chpids.index(fcp.chpid)
                 for devno, fcp in fcps.items()}}}


def default_pools():
    # 10,000 cylinders are about 7 GB; 50,000,000 blocks about 24 GB.
    return {'ECKD:POOL1': DiskPool('ECKD:POOL1', 400000),
            'FBA:POOLF1': DiskPool('FBA:POOLF1', 50000000)}


def default_vswitches():
    return {'VSWITCH1': Vswitch('VSWITCH1', vlan_aware=True,
                                real_dev='1000'),
            'XCATVSW2': Vswitch('XCATVSW2', vlan_aware=False,
                                real_dev='1100')}


class Model:
    """The cluster; ``lock`` guards every change."""

    def __init__(self, image_dir, members=1, state_file=None,
                 copy_seconds=0.0):
        """image_dir holds the image repository's files (the caller's
        directory: it outlives the model with a state file)."""
        self.lock = threading.RLock()
        self.faults = sim_faults.Faults()
        self.copy_seconds = copy_seconds   # a deploy's or capture's disk copy
        self.token_generation = 0          # bumped to expire every token
        self.member_count = members
        self.state_file = state_file
        self.image_dir = pathlib.Path(image_dir)
        self.image_dir.mkdir(parents=True, exist_ok=True)
        self._dirty = False
        if state_file and pathlib.Path(state_file).exists():
            # The image files in image_dir belong to the saved images.
            self._empty()
            self.load(statefile.read_state(state_file))
        else:
            self.reset()

    def _empty(self):
        """An empty cluster of member_count members; image_dir untouched."""
        self.ssi_name = 'SIMSSI' if self.member_count > 1 else ''
        self.members = {m.name: m
                        for m in default_members(self.member_count)}
        self.guests = {}
        self.pools = default_pools()
        self.vswitches = default_vswitches()
        self.images = {}
        self.disk_pool = 'ECKD:POOL1'   # the connector's [zvm] disk_pool
        self.smapi_down_until = 0.0
        self.mac_counter = 0

    def reset(self):
        """Back to an empty cluster (the image files go too)."""
        with self.lock:
            self._empty()
            self.faults.clear()
            for path in self.image_dir.glob('*'):
                path.unlink()
            self.changed()

    # -- lookups -------------------------------------------------------

    def member(self, name):
        return self.members[name]

    def guest(self, userid):
        """A guest of the directory, or 404 "Guest 'X' does not exist."."""
        guest = self.guests.get(userid.upper())
        if guest is None:
            raise errors.not_found(f"Guest '{userid.upper()}'", 'guest')
        return guest

    def managed(self, member, userid):
        """A guest in this member's connector database, or the 404 the
        connector answers for any other (foreign or unknown) userid."""
        if userid.upper() not in member.registry:
            raise errors.not_found(f"Guest '{userid.upper()}'", 'guest')
        return self.guest(userid)

    def pool(self, name):
        try:
            return self.pools[name.upper()]
        except KeyError:
            kind, _, pool = name.partition(':')
            raise errors.ConnectorError(
                4, 5, 402, errors.MOD['smt'],
                f'SMT error: disk pool {pool or kind} is not defined')

    def pool_used(self, pool_name):
        return sum(d.units for g in self.guests.values()
                   for d in g.disks.values() if d.pool == pool_name)

    def smapi_down(self):
        return time.time() < self.smapi_down_until

    def next_mac(self):
        self.mac_counter += 1
        n = self.mac_counter
        return f'{MAC_PREFIX}:{n >> 16 & 0xff:02x}:{n >> 8 & 0xff:02x}:' \
               f'{n & 0xff:02x}'

    def image_path(self, name):
        return self.image_dir / name

    # -- persistence ---------------------------------------------------

    def changed(self):
        self._dirty = True

    def save_if_changed(self):
        if self._dirty and self.state_file:
            self.save()

    def save(self):
        with self.lock:
            if self.state_file:
                statefile.write_state(self.state_file, self.to_json())
            self._dirty = False

    def to_json(self):
        asdict = dataclasses.asdict
        return {
            'ssi_name': self.ssi_name,
            'members': [asdict(m) for m in self.members.values()],
            'guests': [asdict(g) for g in self.guests.values()],
            'pools': [asdict(p) for p in self.pools.values()],
            'vswitches': [asdict(v) for v in self.vswitches.values()],
            'images': [asdict(i) for i in self.images.values()],
            'mac_counter': self.mac_counter,
            # Tokens outlive a restart, as the real ones (JWTs signed with
            # the admin token) do; those expired stay expired.
            'token_generation': self.token_generation,
        }

    def load(self, state):
        with self.lock:
            self.ssi_name = state['ssi_name']
            self.members = {}
            for m in state['members']:
                fcps = {k: Fcp(**v) for k, v in m.pop('fcps').items()}
                self.members[m['name']] = Member(fcps=fcps, **m)
            self.guests = {}
            for g in state['guests']:
                disks = {k: Minidisk(**v) for k, v in g.pop('disks').items()}
                nics = {k: Nic(**v) for k, v in g.pop('nics').items()}
                self.guests[g['userid']] = Guest(disks=disks, nics=nics, **g)
            self.pools = {p['name']: DiskPool(**p) for p in state['pools']}
            self.vswitches = {v['name']: Vswitch(**v)
                              for v in state['vswitches']}
            self.images = {i['name']: Image(**i) for i in state['images']}
            self.mac_counter = state['mac_counter']
            self.token_generation = state['token_generation']
            self._dirty = False
