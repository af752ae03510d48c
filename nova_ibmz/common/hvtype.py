# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""An image's hypervisor_type property against the host's hypervisor.

Nova's ImagePropertiesFilter keeps an image (or a boot volume's image
metadata) with hypervisor_type = zvm off DPM hosts and the reverse, but
an administrator who forces a host skips the filters: the driver checks
again, before it makes anything.
"""

from nova import utils

from nova_ibmz.common.exception import InstanceSetupError


def of_instance(instance):
    """The hypervisor_type of the instance's image, which Nova keeps with
    the instance (also before spawn, when only the instance is given)."""
    return instance.system_metadata.get(
        utils.SM_IMAGE_PROP_PREFIX + 'hypervisor_type')


def check(instance, wanted, hv_type, hypervisor):
    """Refuse the instance's image if its hypervisor_type (wanted) names
    another hypervisor than hv_type (nova.objects.fields.HVType), the one
    of hypervisor (what this host runs, for the message).  Cost: no
    request."""
    if wanted and wanted.lower() != hv_type:
        raise InstanceSetupError(
            instance.uuid, f'image property hypervisor_type is {wanted!r} '
            f'(of the image, or of the boot volume\'s image metadata): this '
            f'host runs {hypervisor} ({hv_type!r}); boot it on a host of '
            f'that hypervisor, or correct the property')
