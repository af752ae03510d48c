# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
"""Fixtures: a simulator per test, its controls and clients (real
zhmcclient sessions for the HMC, REST calls for the Cloud Connector)."""

import pytest

from tests import hmcsim
from tests import zvmsim
from tests.nova_side import state_path  # noqa: F401  (autouse)


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


@pytest.fixture
def connectors(tmp_path):
    """One Cloud Connector simulator with token auth."""
    with zvmsim.serve(tmp_path) as servers:
        yield servers


@pytest.fixture
def zvm(connectors):
    """A client of the connector."""
    return zvmsim.Client(connectors[0])


@pytest.fixture
def zvm_controls(connectors):
    return zvmsim.Controls(connectors[0])


@pytest.fixture
def ssi(tmp_path):
    """Two SSI members' connectors over one cluster."""
    with zvmsim.serve(tmp_path, members=2) as servers:
        yield servers
