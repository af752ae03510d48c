# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The NICs of OpenStack's guests on one z/VM system, as the shared agent
loop (nova_ibmz.neutron.agent.loop) sees devices.

A device is a NIC made for a Neutron port, named by the port id that the
NIC carries as its nic_id (both Nova drivers give it one): ML2's RPC
resolves a device by port id.  A NIC without one is no port's: z/VM keeps
only the last three bytes of a MAC, behind the system's MAC prefix, so the
MAC it shows cannot name a port.

Whose guests: only guests the Cloud Connector's database lists (GET
/guests/nics lists no other), whose userid follows the compute host's
instance_name_template.  Among them:

- a guest our driver made carries its instance's mark in its directory
  entry (nova_ibmz.connector.naming).  Our driver grants and couples its
  NICs itself: the agent never changes them, and reports a NIC up once it
  is coupled to the vswitch its port's physical network maps to;
- a guest without the mark is Nova's in-tree driver's, which makes NICs
  and leaves them uncoupled.  The agent grants and couples such a NIC only
  when Neutron says its port is a Nova instance's port bound to this host
  (device_owner compute:*, no binding elsewhere), on the vswitch and VLAN
  of the port's segment, as networking-zvm's agent did.

A device is up while its NIC is coupled to a mapped vswitch; an uncoupled
NIC of an in-tree guest is a device too, which plug() couples.  A NIC
deleted or uncoupled (of our driver's guest) stops being a device: the
loop reports its port down.  Nothing here revokes a grant or deletes
anything: deleting a guest does that.

Cost per polling interval: one GET /guests/nics (every NIC of every guest
of the connector's database), plus one GET /guests/{userid}/user_direct
per guest of the template not seen before (its mark does not change).
plug() costs nothing for a coupled NIC; for an uncoupled one one GET
.../power_state and one PUT .../nic/{vdev}, and a grant per guest, vswitch
and VLAN among the NICs plugged after one look.
"""

import dataclasses

from neutron_lib import constants
from oslo_log import log as logging
from oslo_utils import uuidutils

from nova_ibmz.connector import client
from nova_ibmz.connector import naming
from nova_ibmz.connector import vswitch as vswitches
from nova_ibmz.neutron import ml2

LOG = logging.getLogger(__name__)
BINARY = 'neutron-ibmz-zvm-agent'


@dataclasses.dataclass(frozen=True)
class Nic:
    userid: str
    vdev: str
    vswitch: str        # coupled to (upper case), or None
    marked: bool        # the guest carries our driver's mark

    @property
    def place(self):
        """Which NIC it is: (userid, device number)."""
        return self.userid, self.vdev


class ZVMManager:
    """The devices of one Cloud Connector for the agent loop."""

    agent_type = ml2.ZVM_AGENT_TYPE
    binary = BINARY

    def __init__(self, connector, vswitch_mappings, name_template):
        self._connector = connector
        self._mappings = dict(vswitch_mappings)
        self._pattern = naming.name_pattern(name_template)
        self._marked = {}       # userid -> has our mark (read once)
        self._nics = {}         # port id -> Nic, of the last devices()
        self._granted = set()   # (userid, vswitch, vlan) since the look
        self._refused = {}      # port id -> why plug() left it alone
        self._replaced = set()  # see replaced()

    def configurations(self):
        """What the agent reports (ml2.ZVMMechanismDriver binds with it)."""
        return {'vswitch_mappings': dict(self._mappings)}

    def devices(self):
        """The port ids of the devices (see the module).  Raises the
        client's errors when the connector does not answer, so that the
        loop keeps what it knew.  Cost: see the module."""
        rows = self._connector.get('/guests/nics') or []
        mapped = set(self._mappings.values())
        listed = {row['userid'].upper() for row in rows}
        nics = {}
        for row in rows:
            userid, port = row['userid'].upper(), row['port']
            if not (port and uuidutils.is_uuid_like(port) and
                    self._pattern.match(userid)):
                continue
            marked = self._is_marked(userid)
            vswitch = (row['switch'] or '').upper() or None
            if marked is None or not (vswitch in mapped or (
                    vswitch is None and not marked)):
                continue
            nics[port] = Nic(userid, row['interface'], vswitch, marked)
        # A userid gone from the listing may come back as another guest.
        self._marked = {u: m for u, m in self._marked.items() if u in listed}
        # Grants are remembered for one look only: a guest deleted and
        # made again between two looks has lost its grants.
        self._granted = set()
        self._replaced = {port for port, nic in nics.items()
                          if self._nics.get(port, nic).place != nic.place}
        self._nics = nics
        return set(nics)

    def replaced(self):
        """The devices whose NIC is another guest's or device number than
        at the look before (the port moved between two looks).  Cost:
        none."""
        return set(self._replaced)

    def plug(self, device, details):
        """Whether the device's port is up: its NIC coupled to the vswitch
        of the port's segment; an uncoupled NIC (an in-tree guest's) is
        granted and coupled first.  details: ML2's device details of a
        port bound to this host.  Raises the client's errors: the loop
        asks again next interval.  Cost: see the module."""
        nic = self._nics.get(device)
        target = nic and self._target(device, details)
        if not target:
            return False
        vswitch, vlan = target
        if nic.vswitch is None:
            self._couple(device, nic, vswitch, vlan)
        elif nic.vswitch != vswitch:
            self._refuse(device, f'its NIC {nic.vdev} of {nic.userid} is '
                         f'coupled to {nic.vswitch}, not to {vswitch} of its '
                         f'network')
            return False
        return True

    def unplug(self, device):
        """The NIC is gone or no longer coupled: nothing to change on
        z/VM (deleting a guest revokes its grants).  Cost: none."""
        self._refused.pop(device, None)

    def _is_marked(self, userid):
        """Whether the guest's directory entry carries our mark; None if
        the guest went meanwhile.  Cost: one GET .../user_direct the first
        time."""
        if userid not in self._marked:
            try:
                entry = self._connector.get(f'/guests/{userid}/user_direct')
            except client.ConnectorNotFound:
                return None
            self._marked[userid] = bool(
                naming.marked_uuid(entry['user_direct']))
        return self._marked[userid]

    def _target(self, device, details):
        """(vswitch, VLAN or None) of the port's segment, if the port is a
        Nova instance's on a physical network this agent maps; else None
        (and the NIC is left alone).  The loop plugs only ports ML2 bound
        to this host."""
        owner = details['device_owner']
        if not owner.startswith(constants.DEVICE_OWNER_COMPUTE_PREFIX):
            return self._refuse(device, f'it belongs to {owner!r}, not to a '
                                f'Nova instance')
        vswitch = self._mappings.get(details['physical_network'])
        if vswitch is None:
            return self._refuse(device, f'its physical network '
                                f'{details["physical_network"]} is not '
                                f'mapped here')
        vlan = (details['segmentation_id']
                if details['network_type'] == constants.TYPE_VLAN else None)
        return vswitch, vlan

    def _refuse(self, device, reason):
        """Leave the device's NIC alone, and say why once (the loop asks
        again every interval); None."""
        if self._refused.get(device) != reason:
            self._refused[device] = reason
            LOG.warning('Port %s is not plugged: %s; its NIC is left alone',
                        device, reason)
        return None

    def _couple(self, device, nic, vswitch, vlan):
        """Grant the guest on the vswitch (with the VLAN) unless done,
        then couple the NIC, in CP too when the guest runs."""
        grant = (nic.userid, vswitch, vlan)
        if grant not in self._granted:
            vswitches.grant(self._connector, nic.userid, vswitch, vlan)
            self._granted.add(grant)
        active = self._connector.get(
            f'/guests/{nic.userid}/power_state') == 'on'
        vswitches.couple(self._connector, nic.userid, nic.vdev, vswitch,
                         vlan, active)
        LOG.info('Coupled NIC %s of %s (port %s) to %s%s', nic.vdev,
                 nic.userid, device, vswitch,
                 f' on VLAN {vlan}' if vlan else '')
