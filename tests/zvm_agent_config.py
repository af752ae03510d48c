# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""A neutron-ibmz-zvm-agent configuration file, for the tests of both
sides (the agent's own on the Neutron side, Nova's in-tree z/VM driver
with the agent on the Nova side).  Imports neither nova nor neutron."""

import configparser

AGENT = 'nova_ibmz.neutron.zvm.agent:server_agent'
MAPPINGS = 'physnet1:VSWITCH1,physnet2:XCATVSW2'


def write(path, url, host, mappings=MAPPINGS, token=None,
          template='os%06x', **more):
    """Write the file; returns its neutron-server hook entry (AGENT, path).
    token: the connector's admin token, written to a file beside it (None:
    the connector runs with auth none); more: {section: {option: value}}.
    The agent polls and reports every second."""
    conf = configparser.ConfigParser(interpolation=None)
    conf['DEFAULT'] = {'host': host, 'instance_name_template': template}
    conf['zvm'] = {'cloud_connector_url': url, 'vswitch_mappings': mappings}
    conf['agent'] = {'polling_interval': '1', 'report_interval': '1'}
    if token is not None:
        token_file = path.parent / f'{path.stem}-admin-token'
        token_file.write_text(token + '\n')
        conf['zvm']['admin_token_file'] = str(token_file)
    for section, values in more.items():
        conf.setdefault(section, {})
        conf[section].update(values)
    with open(path, 'w') as f:
        conf.write(f)
    return AGENT, str(path)
