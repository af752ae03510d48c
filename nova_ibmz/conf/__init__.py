# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Configuration of both drivers: the [dpm] and [zvm] option groups.

Importing this module registers the options on nova's CONF.  Drivers read
them once, when constructed, through dpm.load() / zvm.load(), which check
the values together and name the offending option.
"""

import nova.conf

from nova_ibmz.conf import dpm
from nova_ibmz.conf import zvm

CONF = nova.conf.CONF


def register_opts(conf):
    conf.register_group(dpm.GROUP)
    conf.register_opts(dpm.OPTS, group=dpm.GROUP)
    # The group and nova's options may already be registered by nova.conf;
    # registering the same objects again is a no-op.
    conf.register_group(zvm.GROUP)
    conf.register_opts(zvm.NOVA_OPTS + zvm.OPTS, group=zvm.GROUP)


def list_opts():
    """Entry point of oslo-config-generator (namespace nova_ibmz)."""
    return [(dpm.GROUP, dpm.OPTS), (zvm.GROUP, zvm.NOVA_OPTS + zvm.OPTS)]


register_opts(CONF)
