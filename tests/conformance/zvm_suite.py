# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What nova's conformance suite needs to boot a z/VM guest, for both z/VM
drivers (ours and nova's in-tree one)."""

import io
import uuid

from nova import objects
from nova.tests.unit import utils as test_utils

from tests import nova_zvm


def boot_request(case, obj=True, nics=1):
    """(instance, image_meta, network_info) for a spawn: the suite's
    instance, from an image z/VM can deploy (os_distro, and an image file
    with the connector's disk header), with nics ports."""
    image = case.image_service.create(case.ctxt, {
        'name': 'rhel-s390x', 'status': 'active', 'disk_format': 'raw',
        'container_format': 'bare',
        'properties': {'os_distro': nova_zvm.OS_DISTRO,
                       'architecture': 's390x'}},
        data=io.BytesIO(nova_zvm.image_data()))
    instance = test_utils.get_test_instance(obj=obj)
    instance['image_ref'] = image['id']
    # The suite's instance has no memory_mb, which the in-tree driver
    # sends as the guest's memory: the suite's flavor has it.
    instance['memory_mb'] = test_utils.get_test_flavor().memory_mb
    network_info = test_utils.get_test_network_info(count=nics)
    # The suite gives every port the same id and MAC.
    for index, vif in enumerate(network_info[1:], start=1):
        vif['id'] = str(uuid.uuid5(uuid.NAMESPACE_URL, f'port-{index}'))
        vif['address'] = f'fa:16:3e:00:01:{index:02x}'
    image_meta = objects.ImageMeta.from_dict(
        case.image_service.show(case.ctxt, image['id']))
    return instance, image_meta, network_info


def spawn_running(case, obj=True):
    """The suite's running instance; replaces its _get_running_instance."""
    instance, image_meta, network_info = boot_request(case, obj)
    case.connection.spawn(case.ctxt, instance, image_meta, [], 'herp',
                          {}, network_info=network_info)
    return instance, network_info
