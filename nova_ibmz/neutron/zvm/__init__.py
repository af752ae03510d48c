# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-zvm-agent: the Neutron agent of one z/VM system (or SSI
member), which reports the ports of its guests' NICs up and down, and
grants and couples the NICs Nova's in-tree z/VM driver leaves uncoupled.
Options in options.py, the NICs in manager.py, the process in agent.py.
"""
