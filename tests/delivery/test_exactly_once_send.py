"""Concurrent SendCertificateToRecipient calls deliver a certificate to a recipient once.

A citizen's double click or an EHR retrying on its timeout sends the same
certificate to the same recipient several times at once. Found by a
fault-injection run: 10 certificates x 8 concurrent sends gave 80 deliveries
on SQLite and 58 on PostgreSQL, each with its own correlation id, so the
receiver could not tell them apart.
"""

from __future__ import annotations

import concurrent.futures

import pytest
import requests

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import REGISTER_CERTIFICATE_3, SEND_CERTIFICATE_TO_RECIPIENT_2
from tests.support.server import GatewayProcess

CERTIFICATES = 10
CONCURRENT_SENDS = 8
XML = {"Content-Type": "text/xml; charset=UTF-8"}


@pytest.fixture(params=["sqlite", "postgres"])
def gateway(request, tmp_path):
    db = request.getfixturevalue("postgres_database") if request.param == "postgres" else None
    stub = StubProcess(tmp_path / "fk", name="FKASSA").start()
    # The recipient takes its time, as real ones do: every concurrent call is
    # then under way while the first is still talking to it.
    stub.client.add_rule(delay_ms=300)
    routes = tmp_path / "routes.toml"
    routes.write_text(
        f'[[route]]\ncontract = "RegisterCertificate:3"\nlogical_address = "FKORG"\nurl = "{stub.base_url}/register"\n',
        encoding="utf-8",
    )
    gw = GatewayProcess(tmp_path / "gw", db=db, workers=2, extra_env={"INTYGSGW_ROUTES_FILE": str(routes)}).start()
    yield gw, stub
    gw.stop()
    stub.stop()


def result_of(response: requests.Response) -> tuple[str, str]:
    body = response.content.decode()
    code = body.split("<core:resultCode>", 1)[1].split("<", 1)[0]
    text = body.split("<core:resultText>", 1)[1].split("<", 1)[0] if "<core:resultText>" in body else ""
    return code, text


def test_concurrent_sends_of_one_certificate_deliver_it_once(gateway):
    gw, stub = gateway
    ids = [f"once-{n}" for n in range(CERTIFICATES)]
    for cid in ids:
        answer = requests.post(
            gw.url(REGISTER_CERTIFICATE_3.path),
            headers=XML,
            timeout=30,
            data=samples.register_certificate(CertificateSpec(certificate_id=cid)),
        )
        assert b">OK<" in answer.content

    def send(cid: str) -> tuple[str, str]:
        return result_of(
            requests.post(
                gw.url(SEND_CERTIFICATE_TO_RECIPIENT_2.path),
                headers=XML,
                timeout=60,
                data=samples.send_certificate_to_recipient(cid, recipient="FKASSA"),
            )
        )

    with concurrent.futures.ThreadPoolExecutor(CERTIFICATES * CONCURRENT_SENDS) as pool:
        answers = list(pool.map(send, [cid for cid in ids for _ in range(CONCURRENT_SENDS)]))

    delivered = [m["certificate_id"] for m in stub.client.messages(contract="RegisterCertificate")]
    assert sorted(delivered) == sorted(ids)  # exactly one delivery each
    for cid in ids:
        mine = answers[ids.index(cid) * CONCURRENT_SENDS : (ids.index(cid) + 1) * CONCURRENT_SENDS]
        assert mine.count(("OK", "")) == 1, mine
        assert mine.count(("INFO", f"Certificate '{cid}' already sent to 'FKASSA'.")) == CONCURRENT_SENDS - 1, mine
