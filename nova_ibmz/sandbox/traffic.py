# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The requests the drivers send to the simulators, counted by simulator
and by cause: Nova's periodic tasks, or anything else (an API operation,
a compute service's start).

Nova runs a service's periodic tasks on a thread of their own and hands a
task's context to the worker threads the task spawns (nova's
thread_pool_factory.spawn_on puts it in the worker's thread-local store).
Each run of the periodic tasks here gets a context of its own class, put
in that store: a request is periodic work if the context current on the
thread that sends it is one of those.  Requests are counted where the
drivers send them, at requests' HTTP adapter, which zhmcclient and our
Cloud Connector client both use.
"""

import collections
import threading

import fixtures
from nova import context as nova_context
from oslo_context import context as common_context
import requests

PERIODIC = 'periodic'
OPERATION = 'operation'


class _PeriodicContext(nova_context.RequestContext):
    """The admin context of one run of a service's periodic tasks."""


def _periodic_tasks(service, raise_on_error=False):
    """nova.service.Service.periodic_tasks, with its context marked as the
    periodic tasks' and current on this thread, whence nova hands it to
    the tasks' workers."""
    context = _PeriodicContext(is_admin=True, overwrite=False)
    context.update_store()
    return service.manager.periodic_tasks(context,
                                          raise_on_error=raise_on_error)


class Traffic(fixtures.Fixture):
    """While set up, counts each request sent to one of the simulators,
    given as {name: base URL}; start it before the services, whose
    periodic loops pick up the method at their start."""

    def __init__(self, simulators):
        super().__init__()
        self.simulators = dict(simulators)
        self._lock = threading.Lock()
        self._counts = collections.Counter()

    def _setUp(self):
        send = requests.adapters.HTTPAdapter.send

        def counted(adapter, request, *args, **kwargs):
            self._count(request.url)
            return send(adapter, request, *args, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'requests.adapters.HTTPAdapter.send', counted))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.service.Service.periodic_tasks', _periodic_tasks))

    def _count(self, url):
        for name, base in self.simulators.items():
            if url.startswith(f'{base}/'):
                periodic = isinstance(common_context.get_current(),
                                      _PeriodicContext)
                with self._lock:
                    self._counts[name, PERIODIC if periodic
                                 else OPERATION] += 1
                return

    def counts(self):
        """{simulator: {'operation': n, 'periodic': n}} so far."""
        with self._lock:
            return {name: {cause: self._counts[name, cause]
                           for cause in (OPERATION, PERIODIC)}
                    for name in self.simulators}
