"""Events the hub publishes on message-broker queues for its other consumers (hub-behaviour §3.5, §3.6).

Intygsstatistik reads ``certificate.queue``: every registration, revocation
and send, and every message to care, as a JMS TextMessage with string
properties. Webcert reads ``internal.notification.queue`` when a citizen sends
a certificate. An event travels through the outbox, written in the
transaction of the change that causes it, so it is published at least once:
a consumer de-duplicates on the ``event-id`` property, which stays the same on
every attempt.

What is stored in the outbox is the queue name as the contract
(``jms:<queue>``) and the event encoded by :func:`encode`. An event whose body
is a stored certificate's document (created, revoked) names the certificate
instead of carrying a copy: the publisher reads the document when it sends.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

QUEUE_PREFIX = "jms:"
BROKER_ADDRESS = "broker"  # the outbox's logical address of every broker event: one ordered queue per queue name

CREATED, REVOKED, SENT, MESSAGE_SENT = "created", "revoked", "sent", "message-sent"
EVENT_KIND = "event"  # what the outbox calls an item that is a broker event


@dataclass(frozen=True)
class Feeds:
    """Which queues the gateway publishes to; None for a feed that is off."""

    statistics_queue: str | None = None
    notification_queue: str | None = (
        None  # care is told of citizen sends here instead of CertificateStatusUpdateForCare
    )


def new_event_id() -> str:
    """A random (version 4) UUID as text, the id a consumer de-duplicates on.

    Every registration makes one with the statistics feed on; ``str(uuid.uuid4())``
    takes the same random bits (``os.urandom``) through the UUID class's general
    constructor and formatter, at twice the cost (2.5 against 1.1 us here).
    """
    raw = bytearray(secrets.token_bytes(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class BrokerEvent:
    queue: str
    properties: dict[str, str]
    body: bytes = b""  # UTF-8 text
    event_id: str = field(default_factory=new_event_id)
    # The certificate whose stored document is the body, filled in when published: a second
    # 10 KB copy in the outbox cost every registration its write (and the WAL its pages).
    body_of: str | None = None

    @property
    def contract(self) -> str:
        return queue_contract(self.queue)


def statistics_event(
    queue: str,
    action: str,
    certificate_id: str,
    certificate_type: str,
    body: bytes = b"",
    recipient: str | None = None,
    message_id: str | None = None,
    body_of: str | None = None,
) -> BrokerEvent:
    """A statistics message as Intygsstatistik's receiver reads it (§3.5)."""
    properties = {"action": action, "certificate-id": certificate_id, "certificate-type": certificate_type}
    if recipient is not None:
        properties["certificate-recipient"] = recipient
    if message_id is not None:
        properties["message-id"] = message_id
    return BrokerEvent(queue, properties, body, body_of=body_of)


def citizen_sent_notification(
    queue: str, certificate_id: str, certificate_type: str, type_version: str, care_unit_id: str
) -> BrokerEvent:
    """The empty message Webcert turns into a SKICKA notification to the care system (§3.6)."""
    return BrokerEvent(
        queue,
        {
            "action": SENT,
            "certificate-id": certificate_id,
            "certificate-type": certificate_type,
            "certificate-type-version": type_version,
            "care-unit-id": care_unit_id,
        },
    )


def encode(event: BrokerEvent) -> bytes:
    """One JSON line of queue, id and properties, then the body as it is: a 10 KB certificate is
    neither escaped into JSON on every registration nor parsed out of it on every publish."""
    head: dict = {"queue": event.queue, "event-id": event.event_id, "properties": event.properties}
    if event.body_of is not None:
        head["body-of"] = event.body_of
    return json.dumps(head).encode("utf-8") + b"\n" + event.body


def decode(payload: bytes) -> BrokerEvent:
    head, _, body = payload.partition(b"\n")
    data = json.loads(head)
    return BrokerEvent(data["queue"], dict(data["properties"]), body, data["event-id"], data.get("body-of"))


def queue_contract(queue: str) -> str:
    """What the outbox calls a queue's events in place of a contract namespace."""
    return QUEUE_PREFIX + queue


def is_broker_contract(contract: str) -> bool:
    return contract.startswith(QUEUE_PREFIX)
