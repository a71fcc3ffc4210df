"""A real gateway on loopback, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.support.databases import BOTH
from tests.support.server import GatewayProcess
from tests.support.soapclient import GatewayClient


def _start(workdir, db=None, **kwargs):
    return GatewayProcess(workdir, db=db, workers=2, extra_env={"INTYGSGW_DELIVERY": "false"}, **kwargs).start()


@pytest.fixture(scope="module")
def sqlite_gateway(tmp_path_factory):
    gw = _start(tmp_path_factory.mktemp("gw-sqlite"))
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def postgres_gateway(tmp_path_factory, postgres_database):
    gw = _start(tmp_path_factory.mktemp("gw-pg"), db=postgres_database)
    yield gw
    gw.stop()


@pytest.fixture(scope="module", params=BOTH)
def gateway(request):
    # getfixturevalue keeps the PostgreSQL server from starting for a run
    # that only selects SQLite tests.
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'postgres'}_gateway")


@pytest.fixture(scope="module")
def client(gateway) -> GatewayClient:
    return GatewayClient(gateway.base_url)
