# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Errors both drivers raise.

They derive from nova's exceptions so the compute manager treats them as it
treats its own (an invalid configuration stops nova-compute at start).
"""

import contextlib

from nova import exception


class ConfigurationError(exception.InvalidConfiguration):
    """An option is missing or unusable; the message names it."""

    msg_fmt = '[%(group)s] %(option)s: %(reason)s'

    def __init__(self, group, option, reason):
        super().__init__(group=group, option=option, reason=reason)


class HypervisorUnreachable(exception.HypervisorUnavailable):
    """The HMC or the Cloud Connector did not answer as expected."""

    msg_fmt = '%(endpoint)s: %(reason)s'

    def __init__(self, endpoint, reason):
        super().__init__(endpoint=endpoint, reason=reason)


class RequestRefused(exception.NovaException):
    """The HMC or the Cloud Connector answered, and refused an operation."""

    msg_fmt = '%(endpoint)s: %(what)s refused: %(reason)s'

    def __init__(self, endpoint, what, reason):
        super().__init__(endpoint=endpoint, what=what, reason=reason)


class InstanceSetupError(exception.InstanceUnacceptable,
                         exception.InvalidInput):
    """An instance cannot be built as asked; the message says why.

    The compute manager ends a build with the message of these two kinds
    instead of rescheduling it to a host that would fail alike:
    InstanceUnacceptable where it prepares the block devices (the DPM
    driver's prepare_for_spawn runs there), InvalidInput where the driver
    spawns.  Any other error of prepare_for_spawn becomes "Failure prepping
    block device", and its cause is only in the log.
    """

    msg_fmt = 'Instance %(instance)s: %(reason)s'

    def __init__(self, instance, reason):
        super().__init__(instance=instance, reason=reason)


class BuildFailed(InstanceSetupError):
    """The HMC or the Cloud Connector failed a step of a build; the message
    is theirs: the endpoint, the operation, the status and the reason."""

    msg_fmt = '%(reason)s'


@contextlib.contextmanager
def build_step(instance):
    """End the build with the hypervisor's own message when it fails.

    Nova would reschedule the build, and once no host is left (a DPM host
    is the only one of its CPC subset; a z/VM image fits z/VM hosts only)
    the instance's fault would say just "Exhausted all hosts", the cause
    being in one compute host's log.  The driver has already retried what
    the HMC or the Cloud Connector calls temporary, so what is left is for
    the user to see: the build ends here, with that message.
    """
    try:
        yield
    except (HypervisorUnreachable, RequestRefused) as e:
        raise BuildFailed(instance.uuid, e.format_message()) from e
