# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the sandbox's cloud holds when it starts, by name: flavors, the
images, the provider networks and the volumes.  Plain data, so that API
clients (the demo) and both modes of the sandbox can name them without
importing Nova."""

import dataclasses
import uuid

from nova_ibmz.sim.zvm import images as zvm_images

# Seeded resources get the same uuid in every run, so that a user's
# scripts and the printed examples keep working.
_NAMESPACE = uuid.UUID('5f0a1d4e-8c1b-4c55-9d0e-6e6f76612d7a')


def stable_id(name):
    return str(uuid.uuid5(_NAMESPACE, name))


IMAGE_NAME = 'rhel-s390x'
OS_DISTRO = 'rhel8.6'
# What the z/VM driver reads of the image (its guest's OS, and the
# scheduler's hypervisor filter keeps it off DPM hosts).
IMAGE_PROPERTIES = {'os_distro': OS_DISTRO, 'architecture': 's390x',
                    'hypervisor_type': 'zvm'}
# The root file system of the image, as a z/VM disk dump (3338 cylinders:
# a 3390-3) behind the header the connector's creatediskimage writes.
IMAGE_DATA = zvm_images.header(3338) + b'rhel 8.6 s390x root\n' * 64
IMAGE_ID = stable_id(f'image-{IMAGE_NAME}')
# The image of DPM servers' boot volumes (a partition boots from a SCSI
# LUN): Cinder copies its properties into each volume made from it, where
# the scheduler reads hypervisor_type to keep the volume's server off z/VM.
DPM_IMAGE_NAME = 'rhel-dpm'
DPM_IMAGE_PROPERTIES = {'os_distro': OS_DISTRO, 'architecture': 's390x',
                        'hypervisor_type': 'prsm'}
# A raw disk, as written to a LUN (no z/VM header).
DPM_IMAGE_DATA = b'rhel 8.6 s390x scsi root\n' * 64
DPM_IMAGE_ID = stable_id(f'image-{DPM_IMAGE_NAME}')
# name: (vCPUs, memory MiB, root disk GiB).  A z/VM root minidisk grows
# only on its own SSI member: resizing z1.small to z1.medium may move the
# guest to the other member, to z1.large it stays where it is.
FLAVORS = {'z1.small': (1, 2048, 5), 'z1.medium': (2, 4096, 5),
           'z1.large': (4, 8192, 10)}
SMALL_FLAVOR = 'z1.small'
# A resize the scheduler may send to either SSI member (same root disk).
RESIZE_FLAVOR = 'z1.medium'
# A volume Cinder made from the DPM image (FCP boot), with the image's
# properties and name as Cinder copies them, and two empty ones to attach.
BOOT_VOLUME = 'rhel-dpm-boot'
BOOT_VOLUME_GB = 10
BOOT_VOLUME_METADATA = dict(DPM_IMAGE_PROPERTIES, image_name=DPM_IMAGE_NAME,
                            image_id=DPM_IMAGE_ID)
DATA_VOLUMES = ('data-1', 'data-2')
# The storage array's two target ports, behind which every LUN sits.
STORAGE_TARGETS = ('500507680b215660', '500507680b225660')


@dataclasses.dataclass(frozen=True)
class ProviderNetwork:
    """A Neutron provider network with one IPv4 subnet.  Neutron chooses
    its id, and keeps it: the sandbox's Neutron database outlives it."""

    name: str
    network_type: str           # 'flat' or 'vlan'
    cidr: str
    vlan: int | None = None


# The physical network of the provider networks, which every host's network
# agent maps to the host's virtual switch.
PHYSNET = 'provider'
FLAT = ProviderNetwork('flat', 'flat', '10.10.0.0/24')
VLAN = ProviderNetwork('vlan-100', 'vlan', '10.20.0.0/24', vlan=100)
NETWORKS = (FLAT, VLAN)
