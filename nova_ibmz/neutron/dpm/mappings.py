# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""physical_network_adapter_mappings checked against the HMC, at start.

Each mapping must name a network adapter of the configured CPC, of type
osd (OSA) or hipersockets, a port it has, and the virtual switch of that
port, which is what a port on the physical network binds to and what the
DPM driver connects its NIC to.  A CPC without virtual switches (z17 and
later: the CPC's API feature "network-express-support") binds to the
adapter port itself, and there a Network Express adapter (family
network-express) is a network adapter too.  A wrong mapping is refused
with a one-line ConfigError naming it; the agent does not start.

Only reads: the agent never changes anything on the HMC.
"""

import dataclasses

import zhmcclient

from nova_ibmz.hmc import errors
from nova_ibmz.neutron.dpm import options

NETWORK_TYPES = ('osd', 'hipersockets')
NETWORK_EXPRESS = 'network-express'
# The CPC's API feature that says it has no virtual switches: NICs name
# their adapter port (network-adapter-port-uri) instead.
NO_VSWITCHES_FEATURE = 'network-express-support'


@dataclasses.dataclass(frozen=True)
class Target:
    """What a mapping's physical network binds to on the HMC."""

    mapping: options.Mapping
    adapter_name: str
    port_uri: str
    vswitch_id: str = None      # None on a CPC without virtual switches

    @property
    def backing_uri(self):
        """What a NIC on it names: its virtual-switch-uri, or else its
        network-adapter-port-uri."""
        if self.vswitch_id is None:
            return self.port_uri
        return f'/api/virtual-switches/{self.vswitch_id}'

    def __str__(self):
        return (f'{self.mapping.physnet} -> '
                f'{self.vswitch_id or self.port_uri} (port '
                f'{self.mapping.port} of {self.adapter_name})')


def hmc_call(config, what, func, *args, **kwargs):
    """func(...), an HMC call of the agent's, its failures sorted
    (nova_ibmz.hmc.errors; a 404 stays zhmcclient.HTTPError)."""
    return errors.call(config.endpoint, what, config.hmc_username, func,
                       *args, **kwargs)


def _pulled(config, what, resource):
    """Read the resource's properties: False if the HMC has no such
    resource (404).  One request."""
    try:
        hmc_call(config, what, resource.pull_full_properties)
    except zhmcclient.CeasedExistence:     # zhmcclient's word for a 404
        return False
    return True


def check(client, config):
    """(the CPC, a Target per mapping), or ConfigError for the first wrong
    one.  HMC errors other than a 404 reach the caller (errors.HMCError).

    Cost: 2 requests for the CPC (its properties, its API features), 1 for
    its virtual switches (with their adapter and port, in the list), and
    per mapping 1 for the adapter and 1 per port it has (at most 2).
    """
    cpc_id = config.cpc_object_id
    cpc = client.cpcs.resource_object(cpc_id)
    if not _pulled(config, f'reading CPC {cpc_id}', cpc):
        raise options.ConfigError(f'[dpm] cpc_object_id: the HMC '
                                  f'{config.endpoint} has no CPC {cpc_id}')
    if not cpc.properties.get('dpm-enabled'):
        raise options.ConfigError(f'[dpm] cpc_object_id: CPC {cpc.name} '
                                  f'({cpc_id}) is not in DPM mode')
    without_vswitches = hmc_call(
        config, f'reading the API features of CPC {cpc.name}',
        cpc.api_feature_enabled, NO_VSWITCHES_FEATURE)
    vswitches = {}
    if not without_vswitches:
        listed = hmc_call(config, f'listing the virtual switches of CPC '
                          f'{cpc.name}', cpc.virtual_switches.list,
                          additional_properties=['backing-adapter-uri',
                                                 'port'])
        vswitches = {(v.properties['backing-adapter-uri'],
                      v.properties['port']): v for v in listed}
    return cpc, tuple(_target(config, cpc, mapping, vswitches,
                              without_vswitches)
                      for mapping in config.mappings)


def _target(config, cpc, mapping, vswitches, without_vswitches):
    adapter = cpc.adapters.resource_object(mapping.adapter_id)
    if not _pulled(config, f'reading adapter {mapping.adapter_id}', adapter):
        raise mapping.wrong(f'the HMC has no adapter {mapping.adapter_id}')
    props = adapter.properties
    name = props.get('name', mapping.adapter_id)
    if props.get('parent') != cpc.uri:
        raise mapping.wrong(f'adapter {name} is not an adapter of CPC '
                            f'{cpc.name}')
    kind = props.get('type')
    if kind not in NETWORK_TYPES and not (
            without_vswitches and
            props.get('adapter-family') == NETWORK_EXPRESS):
        raise mapping.wrong(f'adapter {name} is of type {kind}; a mapping '
                            'needs an OSA (osd) or HiperSockets adapter')
    ports = hmc_call(config, f'reading the ports of adapter {name}',
                     adapter.ports.list, full_properties=True)
    port = next((p for p in ports
                 if p.properties.get('index') == mapping.port), None)
    if port is None:
        raise mapping.wrong(f'adapter {name} has no port {mapping.port}')
    if without_vswitches:
        return Target(mapping, name, port.uri)
    vswitch = vswitches.get((adapter.uri, mapping.port))
    if vswitch is None:
        raise mapping.wrong(f'CPC {cpc.name} has no virtual switch for '
                            f'port {mapping.port} of adapter {name}')
    return Target(mapping, name, port.uri, vswitch.uri.rsplit('/', 1)[1])
