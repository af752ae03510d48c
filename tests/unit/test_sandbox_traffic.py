# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""The sandbox's count of the drivers' requests (traffic.py): what Nova's
periodic tasks send, on their own thread or from the workers nova spawns
for them, apart from the rest, and as many as the simulator logs."""

import threading
import types

from nova import service as nova_service
from nova import thread_pool_factory
import pytest
import requests

from nova_ibmz.sandbox import traffic


@pytest.fixture
def counted(sim):
    """Traffic counting requests to the Cloud Connector simulator."""
    fixture = traffic.Traffic({'zvm-1': sim.url})
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


def send(url):
    requests.get(f'{url}/guests', timeout=10)


class Manager:
    """A compute manager whose periodic tasks send one request on the
    periodic thread and one from a sync_power_state worker, as nova's
    power-state sync does."""

    def __init__(self, url):
        self.url = url

    def periodic_tasks(self, context, raise_on_error=False):
        send(self.url)
        thread_pool_factory.spawn_on(
            thread_pool_factory.ExecutorType.SYNC_POWER, send,
            self.url).result()


def test_periodic_work_is_counted_apart(counted, sim):
    seen = len(sim.log.since(0))
    service = types.SimpleNamespace(manager=Manager(sim.url))
    # The service's periodic loop runs on a thread of its own.
    loop = threading.Thread(target=nova_service.Service.periodic_tasks,
                            args=(service,))
    loop.start()
    loop.join()
    send(sim.url)               # an operation, on another thread
    assert counted.counts() == {'zvm-1': {'operation': 1, 'periodic': 2}}
    assert len(sim.log.since(0)) - seen == 3


def test_only_the_simulators_requests_count(counted, sim):
    with pytest.raises(requests.ConnectionError):
        requests.get('http://127.0.0.1:9/guests', timeout=10)
    assert counted.counts() == {'zvm-1': {'operation': 0, 'periodic': 0}}
