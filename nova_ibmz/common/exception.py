# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Errors both drivers raise.

They derive from nova's exceptions so the compute manager treats them as it
treats its own (an invalid configuration stops nova-compute at start).
"""

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


class InstanceSetupError(exception.InvalidInput):
    """An instance cannot be built as asked; the message says why.

    An InvalidInput, so the compute manager ends the build with this
    message instead of rescheduling it to a host that would fail alike.
    """

    msg_fmt = 'Instance %(instance)s: %(reason)s'

    def __init__(self, instance, reason):
        super().__init__(instance=instance, reason=reason)
