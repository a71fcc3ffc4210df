"""The statistics feed and the citizen-send notification on a real ActiveMQ, read with a STOMP consumer.

Intygsstatistik's listener reads ``certificate.queue`` as JMS TextMessages
with string properties (hub-behaviour §3.5); over STOMP a TextMessage is a
frame without ``content-length``. The gateway writes each event to its outbox
in the transaction of the change and publishes it afterwards, so a broker that
is away for half a minute, or a gateway killed with SIGKILL while publishing,
loses nothing: every event arrives at least once, with a stable ``event-id``.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import REGISTER_CERTIFICATE_3, REVOKE_CERTIFICATE_2, SEND_CERTIFICATE_TO_RECIPIENT_2
from tests.messages.test_message_relay_http import to_care
from tests.support.activemq import JmsReader, QueueReader
from tests.support.routes import write_stub_routes
from tests.support.server import GatewayProcess

XML = {"Content-Type": "text/xml; charset=utf-8"}
VALIDATION_PERSON = "195206172339"
CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"


def call(gw, path: str, body: bytes) -> str:
    resp = requests.post(gw.base_url + path, data=body, headers=XML, timeout=60)
    assert resp.status_code == 200, resp.text
    return etree.fromstring(resp.content).findtext(f".//{{{CORE}}}resultCode")


def register(gw, cid: str, person: str = samples.PATIENT) -> None:
    code = call(gw, REGISTER_CERTIFICATE_3.path, samples.register_certificate(CertificateSpec(cid, person_id=person)))
    assert code == "OK"


def start_gateway(folder, broker, stub=None, contracts=("SendMessageToCare:2", "RegisterCertificate:3"), **env):
    folder.mkdir(parents=True, exist_ok=True)
    routes = write_stub_routes(folder / "routes.toml", stub.base_url if stub else "", contracts if stub else ())
    return GatewayProcess(
        folder,
        extra_env={
            "INTYGSGW_STATISTICS": "on",
            "INTYGSGW_BROKER_URL": broker.url,
            "INTYGSGW_RETRY_DELAYS": "1s,2s",
            "INTYGSGW_ROUTES_FILE": str(routes),
            "INTYGSGW_VALIDATION_PERSONS": VALIDATION_PERSON,
            # The same name after a restart: the new process takes over the old one's claims at once.
            "INTYGSGW_INSTANCE_NAME": f"feeds-{folder.name}",
            **env,
        },
    ).start()


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    proc = StubProcess(tmp_path_factory.mktemp("stub"), name="fk-and-care").start()
    yield proc
    proc.stop()


def test_each_change_is_one_text_message_with_the_reference_properties(tmp_path, activemq, stub):
    gw = start_gateway(tmp_path, activemq, stub)
    try:
        cid = str(uuid.uuid4())
        register(gw, cid)
        send = samples.send_certificate_to_recipient(cid, "FKASSA")
        assert call(gw, SEND_CERTIFICATE_TO_RECIPIENT_2.path, send) == "OK"
        message_id = str(uuid.uuid4())
        to_care_path = "/clinicalprocess/healthcond/certificate/SendMessageToCare/2/rivtabp21"
        assert call(gw, to_care_path, to_care(message_id, cid)) == "OK"
        assert call(gw, REVOKE_CERTIFICATE_2.path, samples.revoke_certificate(cid)) == "OK"
        # Read as Intygsstatistik's listener reads it: a Java JMS consumer over OpenWire.
        messages = [
            m
            for m in JmsReader().read(activemq, "certificate.queue", 4)
            if m["properties"].get("certificate-id") == cid
        ]
    finally:
        gw.stop()
    assert [m["properties"]["action"] for m in messages] == ["created", "sent", "message-sent", "revoked"]
    assert all(m["text_message"] for m in messages), [m["class"] for m in messages]
    created, sent, message, revoked = messages
    base = {"certificate-id": cid, "certificate-type": "lisjp"}
    for m in messages:
        uuid.UUID(m["properties"].pop("event-id"))  # the stable id a consumer de-duplicates on
    assert created["properties"] == {**base, "action": "created"}
    assert revoked["properties"] == {**base, "action": "revoked"}
    assert sent["properties"] == {**base, "action": "sent", "certificate-recipient": "FKASSA"}
    # STOMP cannot set a property named message-id on ActiveMQ; the id is the JMSCorrelationID.
    assert message["properties"] == {**base, "action": "message-sent"}
    assert message["correlation_id"] == message_id
    # created and revoked carry the certificate as registered; sent nothing; message-sent the message.
    assert cid in created["text"] and "RegisterCertificate" in created["text"]
    assert revoked["text"] == created["text"]
    assert sent["text"] == ""
    assert message_id in message["text"] and "SendMessageToCare" in message["text"]


def test_validation_persons_and_a_switched_off_feed_publish_nothing(tmp_path, activemq):
    reader = QueueReader(activemq, "certificate.queue")
    gw = start_gateway(tmp_path / "on", activemq)
    try:
        hidden, seen = str(uuid.uuid4()), str(uuid.uuid4())
        register(gw, hidden, VALIDATION_PERSON)
        register(gw, seen)
        # The queue is in commit order: once the later certificate is there, the earlier would be too.
        assert any(h.get("certificate-id") == seen for h, _ in reader.wait_for(1))
    finally:
        gw.stop()
    off = GatewayProcess(tmp_path / "off", extra_env={"INTYGSGW_BROKER_URL": activemq.url}).start()
    try:
        quiet = str(uuid.uuid4())
        register(off, quiet)
        time.sleep(2)
    finally:
        off.stop()
        reader.close()
    ids = {h.get("certificate-id") for h, _ in reader.frames}
    assert seen in ids and hidden not in ids and quiet not in ids


def test_a_broker_away_for_thirty_seconds_under_load_loses_nothing(tmp_path, activemq):
    gw = start_gateway(tmp_path, activemq)
    ids = [str(uuid.uuid4()) for _ in range(60)]
    try:
        activemq.stop()
        errors: list[BaseException] = []

        def load(chunk):
            try:
                for cid in chunk:
                    register(gw, cid)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=load, args=(ids[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        time.sleep(30)  # the broker stays away while the gateway keeps answering and queueing
        activemq.start()
        reader = QueueReader(activemq, "certificate.queue")
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not set(ids) <= {h.get("certificate-id") for h, _ in reader.frames}:
                time.sleep(0.5)
            got = {h.get("certificate-id") for h, _ in reader.frames}
        finally:
            reader.close()
    finally:
        gw.stop()
    assert set(ids) <= got, f"{len(set(ids) - got)} of {len(ids)} events lost"


def test_a_gateway_killed_while_publishing_loses_nothing_on_restart(tmp_path, activemq):
    reader = QueueReader(activemq, "certificate.queue")
    gw = start_gateway(tmp_path, activemq)
    ids = [str(uuid.uuid4()) for _ in range(80)]
    try:
        for cid in ids:
            register(gw, cid)
        # Publishing is under way when the whole process group goes.
        reader.wait_for(1, timeout=30)
        gw.kill()
        gw = start_gateway(tmp_path, activemq)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not set(ids) <= {h.get("certificate-id") for h, _ in reader.frames}:
            time.sleep(0.5)
    finally:
        gw.stop()
        reader.close()
    frames = [(h, b) for h, b in reader.frames if h.get("certificate-id") in set(ids)]
    got = {h["certificate-id"] for h, _ in frames}
    assert set(ids) <= got, f"{len(set(ids) - got)} of {len(ids)} events lost"
    # At least once: a repeat after the kill carries the same event-id, so a consumer can drop it.
    event_ids: dict[str, set[str]] = {}
    for h, _ in frames:
        event_ids.setdefault(h["certificate-id"], set()).add(h["event-id"])
    assert all(len(v) == 1 for v in event_ids.values())


def test_a_citizen_send_goes_to_webcerts_queue_instead_of_a_status_update(tmp_path, activemq, stub):
    """care_notification = "queue": the reference's message for Webcert, and no SKICKA of the gateway's own."""
    stub.client.clear()
    gw = start_gateway(
        tmp_path,
        activemq,
        stub,
        INTYGSGW_STATISTICS="off",
        INTYGSGW_CARE_NOTIFICATION="queue",
    )
    (tmp_path / "routes.toml").write_text(
        (tmp_path / "routes.toml").read_text()
        + f'[[route]]\\ncontract = "CertificateStatusUpdateForCare:3"\\nlogical_address = "*"\\nurl = "{stub.base_url}/csu"\\n'
    )
    try:
        cid = str(uuid.uuid4())
        register(gw, cid)
        send = samples.send_certificate_to_recipient(cid, "FKASSA", sent_by_citizen=True)
        assert call(gw, SEND_CERTIFICATE_TO_RECIPIENT_2.path, send) == "OK"
        [message] = JmsReader().read(activemq, "internal.notification.queue", 1)
        time.sleep(3)  # time enough for a status update to have gone out, had one been queued
    finally:
        gw.stop()
    properties = message["properties"]
    uuid.UUID(properties.pop("event-id"))
    assert properties == {
        "action": "sent",
        "certificate-id": cid,
        "certificate-type": "lisjp",
        "certificate-type-version": "1.3",
        "care-unit-id": samples.CARE_UNIT,
    }
    assert message["text_message"] and message["text"] == ""
    assert not [m for m in stub.client.messages() if "CertificateStatusUpdateForCare" in str(m)]
