# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""neutron-ibmz-dpm-agent: the Neutron agent of one CPC subset, which
reports the ports of its partitions' NICs up and down, reading the HMC
only.  Options in options.py, the checks at start in mappings.py, the
NICs in manager.py, the process in agent.py.
"""
