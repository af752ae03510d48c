# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Neutron ports as partition NICs (the seed's "Neutron Integration" spec).

A port bound by the DPM mechanism driver (nova_ibmz.neutron.ml2, as
networking-dpm bound it) has vif_type ``dpm_vswitch``, and its binding
details carry the object id of the HMC virtual switch in ``object_id``.
On a CPC without virtual switches (z17's network-express adapters) they
carry the network adapter port's URI and index instead
(``network_adapter_port_uri``, ``adapter_port``): the NIC is made on that
port.  The NIC's description "OpenStack mac=<mac>, CPCSubset=<host>"
(hmc.naming) is how the DPM agent finds the NIC of a port.

An OSA NIC's MAC address is chosen by the HMC, so the guest sets Neutron's
MAC itself: the DPM guest image tools read "<devno>,<port>,<mac>;" per NIC
from the kernel command line, which the partition's
``boot-os-specific-parameters`` (at most 256 characters) becomes.
"""

import dataclasses

from nova_ibmz.common.exception import InstanceSetupError
from nova_ibmz.hmc import naming

VIF_TYPE = 'dpm_vswitch'
# NIC device numbers are ours to choose, so we know them without asking the
# HMC.  A qeth NIC takes three consecutive numbers (read, write, data); a
# step of four keeps each NIC's group apart and aligned.
FIRST_NIC_DEVNO = 0x1000
NIC_DEVNO_STEP = 4
MAX_BOOT_PARAMETERS = 256


@dataclasses.dataclass(frozen=True)
class NicSpec:
    """One NIC to create for one Neutron port."""

    port_id: str
    mac: str            # aa:bb:cc:dd:ee:ff
    vswitch_id: str | None     # or, without virtual switches:
    devno: str          # four hex digits
    vlan: int | None = None
    adapter_port_uri: str | None = None
    adapter_port: int | None = None

    @property
    def name(self):
        return naming.nic_name(self.port_id)

    def properties(self, host):
        """The body of Create NIC."""
        props = {
            'name': self.name,
            'description': naming.nic_description(host, self.mac),
            'device-number': self.devno,
        }
        if self.vswitch_id:
            props['virtual-switch-uri'] = \
                f'/api/virtual-switches/{self.vswitch_id}'
        else:
            props['network-adapter-port-uri'] = self.adapter_port_uri
        if self.vlan is not None:
            props.update({'vlan-id': self.vlan, 'vlan-type': 'enforced'})
        return props

    def boot_entry(self, adapter_port):
        """This NIC's "<devno>,<port>,<mac>;" for the guest image tools."""
        return f'{self.devno},{adapter_port},{self.mac.replace(":", "")};'


def nic_specs(instance, network_info):
    """The NICs for the instance's ports, in port order."""
    specs = []
    for index, vif in enumerate(network_info or []):
        if vif.get('type') != VIF_TYPE:
            raise InstanceSetupError(
                instance.uuid, f'port {vif.get("id")} has vif_type '
                f'{vif.get("type")!r}; a DPM partition attaches only ports '
                f'bound as {VIF_TYPE!r} (networking-dpm)')
        details = vif.get('details') or {}
        port_uri = details.get('network_adapter_port_uri')
        if not details.get('object_id') and not (
                port_uri and isinstance(details.get('adapter_port'), int)):
            raise InstanceSetupError(
                instance.uuid, f'port {vif.get("id")}: its binding details '
                'name no virtual switch (object_id), nor a network adapter '
                'port (network_adapter_port_uri and adapter_port)')
        vlan = details.get('vlan')
        specs.append(NicSpec(
            port_id=vif['id'], mac=vif['address'].lower(),
            vswitch_id=details.get('object_id'),
            devno=f'{FIRST_NIC_DEVNO + index * NIC_DEVNO_STEP:04x}',
            vlan=int(vlan) if vlan not in (None, '') else None,
            adapter_port_uri=None if details.get('object_id') else port_uri,
            adapter_port=None if details.get('object_id') else
            details['adapter_port']))
    return specs


def boot_parameters(instance, specs, adapter_ports):
    """boot-os-specific-parameters for the NICs, or a clear error.

    adapter_ports maps a virtual switch object id to its adapter port (a
    NIC on a network adapter port has its index already).  The whole
    string counts against the HMC's limit, not one entry: at 20
    characters an entry, 12 NICs fit.
    """
    for spec in specs:
        if spec.vswitch_id and spec.vswitch_id not in adapter_ports:
            raise InstanceSetupError(
                instance.uuid, f'port {spec.port_id}: virtual switch '
                f'{spec.vswitch_id} does not exist on the CPC')
    text = ''.join(s.boot_entry(adapter_ports[s.vswitch_id]
                                if s.vswitch_id else s.adapter_port)
                   for s in specs)
    if len(text) > MAX_BOOT_PARAMETERS:
        raise InstanceSetupError(
            instance.uuid, f'{len(specs)} NICs need {len(text)} characters '
            f'of boot-os-specific-parameters; the HMC takes '
            f'{MAX_BOOT_PARAMETERS}, so at most '
            f'{MAX_BOOT_PARAMETERS // len(specs[0].boot_entry(0))} NICs '
            'fit')
    return text
