# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The names and marks of what OpenStack makes on an HMC.

A CPC runs other workloads next to OpenStack, so a compute host recognises
its own partitions by two marks it sets when it creates them (the retired
nova-dpm's conventions): the name "OpenStack-<host>-<instance uuid>" and a
description starting "OpenStack CPCSubset=<host>".  A partition that lacks
either mark is foreign and is never changed.

A NIC made for a Neutron port is named "OpenStack_Port_<port id>" and
described "OpenStack mac=<mac>, CPCSubset=<host>": the DPM Neutron agent
finds the NICs of its host's ports by that description, as
networking-dpm's agent did.
"""

import re

NAME_PREFIX = 'OpenStack'
UUID_RE = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
# The HMC's limit for partition and storage group names.
MAX_NAME = 64
_MAC_RE = '[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}'


# -- partitions (and their storage groups) -----------------------------------

def partition_name(host, instance_uuid):
    return f'{NAME_PREFIX}-{host}-{instance_uuid}'


def name_filter(host):
    """Regex for the HMC's name filter (matched against the whole name)."""
    return f'{re.escape(NAME_PREFIX)}-{re.escape(host)}-.*'


def _owned_name(host):
    return f'{re.escape(NAME_PREFIX)}-{re.escape(host)}-{UUID_RE}'


def description(host, instance_name):
    return f'{_description_mark(host)} Instance={instance_name}'


def _description_mark(host):
    return f'{NAME_PREFIX} CPCSubset={host}'


def _description_fields(text):
    if not text.startswith(NAME_PREFIX + ' '):
        return {}
    return dict(f.split('=', 1) for f in text.split()[1:] if '=' in f)


def is_owned(props, host):
    """True if the partition (or storage group) with these properties
    belongs to host: named "OpenStack-<host>-<uuid>", and described as
    starting "OpenStack CPCSubset=<host>" (then a space, or nothing)."""
    name_ok = re.fullmatch(_owned_name(host), props.get('name', ''))
    text = props.get('description') or ''
    mark = _description_mark(host)
    return bool(name_ok) and (text == mark or text.startswith(mark + ' '))


def instance_uuid(props, host):
    """The Nova instance uuid an owned partition's name carries."""
    return props['name'][len(partition_name(host, '')):]


def instance_name(props):
    """The Nova instance name recorded in an owned partition."""
    return _description_fields(props.get('description') or '').get(
        'Instance')


# -- NICs ----------------------------------------------------------------

def nic_name(port_id):
    return f'{NAME_PREFIX}_Port_{port_id}'


def nic_description(host, mac):
    """mac: aa:bb:cc:dd:ee:ff, lower case."""
    return f'{NAME_PREFIX} mac={mac}, CPCSubset={host}'


def nic_mac(props, host):
    """The MAC (lower case) that the NIC's description gives, if the NIC
    is one host made for a port: its description names host exactly.
    None for every other NIC (another host's, another workload's)."""
    match = re.fullmatch(
        rf'{re.escape(NAME_PREFIX)} mac=({_MAC_RE}), '
        rf'CPCSubset={re.escape(host)}',
        (props.get('description') or '').strip())
    return match.group(1).lower() if match else None
