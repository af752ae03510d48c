# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""z/VM guests as instances: userids and power state.

A guest's userid is the Nova instance name.  z/VM userids are at most 8
characters and CP folds them to upper case, while Nova matches instance
names exactly, so the instance_name_template must give short lower-case
names such as "os%06x" and the driver speaks to the connector in upper case.
"""

import re

from nova.compute import power_state
from nova import exception

from nova_ibmz.common.exception import ConfigurationError
from nova_ibmz.zvm.client import ConnectorNotFound

_USERID = re.compile(r'^[a-z0-9@#$][a-z0-9@#$_-]{0,7}$')

# Instance ids the template check renders: the first one and 16,777,215,
# the last a six-hex-digit template such as "os%06x" keeps within 8.
_SAMPLE_IDS = (1, 0xffffff)

_POWER_STATES = {'on': power_state.RUNNING, 'off': power_state.SHUTDOWN}


def check_name_template(template):
    """Fail unless every instance name is a usable z/VM userid."""
    for sample in _SAMPLE_IDS:
        try:
            name = template % sample
        except (TypeError, ValueError, KeyError):
            raise ConfigurationError(
                'DEFAULT', 'instance_name_template',
                f'{template!r} does not render an instance name from an '
                f'instance id')
        if not _USERID.fullmatch(name):
            raise ConfigurationError(
                'DEFAULT', 'instance_name_template',
                f'{template!r} gives {name!r} for instance id {sample}; '
                f'z/VM needs at most 8 lower-case letters, digits or @#$_- '
                f'(for example os%06x)')


def userid(instance):
    return instance.name.upper()


class Guests:
    """The guests the Cloud Connector manages for this host."""

    def __init__(self, connector):
        self._connector = connector

    def names(self):
        """Instance names of the connector's guests (GET /guests)."""
        return [u.lower() for u in self._connector.get('/guests')]

    def power_state(self, instance):
        """Nova power state (GET /guests/<userid>/power_state)."""
        try:
            state = self._connector.get(
                f'/guests/{userid(instance)}/power_state')
        except ConnectorNotFound:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return _POWER_STATES.get(state, power_state.NOSTATE)
