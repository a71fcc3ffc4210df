"""A real gateway with its internal listener, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.internalapi.support import InternalGateway, OpenApiChecked
from tests.support.soapclient import GatewayClient


@pytest.fixture(scope="module")
def sqlite_internal(tmp_path_factory):
    gw = InternalGateway(tmp_path_factory.mktemp("internal-sqlite")).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def postgres_internal(tmp_path_factory, postgres_database):
    gw = InternalGateway(tmp_path_factory.mktemp("internal-pg"), db=postgres_database).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def gateway(request):
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'postgres'}_internal")


@pytest.fixture(scope="module")
def api(gateway) -> OpenApiChecked:
    return OpenApiChecked(gateway.internal_url)


@pytest.fixture(scope="module")
def soap(gateway) -> GatewayClient:
    return GatewayClient(gateway.base_url)
