# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What both drivers read from Cinder's fibre-channel connection info."""

import dataclasses

from nova_ibmz.common.exception import InstanceSetupError

FC = 'fibre_channel'


def connection_data(owner, connection_info, guests):
    """The data of a fibre-channel connection; any other volume type is
    refused for owner (an instance uuid or a userid), saying that guests
    ('DPM partitions', ...) reach volumes over FC only."""
    connection_info = connection_info or {}
    kind = connection_info.get('driver_volume_type')
    if kind != FC:
        raise InstanceSetupError(
            owner, f'volume {connection_info.get("serial")} is connected as '
            f'{kind!r}; {guests} reach volumes over fibre channel only '
            f'({FC!r})')
    return connection_info.get('data') or {}


def normal_wwpn(text):
    return text.lower().replace(':', '').removeprefix('0x')


def fcp_lun(lun):
    """A SCSI LUN number as the 16 hex digits of an FCP LUN (SAM-2: the
    first level is the first two bytes, so LUN 1 is 0001000000000000)."""
    return ''.join(f'{(int(lun) >> (16 * level)) & 0xffff:04x}'
                   for level in range(4))


def as_list(value):
    """A value Cinder gives as one item or a list, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclasses.dataclass(frozen=True)
class Targets:
    """The storage targets of a connection, as the initiators see them:
    Cinder's initiator -> target map (with a zone manager) says which
    targets each initiator sees; without one, each sees every target."""

    by_initiator: dict
    everywhere: list

    def seen_by(self, wwpn):
        if self.by_initiator:
            return self.by_initiator.get(normal_wwpn(wwpn), [])
        return self.everywhere

    def __str__(self):
        return str(self.by_initiator or self.everywhere)


def targets(data):
    """The Targets of a connection's data (normalised WWPNs)."""
    return Targets(
        {normal_wwpn(k): [normal_wwpn(t) for t in as_list(v)]
         for k, v in (data.get('initiator_target_map') or {}).items()},
        [normal_wwpn(t) for t in as_list(data.get('target_wwn'))])
