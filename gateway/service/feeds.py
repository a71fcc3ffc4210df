"""Queueing broker events in the change's own transaction (intygsgw.domain.events).

Written to the outbox on the caller's unit of work, never committed here: if
the change rolls back, so does its event, and if it commits, the event will be
published (at least once) even if the gateway dies the next moment.
"""

from __future__ import annotations

from intygsgw import correlation
from intygsgw.domain.events import (
    BROKER_ADDRESS,
    EVENT_KIND,
    BrokerEvent,
    citizen_sent_notification,
    encode,
    statistics_event,
)
from intygsgw.domain.records import CertificateRecord
from intygsgw.service.ports import UnitOfWork
from intygsgw.service.services import Services


def queue_event(svc: Services, uow: UnitOfWork, event: BrokerEvent, reference: str) -> None:
    uow.outbox.enqueue(
        contract=event.contract,
        logical_address=BROKER_ADDRESS,
        kind=EVENT_KIND,
        reference=reference,
        payload=encode(event),
        correlation_id=correlation.current(),
        now=svc.clock.utc(),
    )


def queue_statistics(
    svc: Services,
    uow: UnitOfWork,
    record: CertificateRecord,
    action: str,
    body: bytes = b"",
    recipient: str | None = None,
    message_id: str | None = None,
    body_of: str | None = None,
) -> None:
    """Tell Intygsstatistik, when the feed is on; never about validation persons or test certificates.

    ``body_of``: the certificate whose stored document is the body, read when the event is published.
    """
    queue = svc.feeds.statistics_queue if svc.feeds is not None else None
    if not queue or record.test_certificate or record.person_id in svc.validation_persons:
        return
    event = statistics_event(queue, action, record.id, record.type, body, recipient, message_id, body_of)
    queue_event(svc, uow, event, message_id or record.id)


def queue_citizen_sent(svc: Services, uow: UnitOfWork, record: CertificateRecord) -> bool:
    """Tell Webcert on its queue that a citizen sent the certificate; False when care is told otherwise."""
    queue = svc.feeds.notification_queue if svc.feeds is not None else None
    if not queue:
        return False
    if not record.test_certificate and record.person_id not in svc.validation_persons:
        event = citizen_sent_notification(queue, record.id, record.type, record.type_version, record.care_unit_id)
        queue_event(svc, uow, event, record.id)
    return True
