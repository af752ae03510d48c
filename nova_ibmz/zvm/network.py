# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Guest networking on z/VM: a NIC per Neutron port on a virtual switch.

A port becomes a QDIO NIC (three device numbers: 1000, 1003, ...) in the
guest's directory entry, known to the connector by the port id (nic_id),
coupled to a vswitch with the port's VLAN (none: flat), and configured in
the guest by files punched to its reader, which the activation engine
reads at the next boot (or at once, active, on a running guest).

One POST /guests/{userid}/interface makes the NICs and the configuration:
the connector creates a NIC for each network it configures, so a NIC made
before with POST .../nic would make it refuse the device number.  A deploy
purges the reader, so this comes after the deploy.

MAC addresses: z/VM keeps only the last three bytes of the port's MAC (the
NICDEF's MACID) behind the system's VMLAN MACPREFIX: the guest shows the
Neutron MAC only where Neutron's base_mac begins with that prefix.

CP couples a NIC only for a guest granted on the vswitch, and the
connector's couple does not grant: we grant first
(nova_ibmz.connector.vswitch).  Deleting the guest removes its NICs and
revokes its grants; detach revokes a grant no other NIC of the guest uses.
"""

from nova.network import model
from oslo_log import log as logging
from oslo_utils import excutils

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.connector import vswitch as vswitches

LOG = logging.getLogger(__name__)


class Network:
    """The NICs of guests, on the vswitch a port's binding names or the
    [zvm] vswitch option's."""

    def __init__(self, connector, vswitch):
        self._connector = connector
        self._vswitch = vswitch

    def plug(self, userid, os_version, network_info, hostname=None):
        """NICs and their configuration for every port of a new guest that
        is logged off, after its deploy; hostname goes to the first (only
        RHCOS reads it there).  All or none: a failure removes the NICs
        made.  Cost: 1 request, 1 grant per vswitch and VLAN, 1 couple per
        VIF; on failure up to 1 + 1 per NIC made + 1 per vswitch more."""
        if network_info:
            self._plug(userid, os_version, list(network_info), False,
                       hostname)

    def attach(self, userid, os_version, vif):
        """A NIC for the port on the next free device numbers, configured
        at once when the guest is logged on.  Undone on failure.  Cost: 4
        requests; on failure up to 3 more."""
        active = self._connector.get(f'/guests/{userid}/power_state') == 'on'
        self._plug(userid, os_version, [vif], active, None)

    def detach(self, userid, os_version, vif):
        """Remove the port's NIC and its configuration in the guest, and
        the guest's grant on the vswitch when no other NIC uses it.  A NIC
        already gone is fine.  Cost: 1 request when it is gone, else 3, 4
        with the revoke."""
        nics = self._connector.get('/guests/nics', userid=userid) or []
        if not any(nic['port'] == vif['id'] for nic in nics):
            LOG.info('No NIC of port %s on %s: detached already', vif['id'],
                     userid)
            return
        active = self._connector.get(f'/guests/{userid}/power_state') == 'on'
        switches = {nic['switch'] for nic in nics
                    if nic['port'] == vif['id'] and nic['switch']}
        self._unplug(userid, os_version, {vif['id']}, switches, active, nics)

    def _plug(self, userid, os_version, vifs, active, hostname):
        # Every port's vswitch first: a missing one must cost no request.
        links = [(self._vswitch_of(vif), _vlan(vif)) for vif in vifs]
        networks = [_guest_network(vif) for vif in vifs]
        if hostname:
            networks[0]['hostname'] = hostname
        try:
            made = self._connector.post(f'/guests/{userid}/interface', {
                'interface': {'os_version': os_version,
                              'guest_networks': networks,
                              'active': active}})
            granted = set()
            for network, link in zip(made, links):
                vswitch, vlan = link
                if link not in granted:
                    vswitches.grant(self._connector, userid, vswitch, vlan)
                    granted.add(link)
                vswitches.couple(self._connector, userid,
                                 network['nic_vdev'], vswitch, vlan, active)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._undo(userid, os_version, vifs,
                           {vswitch for vswitch, _ in links}, active)

    def _undo(self, userid, os_version, vifs, switches, active):
        """Remove what _plug made, which the switch table shows: a failed
        or lost POST .../interface may have made some NICs.  Its own
        failure is logged: the first error is the one to report."""
        try:
            nics = self._connector.get('/guests/nics', userid=userid) or []
            self._unplug(userid, os_version, {vif['id'] for vif in vifs},
                         switches, active, nics)
        except Exception:
            LOG.exception('Could not remove the NICs of ports %s from %s',
                          ', '.join(vif['id'] for vif in vifs), userid)

    def _unplug(self, userid, os_version, ports, switches, active, nics):
        """Remove the NICs of ports (nics: the guest's switch table rows),
        then the grants on switches that no other NIC uses."""
        for nic in nics:
            if nic['port'] in ports:
                # Deleting a NIC uncouples it; DELETE .../interface also
                # punches (and, active, runs) the removal of its config.
                self._connector.delete(f'/guests/{userid}/interface', {
                    'interface': {'os_version': os_version,
                                  'vdev': nic['interface'],
                                  'active': active}})
        used = {(nic['switch'] or '').upper() for nic in nics
                if nic['port'] not in ports}
        for vswitch in {s.upper() for s in switches} - used:
            vswitches.revoke(self._connector, userid, vswitch)

    def _vswitch_of(self, vif):
        vswitch = (vif.get('details') or {}).get('vswitch') or self._vswitch
        if not vswitch:
            raise ConfigurationError(
                'zvm', 'vswitch', f'port {vif["id"]} is bound to no vswitch '
                f'and no default vswitch is set')
        return vswitch.upper()


def _vlan(vif):
    """The port's VLAN, from its binding (nova's network model has it
    nowhere else); None for a flat network."""
    return int((vif.get('details') or {}).get(model.VIF_DETAILS_VLAN)
               or 0) or None


def _guest_network(vif):
    """The connector's guest_networks entry: the port's first IPv4 address
    with its subnet's prefix, gateway and DNS servers; a port without one
    gets an unconfigured NIC.  Absent values are left out, as the schema
    takes no nulls."""
    network = {'nic_id': vif['id'], 'mac_addr': vif['address']}
    mtu = (vif['network'].get('meta') or {}).get('mtu')
    if mtu:
        network['mtu'] = mtu
    for subnet in vif['network']['subnets']:
        if subnet['version'] != 4 or not subnet['ips']:
            continue
        network.update(ip_addr=subnet['ips'][0]['address'],
                       cidr=subnet['cidr'],
                       dns_addr=[dns['address'] for dns in subnet['dns']
                                 if dns['version'] == 4])
        if subnet['gateway'] and subnet['gateway'].get('address'):
            network['gateway_addr'] = subnet['gateway']['address']
        break
    return network
