"""CertificateStatusUpdateForCare 3 notifications to the care unit, through the outbox.

The reference hub leaves these to Webcert; here they are queued in the same
transaction as the change that causes them, one queue per care system, so a
care system that is down holds back only its own notifications.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from intygsgw import correlation
from intygsgw.domain import states as st
from intygsgw.domain.records import TO_CARE, TO_RECIPIENT, MessageRecord
from intygsgw.domain.states import HSVARD
from intygsgw.interactions import CERTIFICATE_STATUS_UPDATE_FOR_CARE_3
from intygsgw.service.ports import UnitOfWork
from intygsgw.service.services import Services
from intygsgw.service.views import CertificateView

log = logging.getLogger(__name__)

REMINDER = "PAMINN"
HANDELSE_CODE_SYSTEM = "dfd7bbad-dbe5-4a2f-ba25-f7b9b2cc6b14"
AMNE_CODE_SYSTEM = "ffa59d8f-8d7e-46ae-ac9e-31804e8e8499"
# Handelsekoder of the events a care system sees for a certificate.
SENT_EVENT = "SKICKA"
REVOKED_EVENT = "MAKULE"
QUESTION_FROM_RECIPIENT = "NYFRFM"
ANSWER_FROM_RECIPIENT = "NYSVFM"
QUESTION_FROM_CARE = "NYFRFV"
ANSWER_TO_RECIPIENT = "HANFRFM"  # care answering a recipient's question handles it


@dataclass(frozen=True)
class Event:
    code: str
    timestamp: dt.datetime
    subject: str | None = None


@dataclass(frozen=True)
class QuestionCounts:
    total: int = 0
    unanswered: int = 0
    answered: int = 0
    handled: int = 0


def question_counts(messages: list[MessageRecord], direction: str) -> QuestionCounts:
    """Counts of the questions sent in ``direction`` (answers are not questions).

    A recipient's question that care has answered is handled, not answered:
    the answer is care's last step (its event is HANFRFM), as it is in the
    care systems that show these counts. A question care sent stays answered
    once the recipient has replied, until it is marked handled.
    """
    answered_ids = {m.reply_to for m in messages if m.reply_to}
    questions = [m for m in messages if m.direction == direction and not m.reply_to and m.subject != REMINDER]
    answer_handles = direction == TO_CARE
    handled = answered = 0
    for q in questions:
        if q.handled or (answer_handles and q.message_id in answered_ids):
            handled += 1
        elif q.message_id in answered_ids:
            answered += 1
    return QuestionCounts(
        total=len(questions), handled=handled, answered=answered, unanswered=len(questions) - handled - answered
    )


def enqueue_status_update(svc: Services, uow: UnitOfWork, certificate_id: str, event: Event) -> bool:
    """Queue a notification on ``uow`` (not committed here); False when there is nowhere to send it."""
    if svc.outbound is None or svc.render_status_update is None:
        return False
    # Locked: the counts are read from the certificate's messages, and two questions stored at once
    # on PostgreSQL would each count without the other, the later notification telling care of one.
    record = uow.certificates.get_for_update(certificate_id)
    if record is None or record.test_certificate:
        return False
    address = record.care_unit_id
    if not svc.outbound.has_route(CERTIFICATE_STATUS_UPDATE_FOR_CARE_3.namespace, address, svc.clock.local().date()):
        return False  # a care unit without an integrated system gets no notifications
    document = uow.certificates.document(certificate_id)
    if document is None:
        return False  # a damaged row: nothing to describe the certificate with
    view = CertificateView(record, document, st.visible_to(uow.certificates.states(certificate_id), HSVARD))
    messages = uow.messages.stored_for([certificate_id])[certificate_id]
    payload = svc.render_status_update(
        view, event, question_counts(messages, TO_RECIPIENT), question_counts(messages, TO_CARE)
    )
    uow.outbox.enqueue(
        contract=CERTIFICATE_STATUS_UPDATE_FOR_CARE_3.namespace,
        logical_address=address,
        kind="notification",
        reference=certificate_id,
        payload=payload,
        correlation_id=correlation.current(),
        now=svc.clock.utc(),
    )
    return True
