"""A gateway whose message relays and sends go to one stub recipient, shared by the message tests."""

from __future__ import annotations

import pytest

from intygsgw.devtools.stub.process import StubProcess
from tests.support.routes import write_stub_routes
from tests.support.server import GatewayProcess


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    proc = StubProcess(tmp_path_factory.mktemp("stub"), name="care-and-fk").start()
    yield proc.client
    proc.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, stub):
    work = tmp_path_factory.mktemp("gw")
    routes = write_stub_routes(
        work / "routes.toml",
        stub.base_url,
        ("SendMessageToCare:2", "SendMessageToRecipient:2", "RegisterCertificate:3"),
    )
    gw = GatewayProcess(work, extra_env={"INTYGSGW_ROUTES_FILE": str(routes)}).start()
    yield gw
    gw.stop()
