"""The certificate-service's event queue consumed (hub-behaviour §3.7), on a real ActiveMQ.

The certificate-service is a stand-in HTTP server (tests/support); the
events are put on ``intygstjanst.certificate.event.queue`` over STOMP with the
properties CS sets. What the hub does is read from the broker (statistics),
the stub recipient (forwarded certificates) and the dead-letter queue.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import stomp
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from tests.support.activemq import JmsReader
from tests.support.certificate_service import CertificateServiceStub
from tests.support.routes import write_stub_routes
from tests.support.server import GatewayProcess

QUEUE = "intygstjanst.certificate.event.queue"
REHAB = "urn:riv:clinicalprocess:healthcond:rehabilitation:1"
REGISTER = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}RegisterCertificate"


def register_element(cid: str, **spec) -> bytes:
    root = etree.fromstring(samples.register_certificate(CertificateSpec(cid, **spec)))
    return etree.tostring(root.find(f".//{REGISTER}"), xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="module")
def cs():
    stub = CertificateServiceStub()
    yield stub
    stub.shutdown()


@pytest.fixture(scope="module")
def recipient(tmp_path_factory):
    proc = StubProcess(tmp_path_factory.mktemp("fk"), name="FKASSA").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, activemq, cs, recipient):
    folder = tmp_path_factory.mktemp("gw-cs")
    routes = write_stub_routes(
        folder / "routes.toml", recipient.base_url, ("RegisterCertificate:3", "RevokeCertificate:2")
    )
    gw = GatewayProcess(
        folder,
        extra_env={
            "INTYGSGW_STATISTICS": "on",
            "INTYGSGW_BROKER_URL": activemq.url,
            "INTYGSGW_CERTIFICATE_SERVICE_URL": cs.url,
            "INTYGSGW_ROUTES_FILE": str(routes),
            "INTYGSGW_RETRY_DELAYS": "1s,2s",
        },
    ).start()
    yield gw
    gw.stop()


def put_event(activemq, **properties) -> None:
    """Put one event on the queue and return once the broker has it.

    Each call is its own connection: without waiting for the receipt, a second event could
    reach the queue before the first (seen in CI: the gateway got sent before signed).
    """
    conn = stomp.Connection([("127.0.0.1", activemq.port)], auto_content_length=False)
    receipt, stored = str(uuid.uuid4()), threading.Event()

    class Receipts(stomp.ConnectionListener):
        def on_receipt(self, frame) -> None:
            if frame.headers.get("receipt-id") == receipt:
                stored.set()

    conn.set_listener("receipt", Receipts())
    conn.connect(wait=True)
    conn.send(f"/queue/{QUEUE}", "", headers={**properties, "persistent": "true", "receipt": receipt})
    try:
        assert stored.wait(30), "the broker did not confirm the event within 30 s"
    finally:
        conn.disconnect()


def statistics_of(activemq, cid: str, count: int, timeout: float = 40.0) -> list[dict]:
    """The statistics messages about ``cid``, in queue order, once ``count`` have come (reads consume them)."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += [
            m
            for m in JmsReader().read(activemq, "certificate.queue", 10, 3)
            if m["properties"]["certificate-id"] == cid
        ]
    return got


def _outbox_of(gateway, cid: str) -> str:
    """The certificate's outbox rows, for a failure's message."""
    from intygsgw.storage.db import connect_sqlite

    con = connect_sqlite(gateway.workdir / "intygsgw.db")
    try:
        rows = con.execute(
            "SELECT id, contract, state, attempts, created_at, next_attempt_at, updated_at, last_error FROM outbox "
            "WHERE reference = ? ORDER BY id",
            (cid,),
        ).fetchall()
    finally:
        con.close()
    return "\n".join(map(repr, rows)) + "\n"


def wait_for(check, what: str, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_signed_and_sent_reach_statistics_and_the_recipient(gateway, activemq, cs, recipient):
    cid = str(uuid.uuid4())
    cs.add_certificate(cid, register_element(cid), sent_to="FKASSA")
    put_event(activemq, eventType="certificate-signed", certificateId=cid)
    put_event(activemq, eventType="certificate-sent", certificateId=cid)
    stats = [
        m for m in JmsReader().read(activemq, "certificate.queue", 2, 40) if m["properties"]["certificate-id"] == cid
    ]
    assert [m["properties"]["action"] for m in stats] == ["created", "sent"], _outbox_of(gateway, cid) + gateway.log()
    assert stats[0]["properties"]["certificate-type"] == "fk7804" and cid in stats[0]["text"]
    assert stats[1]["properties"]["certificate-recipient"] == "FKASSA"
    got = wait_for(lambda: [m for m in recipient.client.messages() if m.get("certificate_id") == cid], "the forward")
    assert got[0]["contract"].startswith("RegisterCertificate")


def test_a_revocation_of_a_sent_certificate_is_forwarded_built_from_cs_data(gateway, activemq, cs, recipient):
    cid = str(uuid.uuid4())
    revoked = {
        "message": "Fel patient",
        "reason": "FEL_PATIENT",
        "revokedAt": "2026-12-05T09:10:00",
        "revokedBy": {"personId": "SE2321000016-1R2F", "fullName": "Ingrid Nilsson Läkare"},
    }
    cs.add_certificate(cid, register_element(cid), sent_to="FKASSA", revoked=revoked)
    put_event(activemq, eventType="certificate-revoked", certificateId=cid)
    got = wait_for(
        lambda: [
            m for m in recipient.client.messages() if m.get("certificate_id") == cid and "Revoke" in m["contract"]
        ],
        "the forwarded revocation",
    )
    assert got[0]["outcome"] == "OK", got[0]


def sick_leave_element(cid: str, person: str, unit: str) -> bytes:
    """A LISJP signed three days ago whose sick leave runs on for ten days."""
    from tests.support.fresh import day

    return register_element(
        cid, person_id=person, care_unit_id=unit, signed_at=day(-3) + "T10:00:00",
        periods=(("HELT_NEDSATT", day(-3), day(10)),),
    )  # fmt: skip


def listed_on(gateway, unit: str) -> list[str]:
    """The certificate ids on the unit's active sick-leave list."""
    from tests.support.soapclient import GatewayClient

    _, answer = GatewayClient(gateway.base_url).call_raw(
        "ListActiveSickLeavesForCareUnit", 1, samples.list_active_sick_leaves_for_care_unit(unit)
    )
    return [d.findtext(f"{{{REHAB}}}intygsId") for d in answer.iter(f"{{{REHAB}}}intygsData")]


def test_a_signed_sick_leave_certificate_is_on_the_sick_leave_lists_until_it_is_revoked(gateway, activemq, cs):
    from tests.support.fresh import new_hsa, new_person
    from tests.support.soapclient import GatewayClient

    cid, unit, person = str(uuid.uuid4()), new_hsa("U"), new_person()
    element = sick_leave_element(cid, person, unit)
    cs.add_certificate(cid, element)
    client = GatewayClient(gateway.base_url)

    def listed() -> list[str]:
        return listed_on(gateway, unit)

    put_event(activemq, eventType="certificate-signed", certificateId=cid)
    assert wait_for(listed, "the certificate on the unit's list") == [cid]
    # CS redelivers (an acknowledgement lost, say): the row is not written twice and the event does not fail.
    put_event(activemq, eventType="certificate-signed", certificateId=cid)
    assert len(statistics_of(activemq, cid, 2)) == 2
    assert listed() == [cid]
    _, answer = client.call_raw("ListSickLeavesForPerson", 1, samples.list_sick_leaves_for_person(person))
    assert [d.findtext(f"{{{REHAB}}}intygsId") for d in answer.iter(f"{{{REHAB}}}intygsData")] == [cid]

    cs.add_certificate(cid, element, revoked={"revokedAt": "2026-12-05T09:10:00", "revokedBy": {}})
    put_event(activemq, eventType="certificate-revoked", certificateId=cid)
    wait_for(lambda: listed() == [], "the revoked certificate off the list")


def test_a_certificate_revoked_before_its_signed_event_is_handled_stays_off_the_lists(gateway, activemq, cs):
    # Another gateway handled the revocation first (or the signed event waited for a retry): the
    # revocation found no row to mark, and the signed event must not list a revoked certificate.
    from tests.support.fresh import new_hsa, new_person

    cid, unit = str(uuid.uuid4()), new_hsa("U")
    revoked = {"revokedAt": "2026-12-05T09:10:00", "revokedBy": {}}
    cs.add_certificate(cid, sick_leave_element(cid, new_person(), unit), revoked=revoked)
    put_event(activemq, eventType="certificate-revoked", certificateId=cid)
    put_event(activemq, eventType="certificate-signed", certificateId=cid)
    assert sorted(m["properties"]["action"] for m in statistics_of(activemq, cid, 2)) == ["created", "revoked"]
    assert listed_on(gateway, unit) == []


def test_test_certificates_and_events_without_properties_are_dropped(gateway, activemq, cs):
    test_cid, later = str(uuid.uuid4()), str(uuid.uuid4())
    cs.add_certificate(test_cid, register_element(test_cid), test=True)
    cs.add_certificate(later, register_element(later))
    put_event(activemq, eventType="certificate-signed", certificateId=test_cid)
    put_event(activemq, eventType="certificate-signed")  # no certificateId: logged and dropped
    put_event(activemq, eventType="certificate-signed", certificateId=later)
    # The queue is handled in order: once the later event's message is there, the earlier two were settled.
    seen: list[str] = []
    wait_for(
        lambda: (
            seen.extend(
                m["properties"]["certificate-id"] for m in JmsReader().read(activemq, "certificate.queue", 5, 3)
            )
            or later in seen
        ),
        "the later event's statistics",
    )
    assert test_cid not in seen
    assert "Certificate event missing required parameter(s)" in gateway.log_path.read_text()


def test_an_event_that_keeps_failing_goes_to_the_dead_letter_queue(gateway, activemq, cs):
    cid = str(uuid.uuid4())
    cs.add_certificate(cid, register_element(cid))
    cs.failing.add(cid)
    put_event(activemq, eventType="certificate-signed", certificateId=cid)
    [dead] = JmsReader().read(activemq, f"DLQ.{QUEUE}", 1, 60)
    assert dead["properties"]["certificateId"] == cid and dead["properties"]["eventType"] == "certificate-signed"
    assert "HTTP 500" in dead["properties"]["dlq-reason"]
    assert sum(1 for c in cs.calls if cid in c) == 3  # tried, then again after 4 s and 6 s


def test_a_revocation_of_an_unsent_certificate_goes_to_no_recipient(gateway, activemq, cs, recipient):
    # Only a certificate the Certificate Service says was sent has a recipient to tell.
    cid = str(uuid.uuid4())
    revoked = {"revokedAt": "2026-12-05T09:10:00", "revokedBy": {"personId": "SE2321000016-1R2F", "fullName": "X"}}
    cs.add_certificate(cid, register_element(cid), revoked=revoked)
    put_event(activemq, eventType="certificate-revoked", certificateId=cid)
    # The statistics event is written in the transaction that would have queued the forward.
    assert [m["properties"]["action"] for m in statistics_of(activemq, cid, 1)] == ["revoked"]
    assert "Revoke" not in _outbox_of(gateway, cid)
    assert [m for m in recipient.client.messages() if m.get("certificate_id") == cid] == []
