# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A guest's NIC on a vswitch, for the z/VM Nova driver and the z/VM
Neutron agent (which couples the NICs Nova's in-tree driver leaves).

CP couples a NIC only for a guest granted on the vswitch (SET VSWITCH
GRANT, with the VLAN on a VLAN-aware vswitch), and the connector's couple
does not grant: grant first.
"""


def grant(connector, userid, vswitch, vlan):
    """Grant the guest on the vswitch, on the VLAN unless None.  Cost: one
    PUT /vswitches/{vswitch}."""
    # user_vlan_id grants too (SET VSWITCH GRANT userid VLAN n).
    change = ({'user_vlan_id': {'userid': userid, 'vlanid': vlan}}
              if vlan else {'grant_userid': userid})
    connector.put(f'/vswitches/{vswitch}', {'vswitch': change})


def revoke(connector, userid, vswitch):
    """Revoke the guest's grant on the vswitch (its VLANs with it).  Cost:
    one PUT /vswitches/{vswitch}."""
    connector.put(f'/vswitches/{vswitch}',
                  {'vswitch': {'revoke_userid': userid}})


def couple(connector, userid, vdev, vswitch, vlan, active):
    """Couple the NIC at vdev to the vswitch in the directory, and in CP
    too when active (the guest is logged on).  Cost: one PUT
    /guests/{userid}/nic/{vdev}."""
    connector.put(f'/guests/{userid}/nic/{vdev}',
                  {'info': {'couple': True, 'vswitch': vswitch,
                            'vlan_id': vlan or -1, 'active': active}})
