# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Atomic JSON state files of every simulator.

A simulator writes its whole state after each change and when it stops;
the file must never be half written, or a killed simulator could not
start again.
"""

import json
import os
import pathlib
import tempfile


def read_state(path):
    with open(path) as f:
        return json.load(f)


def write_state(path, state):
    """Replace the state file atomically: a killed simulator leaves the old
    file or the new one, never half of one.  The file is private (0600,
    as mkstemp makes it): it may hold passwords."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.state-')
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(state, f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
