# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""ML2 mechanism drivers for IBM Z: ``ibmz_dpm`` and ``ibmz_zvm``.

Each binds a port of a flat or VLAN network on a host whose agent is
alive and maps the segment's physical network; otherwise the port ends
``binding_failed``.  The mapping comes from the agent's reported
``configurations`` (what ``openstack network agent show`` lists), so a
binding costs no request to the HMC or a Cloud Connector: ML2 reads the
host's agents from its database, and the drivers only look at them.

What the agents report, and what the bindings carry:

DPM, agent type ``DPM agent`` (one agent per CPC subset; its host is the
compute host's), vif_type ``dpm_vswitch``:

- ``adapter_mappings``: ``{physnet: [virtual switch object-id]}``, as
  networking-dpm reported it.  Binds with vif_details ``object_id`` (the
  virtual switch's object-id, what nova_ibmz/dpm/network.py reads).
- ``network_port_mappings``: ``{physnet: [{"uri": network port URI,
  "index": port index}]}``, for a CPC without virtual switches (z17
  network-express adapters: a NIC names its adapter port by the URI
  ``/api/adapters/<adapter object-id>/network-ports/<element-id>``).
  Binds with vif_details ``network_adapter_port_uri`` and
  ``adapter_port`` (the index, which the guest image tools need).

  A physical network in both takes its virtual switch; only the first
  entry of a list is bound (networking-dpm allowed one per network).

z/VM, agent type ``z/VM agent`` (one per z/VM system or SSI member),
vif_type ``zvm``:

- ``vswitch_mappings``: ``{physnet: vswitch name}``, as networking-zvm
  reported it.  Binds with vif_details ``vswitch`` (what
  nova_ibmz/zvm/network.py reads).

Both add ``vlan`` (the segmentation id) on VLAN segments,
``port_filter: False`` (no agent filters traffic) and ``connectivity:
l2``.
"""

from neutron.plugins.ml2.drivers import mech_agent
from neutron_lib.api.definitions import portbindings
from neutron_lib import constants
from neutron_lib.plugins.ml2 import api

DPM_AGENT_TYPE = 'DPM agent'
DPM_VIF_TYPE = 'dpm_vswitch'
ZVM_AGENT_TYPE = 'z/VM agent'
ZVM_VIF_TYPE = 'zvm'


class _MappedAgentDriver(mech_agent.SimpleAgentMechanismDriverBase):
    """An agent's mapping of physical networks, read as the vif_details
    each one binds with: get_mappings() gives {physnet: details}."""

    def __init__(self, agent_type, vif_type):
        super().__init__(agent_type, vif_type,
                         {portbindings.CAP_PORT_FILTER: False})

    @property
    def connectivity(self):
        # A NIC is a layer-2 port of an OSA or a vswitch: ML2 then binds
        # ports that have no IP address too (a network without subnet).
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent=None):
        return [constants.TYPE_FLAT, constants.TYPE_VLAN]

    def get_vif_details(self, context, agent, segment):
        # A copy per binding: the base's dict is shared by every port.
        details = dict(self.vif_details)
        details.update(self.get_mappings(agent)[segment[api.PHYSICAL_NETWORK]])
        if segment[api.NETWORK_TYPE] == constants.TYPE_VLAN:
            details[portbindings.VIF_DETAILS_VLAN] = segment[
                api.SEGMENTATION_ID]
        return details


def _first(entries):
    """The first entry of an agent's list for a physical network, or
    None for anything else (an empty list maps nothing)."""
    return entries[0] if isinstance(entries, list) and entries else None


class DPMMechanismDriver(_MappedAgentDriver):
    """Binds ports to a DPM agent's virtual switches or network ports."""

    def __init__(self):
        super().__init__(DPM_AGENT_TYPE, DPM_VIF_TYPE)

    def get_mappings(self, agent):
        configurations = agent['configurations']
        mappings = {}
        for physnet, entries in (
                configurations.get('network_port_mappings') or {}).items():
            port = _first(entries)
            # Both or nothing: a guessed port index would boot a guest
            # that configures the wrong port.
            if (isinstance(port, dict) and port.get('uri')
                    and isinstance(port.get('index'), int)):
                mappings[physnet] = {
                    'network_adapter_port_uri': port['uri'],
                    'adapter_port': port['index']}
        for physnet, entries in (
                configurations.get('adapter_mappings') or {}).items():
            vswitch = _first(entries)
            if vswitch:
                mappings[physnet] = {'object_id': vswitch}
        return mappings


class ZVMMechanismDriver(_MappedAgentDriver):
    """Binds ports to a z/VM agent's vswitches."""

    def __init__(self):
        super().__init__(ZVM_AGENT_TYPE, ZVM_VIF_TYPE)

    def get_mappings(self, agent):
        vswitches = agent['configurations'].get('vswitch_mappings') or {}
        return {physnet: {'vswitch': vswitch}
                for physnet, vswitch in vswitches.items() if vswitch}
