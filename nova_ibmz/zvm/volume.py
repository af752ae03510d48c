# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Block storage over FC for z/VM guests: the volume connector, attach and
detach of data volumes, and boot from a volume.

The Cloud Connector keeps an FCP database.  GET /volumes/conn/{userid}
reserves for a guest one FCP device per path of an FCP Multipath Template
(the host default one), the same devices again while they stay reserved,
and answers their NPIV WWPNs, to which Cinder maps LUNs.  The guest need
not exist yet: Nova asks for the connector of a boot volume before spawn.
An attach counts the volume on those devices, dedicates to the guest the
devices it is the first volume of, and punches the script that brings the
LUN online into the guest's reader; a detach is the reverse.  The devices
stay reserved for the guest until release().

The connector counts volumes per device, not per volume: it cannot tell
whether one volume is attached.  A detach is skipped when the guest's
devices carry no volume; a second detach of one of several volumes on the
same devices would take another volume's count, so the caller must not
repeat a detach that succeeded.

A guest that boots from a volume has no minidisk: its directory dedicates
the FCP devices and IPLs the LUN through one of them (boot_definition).
Before its first IPL the connector rewrites the bootmap on the volume for
the guest's paths, and counts the root volume on the devices
(Volumes.prepare_boot).
"""

import dataclasses

from oslo_log import log as logging

from nova_ibmz import conf
from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.common.exception import RequestRefused
from nova_ibmz.common import fc
from nova_ibmz.zvm.client import ConnectorNotFound

LOG = logging.getLogger(__name__)
# The connector only counts a root volume, so the guest never sees this.
ROOT_MOUNT_POINT = '/dev/sda'


@dataclasses.dataclass(frozen=True)
class _FC:
    """A volume as the guest reaches it: per FCP device the target WWPNs
    (16 lower-case hex digits), and the FCP LUN (16 hex digits)."""

    paths: list
    lun: str

    @property
    def targets(self):
        return list(dict.fromkeys(t for _, ts in self.paths for t in ts))


def _fc(userid, connection_info, connector_info):
    """The volume of a Cinder fibre-channel connection, through the FCP
    devices of connector_info; any other volume type is refused."""
    data = fc.connection_data(userid, connection_info, 'z/VM guests')
    volume = (connection_info or {}).get('serial')
    targets = fc.targets(data)
    paths = [(fcp, targets.seen_by(wwpn))
             for fcp, wwpn in zip(connector_info['zvm_fcp'],
                                  connector_info['wwpns'])]
    if not any(seen for _, seen in paths):
        raise InstanceSetupError(userid, (
            f'volume {volume} has no target for the FCP devices '
            f'{connector_info["zvm_fcp"]} (WWPNs {connector_info["wwpns"]}): '
            f'targets {targets}'))
    if data.get('target_lun') is None:
        raise InstanceSetupError(userid, f'volume {volume} has no target_lun')
    return _FC(paths, fc.fcp_lun(data['target_lun']))


def boot_definition(userid, connector_info, connection_info):
    """The fields of POST /guests for a guest that boots from the volume
    of connection_info: no minidisk (the connector's makevm needs the list,
    empty; ephemeral disks may join it, none as is_boot_disk), the FCP
    devices dedicated, and IPL from the first device that reaches a target,
    with that target and the LUN as LOADDEV.  Cost: no request."""
    vol = _fc(userid, connection_info, connector_info)
    fcp, targets = next((f, ts) for f, ts in vol.paths if ts)
    return {'disk_list': [], 'ipl_from': fcp,
            'dedicate_vdevs': list(connector_info['zvm_fcp']),
            'loaddev': {'portname': targets[0], 'lun': vol.lun}}


class Volumes:
    """FC volumes of the guests of one Cloud Connector; host is the compute
    host's name, which Nova's volume connector carries."""

    def __init__(self, connector, host):
        self._connector = connector
        self._host = host

    def connector(self, userid):
        """Nova's volume connector for the guest (which need not exist yet),
        with the FCP devices reserved for it.  Cost: 1 request."""
        found = self._connector.request(
            'GET', f'/volumes/conn/{userid}', body={'info': {'reserve': True}})
        if not found['zvm_fcp']:
            # The connector answers an empty connector, not an error.
            raise RequestRefused(
                self._connector.url, f'reserving FCP devices for {userid}',
                f'FCP Multipath Template {found["fcp_template_id"]} has no '
                f'free FCP device on one of its paths')
        return {
            'host': self._host,
            'ip': conf.CONF.my_block_storage_ip,
            'initiator': None,
            'wwpns': found['wwpns'],
            'wwnns': [],
            'platform': 's390x',
            'os_type': 'linux',
            'multipath': found['fcp_paths'] > 1,
            # What attach and boot from volume need of the connector.
            'zvm_fcp': found['zvm_fcp'],
            'phy_to_virt_initiators': found['phy_to_virt_initiators'],
            'fcp_paths': found['fcp_paths'],
            'fcp_template_id': found['fcp_template_id'],
        }

    def attach(self, userid, os_version, connection_info, mountpoint,
               connector_info, is_root_volume=False):
        """Attach the volume to the guest through the FCP devices of
        connector_info (the guest's connector, as Cinder mapped the LUN
        to it).  A data volume needs a guest of this connector: the real
        connector would dedicate devices to any guest of the directory.
        Cost: 2 requests (1 for a root volume)."""
        vol = _fc(userid, connection_info, connector_info)
        if not is_root_volume:
            # ConnectorNotFound for a guest that is gone or not ours.
            self._connector.get(f'/guests/{userid}/power_state')
        self._connector.post('/guests/volumes', _connection(
            userid, os_version, vol, mountpoint, connector_info,
            is_root_volume=is_root_volume))

    def detach(self, userid, os_version, connection_info, mountpoint,
               connector_info, is_root_volume=False, connections_only=False):
        """Detach the volume, unless the guest's FCP devices carry none.
        connections_only (when the guest is being destroyed) and a root
        volume only change the connector's counts.  Cost: up to 1 request
        per FCP device (2 with the default template), plus 1 to detach."""
        if (connection_info or {}).get('driver_volume_type') != fc.FC:
            # attach() refuses these, so none is attached; a failed boot
            # from one still destroys its instance and detaches it.
            return
        vol = _fc(userid, connection_info, connector_info)
        if not any(self._counted(userid, fcp)
                   for fcp in connector_info['zvm_fcp']):
            LOG.info('%s: no volume on FCP devices %s; %s is detached '
                     'already', userid, connector_info['zvm_fcp'],
                     connection_info.get('serial'))
            return
        self._connector.delete('/guests/volumes', _connection(
            userid, os_version, vol, mountpoint, connector_info,
            is_root_volume=is_root_volume,
            update_connections_only=connections_only))

    def _counted(self, userid, fcp):
        """Whether volumes of the guest are counted on the device."""
        try:
            assigner, _, connections, _ = self._connector.get(
                f'/volumes/fcp/{fcp.lower()}')
        except ConnectorNotFound:     # gone from the connector's database
            return False
        return assigner.upper() == userid.upper() and connections > 0

    def release(self, userid):
        """Unreserve the guest's FCP devices that carry no volume: when its
        instance is destroyed, after its volumes are detached.  Cost: 1
        request, plus 1 per FCP Multipath Template the guest has devices
        of (one, normally)."""
        # Unreserving needs the template, which the guest's devices name.
        templates = self._connector.get('/volumes/fcptemplates',
                                        assigner_id=userid)['fcp_templates']
        for template in templates:
            self._connector.request('GET', f'/volumes/conn/{userid}', body={
                'info': {'reserve': False, 'fcp_template_id': template['id']}})

    def prepare_boot(self, userid, os_version, connection_info,
                     connector_info):
        """After POST /guests with boot_definition() and before the first
        start: rewrite the volume's bootmap (zipl, rd.zfcp) for the guest's
        FCP devices and targets, then count the root volume on the devices
        (makevm dedicated them already).  The connector's refresh runs
        for minutes on a real system.  Cost: 2 requests."""
        vol = _fc(userid, connection_info, connector_info)
        # The refresh script takes WWPNs and the LUN without 0x.
        self._connector.put('/volumes/volume_refresh_bootmap', {'info': {
            'fcpchannel': list(connector_info['zvm_fcp']),
            'wwpn': vol.targets, 'lun': vol.lun,
            'fcp_template_id': connector_info['fcp_template_id']}})
        self.attach(userid, os_version, connection_info, ROOT_MOUNT_POINT,
                    connector_info, is_root_volume=True)


def _connection(userid, os_version, vol, mountpoint, connector_info,
                **flags):
    """The body of POST and DELETE /guests/volumes."""
    return {'info': {'connection': dict({
        'assigner_id': userid,
        'zvm_fcp': list(connector_info['zvm_fcp']),
        'target_wwpn': [f'0x{t}' for t in vol.targets],
        'target_lun': f'0x{vol.lun}',
        'os_version': os_version,
        # Text: the connector lowers it.  The guest's script sets up
        # multipathd when the LUN has more than one path.
        'multipath': str(sum(len(ts) for _, ts in vol.paths) > 1),
        'mount_point': mountpoint,
    }, **flags)}}
