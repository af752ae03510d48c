# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Shim that lets nova load our drivers by their short names.

nova.virt.driver.load_compute_driver only imports 'nova.virt.<name>', so
``compute_driver = ibmz.DPMDriver`` resolves here.  The drivers live in the
nova_ibmz package; each is imported only when asked for, so a z/VM host
never imports zhmcclient.
"""

_DRIVERS = {
    'DPMDriver': 'nova_ibmz.dpm.driver',
    'ZVMDriver': 'nova_ibmz.zvm.driver',
}

__all__ = sorted(_DRIVERS)


def __getattr__(name):
    if name not in _DRIVERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(_DRIVERS[name]), name)
