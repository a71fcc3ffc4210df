"""PostgreSQL stopped and started again under a serving gateway: clear answers meanwhile, no restart after."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.internalapi.support import InternalGateway
from tests.support.postgres import PostgresServer, create_database
from tests.support.soapclient import GatewayClient
from tests.support.waiting import wait_until

# A cluster of its own, stopped and started again here: the session's shared server is left alone.
pytestmark = pytest.mark.postgres


def _register(client: GatewayClient) -> tuple[str, object]:
    certificate_id = f"outage-{uuid.uuid4()}"
    spec = CertificateSpec(certificate_id=certificate_id, person_id="191212121212")
    return certificate_id, client.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))[0].result


@pytest.mark.parametrize("access_log", ["true", "false"])
def test_while_postgresql_is_down_calls_fail_fast_and_plainly_and_once_it_is_back_they_work(tmp_path, access_log):
    # With the access log on, a refused call's entry cannot be written either, which refuses it too.
    with PostgresServer() as pg:
        url = create_database(pg.url, "outage")
        gw = InternalGateway(tmp_path, db=url, extra_env={"INTYGSGW_ACCESS_LOG": access_log}).start()
        try:
            client = GatewayClient(gw.base_url)
            before, result = _register(client)
            assert result.resultCode == "OK", result
            messages = f"{gw.internal_url}/internalapi/message/{before}"
            assert requests.get(messages, timeout=30).status_code == 200

            pg.pause()
            started = time.monotonic()
            _, result = _register(client)
            assert time.monotonic() - started < 10, "a call waited on the database that is down"
            assert (result.resultCode, result.errorId) == ("ERROR", "TECHNICAL_ERROR")
            assert result.resultText.startswith("Temporary"), result.resultText
            refused = requests.get(messages, timeout=30)  # the internal API says the same, as its document does
            assert refused.status_code == 503, refused.text
            assert re.fullmatch(
                r"Temporary (database )?error, try again \(reference [0-9a-f-]{36}\)", refused.json()["detail"]
            )
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
            assert requests.get(messages, timeout=30).status_code == 200
        finally:
            gw.stop()
        log = gw.process.log_path.read_text(errors="replace")

    # Each refused call is told in one line for the operator, with the driver's reason.
    told = [line for line in log.splitlines() if " ERROR intygsgw." in line and "failure in" in line]
    assert len(told) >= 2 and all(": the database is out of reach (" in line for line in told), told
