"""PostgreSQL stopped and started again under a serving gateway: clear answers meanwhile, no restart after."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.postgres import PostgresServer, create_database
from tests.support.server import running_gateway
from tests.support.soapclient import GatewayClient
from tests.support.waiting import wait_until

# A cluster of its own, stopped and started again here: the session's shared server is left alone.
pytestmark = pytest.mark.postgres


def _register(client: GatewayClient) -> tuple[str, object]:
    certificate_id = f"outage-{uuid.uuid4()}"
    spec = CertificateSpec(certificate_id=certificate_id, person_id="191212121212")
    return certificate_id, client.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))[0].result


def test_while_postgresql_is_down_calls_fail_fast_and_plainly_and_once_it_is_back_they_work(tmp_path):
    with PostgresServer() as pg:
        url = create_database(pg.url, "outage")
        with running_gateway(tmp_path, db=url) as gw:
            client = GatewayClient(gw.base_url)
            before, result = _register(client)
            assert result.resultCode == "OK", result

            pg.pause()
            started = time.monotonic()
            _, result = _register(client)
            assert time.monotonic() - started < 10, "a call waited on the database that is down"
            assert (result.resultCode, result.errorId) == ("ERROR", "TECHNICAL_ERROR")
            assert result.resultText.startswith("Temporary"), result.resultText
            assert requests.get(gw.base_url + "/healthz", timeout=30).status_code == 503

            pg.resume()
            wait_until(
                lambda: requests.get(gw.base_url + "/healthz", timeout=30).status_code == 200,
                timeout=60,
                what="the gateway finding its database again",
            )
            _, result = _register(client)
            assert result.resultCode == "OK", result
            got = client.call_raw("GetCertificate", 2, samples.get_certificate(before))[0]
            assert got.intyg["intygs-id"].extension == before
            log = gw.log_path.read_text(errors="replace")

    # The refused call, told in one line each for the operator, with the driver's reason.
    told = [line for line in log.splitlines() if "intygsgw.http.dispatch" in line and " ERROR " in line]
    assert told and all(": the database is out of reach (" in line for line in told), told
