# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""One scale-out cloud for the tests of this package (~60 s to start, ~2
GB): every test leaves its services running and no orphan behind, which
the fixture checks after each test."""

import pytest

from nova_ibmz.sandbox import scaleout
from tests.scaleout import cloud as scaleout_cloud


@pytest.fixture(scope='package')
def sandbox(tmp_path_factory):
    started = scaleout.ScaleOut(
        tmp_path_factory.mktemp('scaleout'),
        dpm_hosts=len(scaleout_cloud.DPM_HOSTS),
        zvm_hosts=len(scaleout_cloud.ZVM_HOSTS))
    try:
        yield started.start()
    finally:
        started.stop()


@pytest.fixture
def cloud(sandbox):
    """The cloud; after the test, no orphan on the simulators."""
    client = scaleout_cloud.Cloud(sandbox)
    yield client
    assert client.orphans() == []
