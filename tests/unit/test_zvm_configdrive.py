# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The config drive a z/VM guest boots with: iso9660 written by pycdlib,
read back as cloud-init reads it (Rock Ridge names)."""

import base64
import io
import json

from nova import context as nova_context
from nova import objects
from nova.tests.unit import fake_instance
from nova.network import model as net_model
import pycdlib
import pytest

from nova_ibmz.zvm import configdrive
from tests.unit import test_zvm_network

objects.register_all()


@pytest.fixture
def instance(monkeypatch):
    # Nova asks Neutron for the security groups the metadata lists.
    monkeypatch.setattr(
        'nova.network.security_group_api.get_instance_security_groups',
        lambda context, instance, detailed=False: [])
    # and the database for its block devices.
    monkeypatch.setattr('nova.objects.Instance.get_bdms',
                        lambda self: objects.BlockDeviceMappingList())
    ctxt = nova_context.get_admin_context()
    instance = fake_instance.fake_instance_obj(
        ctxt, hostname='web-1', key_data=None,
        metadata={'role': 'web'}, system_metadata={},
        launched_at=None, display_name='web-1')
    instance.ec2_ids = objects.EC2Ids(instance_id='i-00000001',
                                      ami_id='ami-00000001',
                                      kernel_id=None, ramdisk_id=None)
    instance.keypairs = objects.KeyPairList(objects=[])
    instance.device_metadata = None
    instance.numa_topology = None
    instance.metadata = {'role': 'web'}
    instance.user_data = base64.b64encode(
        b'#cloud-config\nruncmd: []\n').decode()
    instance.system_metadata = {}
    instance.trusted_certs = None
    return instance


def read(iso, path):
    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, rr_path=path)
    return out.getvalue()


def test_config_drive_holds_metadata_files_password_and_network(
        instance, tmp_path):
    path = tmp_path / 'cfgdrive.iso'
    network_info = net_model.NetworkInfo([test_zvm_network.flat_vif()])
    configdrive.build(instance, str(path),
                      [('/etc/motd', b'managed by nova-ibmz\n')],
                      network_info, 'secret-pass')
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        assert iso.pvd.volume_identifier.rstrip(b' ') == b'config-2'
        meta = json.loads(read(iso, '/openstack/latest/meta_data.json'))
        assert meta['uuid'] == instance.uuid
        assert meta['hostname'].startswith('web-1')
        assert meta['admin_pass'] == 'secret-pass'
        assert meta['meta'] == {'role': 'web'}
        [injected] = meta['files']
        assert injected['path'] == '/etc/motd'
        assert read(iso, '/openstack/' + injected['content_path'].lstrip(
            '/')) == b'managed by nova-ibmz\n'
        assert read(iso, '/openstack/latest/user_data') == \
            b'#cloud-config\nruncmd: []\n'
        network = json.loads(read(iso,
                                  '/openstack/latest/network_data.json'))
        assert [link['ethernet_mac_address'] for link in network['links']] \
            == [vif['address'] for vif in network_info]
        # The Joliet tree has the same names.
        joliet = io.BytesIO()
        iso.get_file_from_iso_fp(
            joliet, joliet_path='/openstack/latest/meta_data.json')
        assert json.loads(joliet.getvalue())['uuid'] == instance.uuid
    finally:
        iso.close()
