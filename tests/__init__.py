# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Test package of nova-ibmz, in two pytest processes (make test runs
both): the Nova side (unit, sim, conformance, functional: nova on native
threads, see tests/nova_side.py) and the Neutron side (tests/neutron).
Nova and Neutron never share a process, so this package imports neither.
"""
