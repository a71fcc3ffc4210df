"""A real gateway with its internal listener, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from intygsgw.devtools.stub.process import StubProcess
from tests.internalapi.support import InternalGateway, OpenApiChecked
from tests.support.databases import BOTH
from tests.support.soapclient import GatewayClient


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    """The recipient a citizen's send reaches, and care for the messages relayed to it."""
    proc = StubProcess(tmp_path_factory.mktemp("stub"), name="fkassa").start()
    yield proc.client
    proc.stop()


TEXTS = {
    "lisjp-1.3.xml": '<texter typ="lisjp" version="1.3" giltigFrom="2020-01-01"><text id="KAT_1">Grund</text></texter>',
    "luse-9.9.xml": '<texter typ="luse" version="9.9" giltigFrom="2999-01-01"><text id="X">Later</text></texter>',
}


def _settings(work, stub) -> dict:
    texts = work / "texts"
    texts.mkdir()
    for name, xml in TEXTS.items():
        (texts / name).write_text(xml, encoding="utf-8")
    return {**_routes(work, stub), "INTYGSGW_CERTIFICATE_TEXTS_DIR": str(texts)}


def _routes(work, stub) -> dict:
    routes = work / "routes.toml"
    routes.write_text(
        "".join(
            f'[[route]]\ncontract = "{c}"\nlogical_address = "*"\nurl = "{stub.base_url}/{c.split(":")[0]}"\n\n'
            for c in ("RegisterCertificate:3", "SendMessageToCare:2")
        )
    )
    return {"INTYGSGW_ROUTES_FILE": str(routes)}


@pytest.fixture(scope="module")
def sqlite_internal(tmp_path_factory, stub):
    work = tmp_path_factory.mktemp("internal-sqlite")
    gw = InternalGateway(work, extra_env=_settings(work, stub)).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def postgres_internal(tmp_path_factory, postgres_database, stub):
    work = tmp_path_factory.mktemp("internal-pg")
    gw = InternalGateway(work, db=postgres_database, extra_env=_settings(work, stub)).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module", params=BOTH)
def gateway(request):
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'postgres'}_internal")


@pytest.fixture(scope="module")
def api(gateway) -> OpenApiChecked:
    return OpenApiChecked(gateway.internal_url)


@pytest.fixture(scope="module")
def soap(gateway) -> GatewayClient:
    return GatewayClient(gateway.base_url)
