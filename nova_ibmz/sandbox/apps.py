# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""WSGI applications of the scale-out sandbox, for gunicorn:

    gunicorn 'nova_ibmz.sandbox.apps:nova_api()'
    gunicorn 'nova_ibmz.sandbox.apps:placement()'

Nova's and Placement's WSGI modules parse sys.argv with oslo.config when
they are imported, and under gunicorn that is gunicorn's command line,
which oslo.config refuses: each factory empties it first.  Both find
their files through the environment (OS_NOVA_CONFIG_DIR and
OS_NOVA_CONFIG_FILES, OS_PLACEMENT_CONFIG_DIR), as under any WSGI server.
"""

import sys


def nova_api():
    sys.argv = sys.argv[:1]
    from nova.wsgi import osapi_compute
    return osapi_compute.application


def placement():
    sys.argv = sys.argv[:1]
    from placement.wsgi import api
    return api.application
