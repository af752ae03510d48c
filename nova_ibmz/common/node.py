# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The compute node's identity file, which a restart needs.

Nova 34 keeps a compute host's node uuid in [DEFAULT] state_path/compute_id
(nova.virt.node) and, from the second start of a compute service on,
refuses to start without that file ("No local node identity found, but
this is not our first startup on this host").  Nova writes it when a
driver asks it for a uuid (nova.virt.node.get_local_node_uuid).  Our
drivers report a uuid of their own instead, stable because it comes from
what they manage: so they write the file themselves, from init_host, which
Nova calls before its check.  A file there already is kept as it is.
"""

import os

from nova import conf
from nova import exception
from nova.virt import node
from oslo_config import cfg


def ensure_identity(node_uuid):
    """Write node_uuid to state_path/compute_id unless Nova finds an
    identity file already.  Cost: no request; a file write at the first
    start only.  Nothing in a process whose configuration came from no
    command line (tests, the embedded sandbox): Nova has no file
    locations there."""
    try:
        if node.read_local_node_uuid() is not None:
            return
    except cfg.NoSuchOptError:      # no --config-file option
        return
    os.makedirs(conf.CONF.state_path, exist_ok=True)
    try:
        node.write_local_node_uuid(node_uuid)
    except exception.InvalidNodeConfiguration:
        # Another compute of this process (the embedded sandbox runs
        # several on one state_path) wrote it meanwhile.
        if node.read_local_node_uuid() is None:
            raise
