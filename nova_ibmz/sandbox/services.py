# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Glance, Neutron and Cinder for Nova in one process: nova's own
in-memory stand-ins (nova.tests.fixtures), made to behave as a mainframe
cloud's services do.

- Neutron holds a flat and a VLAN provider network and binds each port as
  the network agent of its host would: networking-dpm (``dpm_vswitch``
  with the HMC virtual switch's object id) on a DPM host, the z/VM agent
  (``ovs`` with the vswitch name) on a z/VM host.
- Cinder answers with fibre-channel connections from the connector's
  WWPNs to the storage's target ports, and holds bootable volumes.
- Glance queues a snapshot until its data is uploaded, and keeps that
  data, so that a server can boot from a snapshot.

The sandbox and the functional tests use these same classes.
"""

import copy
import functools
import ipaddress
import itertools
import threading

import fixtures
from nova.network import model as network_model
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import glance as glance_fixture
from oslo_utils import uuidutils

from nova_ibmz.sandbox import seed


# Ports get addresses from .11 on: .1 is the gateway, the rest is the
# operator's.
FIRST_PORT_ADDRESS = 11


def _serialised(method):
    """The method under the stand-in's lock: nova's fixture keeps its
    ports in plain dicts that concurrent builds and deletes would change
    while another thread iterates them."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return locked


class Neutron(nova_fixtures.NeutronFixture):
    """Neutron with the given provider networks (no others), whose ports
    bind as the host's agent would: binder(host, network) returns the
    (vif_type, vif_details) of a port on network bound to host.  Safe for
    concurrent callers."""

    def __init__(self, test, networks, binder):
        super().__init__(test)
        self._lock = threading.RLock()
        self.binder = binder
        self.provider_networks = {n.id: n for n in networks}
        self._networks = {n.id: self._network(n) for n in networks}
        self._subnets = {n.subnet_id: self._subnet(n) for n in networks}
        self._ports = {}
        # hosts() starts at .1
        self._free_addresses = {
            n.id: itertools.islice(ipaddress.ip_network(n.cidr).hosts(),
                                   FIRST_PORT_ADDRESS - 1, None)
            for n in networks}

    def _network(self, net):
        network = copy.deepcopy(self.network_1)
        network.update({
            'id': net.id, 'name': net.name, 'subnets': [net.subnet_id],
            'shared': True, 'mtu': 1500,
            'provider:network_type': net.network_type,
            'provider:physical_network': 'provider',
            'provider:segmentation_id': net.vlan})
        return network

    def _subnet(self, net):
        subnet = copy.deepcopy(self.subnet_1)
        cidr = ipaddress.ip_network(net.cidr)
        subnet.update({
            'id': net.subnet_id, 'name': f'{net.name}-subnet',
            'network_id': net.id, 'cidr': net.cidr,
            'gateway_ip': str(cidr[1]),
            'allocation_pools': [{'start': str(cidr[FIRST_PORT_ADDRESS]),
                                  'end': str(cidr[-2])}]})
        return subnet

    @_serialised
    def create_port(self, body=None):
        """A port on the requested network, with the next free address of
        its subnet and a MAC in OpenStack's fa:16:3e range."""
        request = copy.deepcopy(body['port'])
        network_id = request['network_id']
        net = self.provider_networks[network_id]
        port = copy.deepcopy(self.default_port)
        port.update(request)
        port_id = uuidutils.generate_uuid()
        port.update({
            'id': port_id, 'network_id': network_id, 'status': 'DOWN',
            'mac_address': 'fa:16:3e:%02x:%02x:%02x' % tuple(
                bytes.fromhex(port_id.replace('-', ''))[:3]),
            'fixed_ips': [{'subnet_id': net.subnet_id,
                           'ip_address': str(next(
                               self._free_addresses[network_id]))}],
            'binding:vif_type': 'unbound', 'binding:vif_details': {}})
        self._ports[port_id] = port
        return {'port': copy.deepcopy(port)}

    def _bind_for(self, port_id, host):
        port = self._ports[port_id]
        vif_type, details = self.binder(
            host, self.provider_networks[port['network_id']])
        port.update({'binding:vif_type': vif_type,
                     'binding:vif_details': details, 'status': 'ACTIVE'})

    @_serialised
    def update_port(self, port_id, body=None):
        host = (body or {}).get('port', {}).get('binding:host_id')
        if host and port_id in self._ports:
            self._bind_for(port_id, host)
        return super().update_port(port_id, body)

    @_serialised
    def create_port_binding(self, port_id, body):
        if port_id in self._ports:
            self._bind_for(port_id, body['binding']['host'])
        return super().create_port_binding(port_id, body)

    # The rest of what reads or changes ports and their bindings.
    _fixture = nova_fixtures.NeutronFixture
    show_port = _serialised(_fixture.show_port)
    list_ports = _serialised(_fixture.list_ports)
    delete_port = _serialised(_fixture.delete_port)
    show_port_binding = _serialised(_fixture.show_port_binding)
    activate_port_binding = _serialised(_fixture.activate_port_binding)
    delete_port_binding = _serialised(_fixture.delete_port_binding)
    del _fixture


def vlan_details(net, **details):
    """Binding details of a port on net: its VLAN id on a VLAN network."""
    if net.vlan is not None:
        details[network_model.VIF_DETAILS_VLAN] = str(net.vlan)
    return details


class FCCinder(nova_fixtures.CinderFixture):
    """Cinder with an FC backend: every connection reaches the LUN through
    the storage's target ports from the connector's WWPNs."""

    def __init__(self, test, targets):
        super().__init__(test)
        self.targets = list(targets)

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'nova.volume.cinder.API.delete', side_effect=self.fake_delete,
            autospec=False))

    def fake_delete(self, context, volume_id):
        """Cinder deletes a volume Nova made for a server that is gone
        (delete_on_termination)."""
        self.volumes.pop(volume_id, None)

    def add_volume(self, name, size_gb, image_metadata=None):
        """A new available volume; bootable when image_metadata is given
        (as Cinder marks a volume it made from an image).  Returns its
        id."""
        volume_id = seed.stable_id(f'volume-{name}')
        volume = {'id': volume_id, 'display_name': name, 'size': size_gb,
                  'status': 'available', 'attach_status': 'detached',
                  'multiattach': False, 'availability_zone': self.az,
                  'bootable': bool(image_metadata)}
        if image_metadata:
            volume['volume_image_metadata'] = dict(image_metadata)
        self.volumes[volume_id] = volume
        return volume_id

    def _find_connection_info(self, volume_id, attachment_id):
        attachment = self.volume_to_attachment[volume_id][attachment_id]
        wwpns = (attachment.get('connector') or {}).get('wwpns', [])
        return {'driver_volume_type': 'fibre_channel', 'serial': volume_id,
                'data': {'volume_id': volume_id,
                         'attachment_id': attachment_id,
                         'target_discovered': False, 'target_lun': 1,
                         'target_wwn': list(self.targets),
                         'initiator_target_map': {
                             w: list(self.targets) for w in wwpns}}}

    def connected(self, volume_id):
        """The volume's attachments that have a host connector."""
        return [a for a in self.volume_to_attachment[volume_id].values()
                if a.get('connector')]

    def fake_get(self, context, volume_id, microversion=None):
        """A seeded volume is in use while it has an attachment with a
        host connector, as in Cinder."""
        volume = copy.deepcopy(super().fake_get(context, volume_id,
                                                microversion))
        if volume_id in self.volumes and self.connected(volume_id):
            volume.update(status='in-use', attach_status='attached')
        return volume

    def fake_reimage_volume(self, context, volume_id, image_id,
                            reimage_reserved=False):
        """Re-image the volume, then tell Nova as Cinder does."""
        super().fake_reimage_volume(context, volume_id, image_id,
                                    reimage_reserved=reimage_reserved)
        [server_id] = {a['instance_uuid'] for a in
                       self.volume_to_attachment[volume_id].values()}
        self.test.admin_api.api_post('/os-server-external-events', {
            'events': [{'name': 'volume-reimaged', 'tag': volume_id,
                        'server_uuid': server_id}]})


def glance_keeps_uploads(test):
    """nova's GlanceFixture makes every new image active and drops data
    uploaded after the image was created.  Glance queues an image made
    without data (a snapshot, until the driver uploads it) and keeps what
    is uploaded: a client can wait for a snapshot, then boot from it."""
    original_create = glance_fixture.GlanceFixture.create
    original_update = glance_fixture.GlanceFixture.update

    def create(fixture, context, metadata, data=None):
        if data is None:
            metadata.setdefault('status', 'queued')
        return original_create(fixture, context, metadata, data=data)

    def update(fixture, context, image_id, metadata, data=None,
               purge_props=False):
        if data is not None:
            fixture._imagedata[image_id] = data.read()
            metadata = dict(metadata, status='active')
        return original_update(fixture, context, image_id, metadata,
                               purge_props=purge_props)
    test.stub_out('nova.tests.fixtures.GlanceFixture.create', create)
    test.stub_out('nova.tests.fixtures.GlanceFixture.update', update)
