# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Fixtures: a simulator per test, its controls, real zhmcclient clients."""

import pytest

from tests import hmcsim


@pytest.fixture(scope='session')
def certs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('hmc-sim-certs')


@pytest.fixture
def hmc_server(certs_dir):
    with hmcsim.serve(certs_dir) as server:
        yield server


@pytest.fixture
def sg_server(certs_dir):
    """The simulator on the storage-groups topology (z14+ model)."""
    with hmcsim.serve(certs_dir, topology='storage-groups') as server:
        yield server


@pytest.fixture
def controls(hmc_server):
    return hmcsim.Controls(hmc_server)


@pytest.fixture
def session(hmc_server):
    hmc_session = hmcsim.session(hmc_server)
    yield hmc_session
    hmc_session.logoff()


@pytest.fixture
def cpc(session):
    return hmcsim.cpc(session)
