"""Questions and answers (ärenden) between care and recipients (hub-behaviour §1.9, §3.4).

Both directions are a validating synchronous relay plus an audit store. The
meddelande-id is claimed in its own committed transaction before the relay so
that of two concurrent duplicates only one reaches the receiver; the claim is
confirmed when the downstream answer is not ERROR and released otherwise.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass

from intygsgw import audit, correlation
from intygsgw.domain.events import MESSAGE_SENT
from intygsgw.domain.personnummer import try_parse_person_id
from intygsgw.domain.records import TO_CARE, TO_RECIPIENT, MessageRecord
from intygsgw.domain.results import ErrorId, Result, error
from intygsgw.domain.states import State
from intygsgw.interactions import SEND_MESSAGE_TO_CARE_2, SEND_MESSAGE_TO_RECIPIENT_2
from intygsgw.service.certificates import list_for_care
from intygsgw.service.feeds import queue_statistics
from intygsgw.service.notifications import (
    ANSWER_FROM_RECIPIENT,
    ANSWER_TO_RECIPIENT,
    QUESTION_FROM_CARE,
    QUESTION_FROM_RECIPIENT,
    REMINDER,
    REVOKED_EVENT,
    SENT_EVENT,
    Event,
    QuestionCounts,
    enqueue_status_update,
    question_counts,
)
from intygsgw.service.services import Services
from intygsgw.service.views import CertificateView

log = logging.getLogger(__name__)

# Far longer than a relay takes within a route's timeouts (2 s + 29 s by
# default), so only a claim whose process died mid-relay is ever this old.
STALE_CLAIM_AGE = dt.timedelta(minutes=10)

SUBJECTS = ("KOMPLT", "AVSTMN", "KONTKT", "OVRIGT", "PAMINN")


@dataclass(frozen=True)
class IncomingMessage:
    message_id: str
    certificate_id: str
    subject: str
    person_id: str
    sender: str  # skickatAv part code (to care) or the sending care unit (to recipient)
    recipient_address: str  # logiskAdressMottagare
    document: bytes  # the request element, self-contained
    reply_to: str | None = None  # svarPa meddelande-id
    reminder_of: str | None = None  # paminnelseMeddelande-id
    reference_id: str | None = None
    has_deadline: bool = False  # sistaDatumForSvar present
    has_komplettering: bool = False
    sent_at: dt.datetime | None = None


def _java_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def validate_to_recipient(svc: Services, msg: IncomingMessage) -> Result | None:
    """The reference's SendMessageToRecipient checks, in its order; None passes."""
    errors: list[str] = []
    with svc.store.reading() as uow:
        if msg.subject not in SUBJECTS:
            errors.append("Invalid amneskod")
        if msg.has_deadline and (msg.reply_to or msg.reminder_of is not None):
            errors.append("SistaDatumForSvar is only valid on Questions")
        if uow.messages.id_taken(msg.message_id):
            errors.append("MeddelandeId is not globally unique")
        if msg.reminder_of is not None and msg.subject != REMINDER:
            errors.append("paminnelseMeddelandeId should only be present if amne is PAMINN")
        elif msg.subject == REMINDER and msg.reminder_of is None:
            errors.append("PAMINN should define paminnelseMeddelandeId")
        elif msg.reminder_of is not None and uow.messages.get(msg.reminder_of) is None:
            errors.append("Paminnelse Meddelande does not exist")
        if msg.reply_to:
            question = uow.messages.get(msg.reply_to)
            if question is None:
                errors.append("SvarPa Meddelande does not exist")
            elif question.subject != msg.subject:
                errors.append("Svar amne is not consistent with question")
        certificate = uow.certificates.get(msg.certificate_id)
        if certificate is None:
            return error(ErrorId.APPLICATION_ERROR, "Intyg does not exist")
        person = try_parse_person_id(msg.person_id)
        if person is None or person.digits != certificate.person_id:
            errors.append("PatientPersonId is not consistent with certificate")
        history = uow.certificates.states(msg.certificate_id)
        if not any(entry.state == State.SENT for entry in history):
            errors.append("Certificate is not sent to recipient")
    return error(ErrorId.VALIDATION_ERROR, _java_list(errors)) if errors else None


def validate_to_care(svc: Services, msg: IncomingMessage) -> Result | None:
    """The reference's SendMessageToCare checks, in its order; None passes."""
    errors: list[str] = []
    with svc.store.reading() as uow:
        if svc.recipients.get(msg.sender) is None:
            errors.append(f"SkickatAv part code {msg.sender} is not valid")
        if not msg.message_id.strip() or uow.messages.id_taken(msg.message_id):
            errors.append("MEDDELANDE_ID_NOT_UNIQUE_ERROR")
            errors.append("Meddelande-id is not a GUID")
        if msg.subject not in SUBJECTS:
            errors.append("SUBJECT_NOT_SUPPORTED_ERROR")
            errors.append(
                " The supplied certificate subject is invalid. "
                "Supported subjects are KOMPLT, AVSTMN, KONTKT, OVRIGT, PAMINN"
            )
        certificate = uow.certificates.get(msg.certificate_id)
        if certificate is None:
            errors.append(f"Unknown certificate ID: {msg.certificate_id}")
        else:
            person = try_parse_person_id(msg.person_id)
            if person is None or person.digits != certificate.person_id:
                errors.append("CIVIC_REGISTRATION_NUMBER_INCONSISTENCY_ERROR")
        if msg.reply_to and msg.has_deadline:
            errors.append("MESSAGE_TYPE_CONSISTENCY_ERROR")
            errors.append(
                f" Message concerning certificate id {msg.certificate_id} is an answer to a "
                "questionand should not specify a last date of reply 'sistaSvarsDatum'."
            )
        if (msg.subject == REMINDER) != (msg.reminder_of is not None):
            errors.append("PAMINNELSE_ID_INCONSISTENCY_ERROR")
        elif msg.reminder_of is not None and uow.messages.get(msg.reminder_of) is None:
            errors.append("REFERENCED_MESSAGE_NOT_FOUND_ERROR")
        if msg.reply_to:
            question = uow.messages.get(msg.reply_to)
            if question is None:
                errors.append("REFERENCED_MESSAGE_NOT_FOUND_ERROR")
            elif msg.subject != REMINDER and question.subject != msg.subject:
                errors.append("SUBJECT_CONSISTENCY_ERROR")
                errors.append(
                    f" Message with meddelandeId {msg.reply_to} referenced by reply message with id "
                    f"{msg.message_id} regarding certificate with id {msg.certificate_id}"
                )
        if msg.has_komplettering and msg.subject != "KOMPLT":
            errors.append("KOMPLETTERING_INCONSISTENCY_ERROR")
        if certificate is None:
            errors.append(f"Unknown certificate ID: {msg.certificate_id}")
        elif certificate.test_certificate:
            errors.append("TEST_CERTIFICATE")
            errors.append(" The supplied certificate is invalid. Messages cannot be sent for test certificates.")
    if not errors:
        return None
    return _to_care_refused(msg, errors)


def _to_care_refused(msg: IncomingMessage, errors: list[str]) -> Result:
    """SendMessageToCare's validation answer, naming what failed as the reference's list does."""
    return error(
        ErrorId.VALIDATION_ERROR,
        f"Validation of SendMessageToCare failed for message with question id {msg.message_id} "
        f"and certificate id {msg.certificate_id}. {_java_list(errors)}",
    )


def _record(msg: IncomingMessage, direction: str, now: dt.datetime) -> MessageRecord:
    return MessageRecord(
        message_id=msg.message_id,
        certificate_id=msg.certificate_id,
        subject=msg.subject,
        reply_to=msg.reply_to,
        reminder_of=msg.reminder_of,
        reference_id=msg.reference_id,
        sender=msg.sender,
        recipient_address=msg.recipient_address,
        direction=direction,
        has_deadline=msg.has_deadline,
        sent_at=msg.sent_at,
        received_at=now,
        document=msg.document,
    )


class Claim(enum.Enum):
    CLAIMED = "claimed"
    DUPLICATE = "duplicate"  # the meddelande-id is taken
    NO_CERTIFICATE = "no certificate"  # erased since the message was validated


def claim_message(svc: Services, msg: IncomingMessage, direction: str) -> Claim:
    """Reserve the meddelande-id in a committed transaction, while its certificate is still stored."""
    now = svc.clock.utc()
    with svc.store.writing() as uow:
        # The certificate's row locked: a care provider's erasure, which locks its certificates before
        # it deletes their messages, either went first (the certificate is gone and nothing is
        # claimed) or waits and then deletes this message with the rest. Checked at validation only,
        # an erasure between the two left a message of an erased certificate behind.
        if uow.certificates.get_for_update(msg.certificate_id) is None:
            return Claim.NO_CERTIFICATE
        claimed = uow.messages.claim(_record(msg, direction, now), stale_before=now - STALE_CLAIM_AGE)
        uow.commit()
    return Claim.CLAIMED if claimed else Claim.DUPLICATE


def settle_message(svc: Services, message_id: str, stored: bool) -> None:
    """Confirm or release a claim; a stored question or answer to care notifies the care system."""
    with svc.store.writing() as uow:
        if stored:
            uow.messages.confirm(message_id)
            message = uow.messages.get(message_id)
            if message is not None and message.direction == TO_CARE:
                code = ANSWER_FROM_RECIPIENT if message.reply_to else QUESTION_FROM_RECIPIENT
                enqueue_status_update(svc, uow, message.certificate_id, Event(code, svc.clock(), message.subject))
                certificate = uow.certificates.get(message.certificate_id)
                if certificate is not None:
                    queue_statistics(
                        svc, uow, certificate, MESSAGE_SENT, message.document, message_id=message.message_id
                    )
        else:
            uow.messages.release(message_id)
        uow.commit()


def _relay(
    svc: Services, msg: IncomingMessage, direction: str, contract: str, duplicate: Result, no_certificate: Result
) -> Result:
    claim = claim_message(svc, msg, direction)
    if claim is Claim.DUPLICATE:
        return duplicate
    if claim is Claim.NO_CERTIFICATE:
        return no_certificate
    try:
        answer = _downstream(svc, contract, msg)
    except BaseException:
        settle_message(svc, msg.message_id, stored=False)  # a claim must not outlive a failed relay
        raise
    settle_message(svc, msg.message_id, stored=answer.code != "ERROR")
    return answer


RELAY_FAILED = "Could not send Message."
NO_CERTIFICATE = "Intyg does not exist"


def _downstream(svc: Services, contract: str, msg: IncomingMessage) -> Result:
    if svc.outbound is None:
        log.error("no outbound routing configured; cannot relay message %s", msg.message_id)
        return error(ErrorId.APPLICATION_ERROR, RELAY_FAILED)
    outcome = svc.outbound.send(contract, msg.recipient_address, msg.document, correlation_id=correlation.current())
    if outcome.kind == "result" and outcome.result_code is not None:
        return Result(
            outcome.result_code,
            outcome.text or None,
            ErrorId(outcome.error_id) if outcome.error_id in ErrorId.__members__ else None,
        )
    log.warning("relaying message %s failed: %s", msg.message_id, outcome.describe())
    # As the reference answers a failed relay: its exception's message as an
    # APPLICATION_ERROR, which is the receiver's faultstring, or the client's
    # generic text when nothing SOAP came back (never the internal address).
    return error(ErrorId.APPLICATION_ERROR, outcome.text if outcome.kind == "fault" else RELAY_FAILED)


def send_message_to_recipient(svc: Services, msg: IncomingMessage) -> Result:
    audit.note(msg.person_id, [msg.certificate_id])
    failed = validate_to_recipient(svc, msg)
    if failed is not None:
        return failed
    with svc.store.reading() as uow:
        certificate = uow.certificates.get(msg.certificate_id)
    if certificate is None:  # purged since it was validated
        return error(ErrorId.APPLICATION_ERROR, NO_CERTIFICATE)
    if certificate.test_certificate:
        return Result("OK")  # the reference answers OK and forwards nothing
    if certificate.person_id in svc.validation_persons:
        return error(
            ErrorId.VALIDATION_ERROR,
            f"Message about certificate '{msg.certificate_id}' couldn't be sent to recipient because "
            "the patient is a validation person",
        )
    return _relay(
        svc,
        msg,
        TO_RECIPIENT,
        SEND_MESSAGE_TO_RECIPIENT_2.namespace,
        error(ErrorId.VALIDATION_ERROR, _java_list(["MeddelandeId is not globally unique"])),
        error(ErrorId.APPLICATION_ERROR, NO_CERTIFICATE),
    )


def send_message_to_care(svc: Services, msg: IncomingMessage) -> Result:
    audit.note(msg.person_id, [msg.certificate_id])
    failed = validate_to_care(svc, msg)
    if failed is not None:
        return failed
    return _relay(
        svc,
        msg,
        TO_CARE,
        SEND_MESSAGE_TO_CARE_2.namespace,
        _to_care_refused(msg, ["MEDDELANDE_ID_NOT_UNIQUE_ERROR", "Meddelande-id is not a GUID"]),
        # What validation answers for a certificate not stored (its two checks of it both fail).
        _to_care_refused(msg, [f"Unknown certificate ID: {msg.certificate_id}"] * 2),
    )


@dataclass(frozen=True)
class CertificateWithQA:
    view: CertificateView
    events: list[Event]
    sent_questions: QuestionCounts  # asked by care
    received_questions: QuestionCounts  # asked by the recipient


def message_event(message: MessageRecord) -> Event:
    if message.direction == TO_CARE:
        code = ANSWER_FROM_RECIPIENT if message.reply_to else QUESTION_FROM_RECIPIENT
    else:
        code = ANSWER_TO_RECIPIENT if message.reply_to else QUESTION_FROM_CARE
    return Event(code, message.sent_at or message.received_at, message.subject)


def list_for_care_with_qa(
    svc: Services,
    person_id: str,
    unit_ids: list[str],
    care_giver_id: str | None,
    signed_from: dt.datetime | None,
    signed_to: dt.datetime | None,
) -> list[CertificateWithQA]:
    # The same selection and status visibility as ListCertificatesForCare.

    views = [
        v
        for v in list_for_care(svc, person_id, unit_ids)
        if (not care_giver_id or v.record.care_giver_id == care_giver_id)
        and (signed_from is None or (v.record.signed_at and v.record.signed_at >= signed_from))
        and (signed_to is None or (v.record.signed_at and v.record.signed_at <= signed_to))
    ]
    with svc.store.reading() as uow:
        stored = uow.messages.stored_for([v.record.id for v in views])
    out = []
    for view in views:
        messages = stored[view.record.id]
        events = [Event(SENT_EVENT, s.timestamp) for s in view.statuses if s.state == State.SENT]
        events += [Event(REVOKED_EVENT, s.timestamp) for s in view.statuses if s.state == State.CANCELLED]
        events += [message_event(m) for m in messages]
        events.sort(key=lambda e: e.timestamp)
        out.append(
            CertificateWithQA(view, events, question_counts(messages, TO_RECIPIENT), question_counts(messages, TO_CARE))
        )
    return out
