# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The configuration files of the scale-out sandbox, as an operator would
write them for a cloud of separate services (scaleout.py starts them).

In `<state-dir>/nova/`:
- nova.conf: what every Nova service reads (the broker, where Placement,
  Glance, Neutron and Cinder are, the periodic intervals); a compute host
  is started with it and its `<host>.conf` only, so computes have no
  database access, as in a real cloud;
- control.conf: the databases, for nova-api, nova-conductor and
  nova-scheduler;
- api-paste.ini: Nova's paste pipeline with auth.py in auth_token's
  place (Nova 34 has no pipeline without Keystone);
- placement.conf: Placement's database and noauth2.

Nothing here imports nova: the sandbox's own process runs no Nova code in
this mode.
"""

import configparser
import os
import pathlib
import sysconfig

from nova_ibmz.sandbox import auth

# How often the computes' resource audit and power-state sync run, as in
# the embedded sandbox (README).
PERIODIC_SECONDS = 10
# How soon a new compute host is mapped to the cell (the scheduler's
# periodic discovery; a real cloud may run nova-manage instead).
DISCOVER_SECONDS = 2
DATABASES = {'api': 'nova_api', 'cell0': 'nova_cell0', 'cell1': 'nova',
             'placement': 'placement'}


def data_file(*parts):
    """A file the packages install under the venv's data root (etc/...)."""
    return os.path.join(sysconfig.get_paths()['data'], *parts)


def write(path, sections, mode=0o600):
    """An ini file of {section: {option: value}}; only its owner reads it
    (URLs hold passwords).  Returns path."""
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str
    for section, options in sections.items():
        conf[section] = {k: str(v) for k, v in options.items()}
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as f:
        conf.write(f)
    return path


class NovaConfig:
    """The files of one scale-out sandbox in directory (absolute)."""

    def __init__(self, directory, transport_url, databases, project_id,
                 debug=False):
        """databases: {DATABASES key: SQLAlchemy URL}."""
        self.directory = pathlib.Path(directory).absolute()
        self.transport_url = transport_url
        self.databases = databases
        self.project_id = project_id
        self.debug = debug
        self.nova_conf = self.directory / 'nova.conf'
        self.control_conf = self.directory / 'control.conf'
        self.paste = self.directory / 'api-paste.ini'
        self.placement_conf = self.directory / 'placement.conf'

    def write(self, endpoints):
        """Write every file; endpoints: {'placement', 'glance', 'neutron',
        'cinder': URL} of the services Nova uses."""
        d = self.directory
        write(self.nova_conf, {
            'DEFAULT': {
                'transport_url': self.transport_url,
                'debug': str(self.debug).lower(),
                'my_ip': '127.0.0.1',
                'state_path': d,
                'allow_resize_to_same_host': 'true',
                'periodic_fuzzy_delay': 0,
                'update_resources_interval': PERIODIC_SECONDS,
                'sync_power_state_interval': PERIODIC_SECONDS,
                # A broker restarted while a call is in flight: the caller
                # waits this long for its answer (60 s by default).
                'rpc_response_timeout': 30,
            },
            'wsgi': {'api_paste_config': self.paste},
            'oslo_concurrency': {'lock_path': d / 'lock'},
            'placement': {'auth_type': 'admin_token', 'token': 'admin',
                          'endpoint': endpoints['placement'],
                          'region_name': 'RegionOne'},
            'glance': {'endpoint_override': endpoints['glance']},
            'neutron': {'auth_type': 'none',
                        'endpoint_override': endpoints['neutron']},
            # auth_type: an admin context without a token (init_host's)
            # reaches Cinder too.
            'cinder': {'endpoint_template':
                       endpoints['cinder'] + '/v3/%(project_id)s',
                       'auth_type': 'none'},
            'scheduler': {'discover_hosts_in_cells_interval':
                          DISCOVER_SECONDS, 'workers': 1},
            # nova-scheduler handles requests on concurrent threads, each
            # weighing the hosts as they were when it began: a burst all
            # goes to the one best host.  Nova's remedy: a random pick of
            # the best few (here, as many as there are hosts of a kind).
            'filter_scheduler': {'host_subset_size': 2},
            'conductor': {'workers': 1},
            'quota': {'instances': -1, 'cores': -1, 'ram': -1},
            'vnc': {'enabled': 'false'},
        })
        write(self.control_conf, {
            'api_database': {'connection': self.databases['api']},
            'database': {'connection': self.databases['cell1']},
        })
        auth.write_paste_config(data_file('etc', 'nova', 'api-paste.ini'),
                                self.paste, self.project_id)
        write(self.placement_conf, {
            'DEFAULT': {'debug': str(self.debug).lower()},
            'api': {'auth_strategy': 'noauth2'},
            'placement_database': {
                'connection': self.databases['placement']},
        })
        return self

    def control_args(self):
        """The --config-file arguments of nova-api, -conductor,
        -scheduler and nova-manage."""
        return ['--config-file', self.nova_conf,
                '--config-file', self.control_conf]

    def compute_args(self, host_conf):
        """The --config-file arguments of a compute host's nova-compute."""
        return ['--config-file', self.nova_conf, '--config-file', host_conf]
