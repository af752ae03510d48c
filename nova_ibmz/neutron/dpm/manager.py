# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The NICs of one CPC subset's partitions, as the shared agent loop
(nova_ibmz.neutron.agent.loop) sees devices.

A device is a NIC the subset's compute host made for a Neutron port, on a
mapped virtual switch (or, on a CPC without virtual switches, a mapped
adapter port), named by the port's MAC: the DPM driver describes the NIC
"OpenStack mac=<mac>, CPCSubset=<host>" (nova_ibmz.hmc.naming), as
networking-dpm's agent expected, and ML2's RPC resolves a MAC to its
port.  A NIC of another workload, or of another subset's host on the
same virtual switch, is no device: it is read once and then ignored.

Read-only: nothing here changes, creates or deletes anything on the HMC.
A NIC that goes stops being a device, and the loop reports its port down.
A device whose NICs are all new since the look before (the DPM driver's
rebuild deletes a partition's NICs and makes them again) is replaced():
the loop reports its port up again.

Cost per polling interval (devices()): one request per mapped virtual
switch (Get Connected VNICs of a Virtual Switch: the URIs of its NICs),
or on a CPC without virtual switches one in all (the subset's partitions
with their NIC URIs), plus one per NIC not seen before (its properties,
kept by URI while the NIC exists: a NIC's description and backing do not
change).  plug() and unplug() cost nothing.
"""

from oslo_log import log as logging
import zhmcclient

from nova_ibmz.hmc import naming
from nova_ibmz.neutron import ml2
from nova_ibmz.neutron.dpm import mappings

LOG = logging.getLogger(__name__)
BINARY = 'neutron-ibmz-dpm-agent'


class DPMManager:
    """The devices of one CPC subset for the agent loop.

    session: an HMC session that this manager alone uses (devices() runs
    in the loop's polling thread), cpc: the zhmcclient Cpc, targets: the
    checked mappings (mappings.check).
    """

    agent_type = ml2.DPM_AGENT_TYPE
    binary = BINARY

    def __init__(self, config, cpc, targets):
        self._config = config
        self._cpc = cpc
        self._targets = {t.mapping.physnet: t for t in targets}
        self._backings = {t.backing_uri for t in targets}
        self._by_port = any(t.vswitch_id is None for t in targets)
        # NIC URI -> (MAC of this host's NIC or None, its backing URI)
        self._nics = {}
        # device -> {NIC URI: its backing URI}, at the last devices()
        self._devices = {}
        self._replaced = set()

    def configurations(self):
        """The translated mappings, which ml2.DPMMechanismDriver binds
        with: {"adapter_mappings": {physnet: [virtual switch object-id]}}
        as networking-dpm reported them, or on a CPC without virtual
        switches {"network_port_mappings": {physnet: [{"uri": adapter
        port URI, "index": port index}]}}."""
        if self._by_port:
            return {'network_port_mappings': {
                physnet: [{'uri': t.port_uri, 'index': t.mapping.port}]
                for physnet, t in self._targets.items()}}
        return {'adapter_mappings': {physnet: [t.vswitch_id]
                                     for physnet, t in self._targets.items()}}

    def devices(self):
        """The MACs of this host's NICs on the mapped backings (see the
        module for the cost).  HMCError if the HMC fails a listing."""
        listed = self._nic_uris()
        for uri in listed:
            # Kept as read, one by one: a listing that fails half-way
            # does not cost the NICs read so far again.
            if uri not in self._nics:
                nic = self._read(uri)
                if nic is not None:     # not gone since the listing
                    self._nics[uri] = nic
        listed = set(listed)
        self._nics = {u: n for u, n in self._nics.items() if u in listed}
        devices = {}
        for uri, (mac, backing) in self._nics.items():
            if mac is not None and backing in self._backings:
                devices.setdefault(mac, {})[uri] = backing
        # A rebuild deletes a partition's NICs and makes them again.
        self._replaced = {mac for mac, nics in devices.items()
                          if self._devices.get(mac, nics).keys().isdisjoint(
                              nics)}
        self._devices = devices
        return set(devices)

    def replaced(self):
        """The devices whose NICs at the last devices() are all others
        than at the one before.  Cost: none."""
        return set(self._replaced)

    def plug(self, device, details):
        """True if the device's NIC is on what its port's physical network
        maps to: the DPM driver connects the NIC, so nothing is done."""
        physnet = details.get('physical_network')
        target = self._targets.get(physnet)
        if target is None:
            LOG.warning('Port %s (MAC %s) is on physical network %s, which '
                        'this agent does not map: not reported up',
                        details.get('port_id'), device, physnet)
            return False
        backings = set(self._devices.get(device, {}).values())
        if target.backing_uri in backings:
            return True
        LOG.warning('Port %s (MAC %s) is bound to physical network %s '
                    '(%s), but its NIC is on %s: not reported up',
                    details.get('port_id'), device, physnet,
                    target.backing_uri, ', '.join(sorted(backings)))
        return False

    def unplug(self, device):
        """Nothing to forget beyond what the next devices() drops, and
        nothing to do on the HMC: the DPM driver deletes NICs."""

    def _nic_uris(self):
        """The URIs of the NICs on the mapped backings (on a CPC without
        virtual switches: of the subset's partitions)."""
        call = mappings.hmc_call
        if self._by_port:
            partitions = call(
                self._config, f'listing the partitions of host '
                f'{self._config.host}', self._cpc.partitions.list,
                filter_args={'name': naming.name_filter(self._config.host)},
                additional_properties=['nic-uris'])
            return [uri for p in partitions
                    for uri in p.properties.get('nic-uris', ())]
        uris = []
        for target in self._targets.values():
            vswitch = self._cpc.virtual_switches.resource_object(
                target.vswitch_id)
            nics = call(self._config, f'listing the NICs of virtual switch '
                        f'{target.vswitch_id}', vswitch.get_connected_nics)
            uris.extend(nic.uri for nic in nics)
        return uris

    def _read(self, uri):
        """(MAC if the NIC is this host's, backing URI), or None if the NIC
        is gone.  One request."""
        session = self._cpc.manager.session
        try:
            props = mappings.hmc_call(self._config, f'reading NIC {uri}',
                                      session.get, uri)
        except zhmcclient.HTTPError as e:
            if e.http_status == 404:
                return None
            raise
        return (naming.nic_mac(props, self._config.host),
                props.get('virtual-switch-uri') or
                props.get('network-adapter-port-uri'))
