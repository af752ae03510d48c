# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Topology files in, state files out: zhmcclient's HMC definition format.

A topology is what ``FakedSession.from_hmc_yaml`` reads.  The simulator
adds one thing: a console user may carry a ``password``, which is taken out
before the faked HMC sees it (the HMC never returns passwords).  The state
file (nova_ibmz.sim.statefile) holds the same format in JSON (a YAML subset
that is fast to write), with the simulator's own state (jobs, OS messages,
events) beside it.
"""

import copy
import uuid

import yaml

# Child resource managers of the faked resources, by the attribute name
# that the HMC definition format uses for them.
CHILD_ATTRS = ('consoles', 'cpcs', 'users', 'user_roles', 'user_patterns',
               'password_rules', 'tasks', 'storage_groups', 'adapters',
               'ports', 'virtual_switches', 'partitions', 'nics', 'hbas',
               'virtual_functions', 'storage_volumes',
               'virtual_storage_resources', 'lpars', 'capacity_groups')

# Lists the faked managers rebuild when a child is added back; keeping them
# in the saved properties would list every child twice after a restart.
REBUILT_LISTS = ('nic-uris', 'hba-uris', 'virtual-function-uris',
                 'network-port-uris', 'storage-port-uris')

# Children that an HMC numbers within their parent (element-id); the
# others have an object-id unique on the HMC.
ELEMENTS = frozenset(['ports', 'nics', 'hbas', 'virtual_functions',
                      'storage_volumes', 'virtual_storage_resources'])


def read_topology(path):
    """The HMC definition in path, and the passwords of its users."""
    with open(path) as f:
        definition = yaml.safe_load(f)
    passwords = {}
    for console in definition['hmc_definition'].get('consoles', []):
        for user in console.get('users', []):
            password = user['properties'].pop('password', None)
            if password is not None:
                passwords[user['properties']['name']] = password
    _give_ids(definition['hmc_definition'])
    return definition, passwords


def _give_ids(node):
    """Give every resource without an id a UUID, as a real HMC has.

    zhmcclient.mock would number them per manager, so two CPCs' resources
    would share ids and URIs.
    """
    for attr in CHILD_ATTRS:
        for index, child in enumerate(node.get(attr, [])):
            props = child['properties']
            if attr == 'ports':     # numbered as the adapter numbers them
                props.setdefault('element-id', str(index))
            elif attr in ELEMENTS:
                props.setdefault('element-id', str(uuid.uuid4()))
            else:
                props.setdefault('object-id', str(uuid.uuid4()))
            _give_ids(child)


def hmc_definition(hmc, metric_values):
    """The faked HMC as an HMC definition, for from_hmc_dict to load.

    metric_values are the topology's, which the faked HMC does not give
    back in its input format.
    """
    definition = {
        'host': hmc.session.host,
        'api_version': hmc.api_version,
        'consoles': [_resource(c) for c in hmc.consoles.list()],
        'cpcs': [_resource(c) for c in hmc.cpcs.list()],
    }
    if metric_values:
        definition['metric_values'] = metric_values
    return {'hmc_definition': definition}


def _resource(resource):
    props = copy.deepcopy(resource.properties)
    for name in REBUILT_LISTS:
        if name in props:
            props[name] = []
    node = {'properties': props}
    for attr in CHILD_ATTRS:
        manager = getattr(resource, attr, None)
        children = manager.list() if hasattr(manager, 'list') else []
        if children:
            node[attr] = [_resource(c) for c in children]
    return node
