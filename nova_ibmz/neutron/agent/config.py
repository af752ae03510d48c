# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the options of both agents share: the [agent] group of the loop,
the one-line ConfigError, and the parse that turns every wrong value into
one.  Each agent parses into a ConfigOpts of its own: agents of several
hosts share the sandbox's neutron-server process, whose global CONF has
its own host.
"""

from oslo_config import cfg


class ConfigError(Exception):
    """An option or a mapping is wrong: one line that names it."""


def agent_group():
    """The [agent] group, one per agent's options: an OptGroup keeps the
    options registered under it, and the agents' polling_interval options
    differ in their help."""
    return cfg.OptGroup('agent', title='The agent loop')


def agent_opts(polling_help):
    """The [agent] options; polling_help says what a look costs."""
    return [
        cfg.IntOpt('polling_interval', default=2, min=1,
                   help=f'\n{polling_help}\n'),
        cfg.FloatOpt('report_interval', default=30, min=1, help="""
Seconds between two reports of the agent's state to neutron-server; keep it
well below the server's agent_down_time.
"""),
    ]


def parse(args, prog, opts, read):
    """read(conf) of a ConfigOpts with opts ([(group, options)]) parsed from
    the command line args: its values, read inside, because oslo.config
    checks a value when it is read: a wrong one is a ConfigError too."""
    conf = cfg.ConfigOpts()
    for group, group_opts in opts:
        conf.register_opts(group_opts, group)
    try:
        conf(args, project='neutron', prog=prog, default_config_files=[])
        return read(conf)
    except cfg.Error as e:
        raise ConfigError(str(e).splitlines()[0]) from e
