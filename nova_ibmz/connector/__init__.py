# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""What the z/VM Nova driver and the z/VM Neutron agent both need of the
Cloud Connector: its REST client.

It imports neither nova nor neutron (they cannot share a process; a test
of the boundaries checks it).
"""
