"""Events from the certificate-service (hub-behaviour §3.7): what the hub does when CS says something happened.

CS keeps the certificates it issues; the hub tells Intygsstatistik about them
and forwards them to recipients. Everything is queued in the outbox in one
transaction, so an event handled once is never half done, and one that fails
(CS unreachable, say) changes nothing and is tried again by the consumer.
"""

from __future__ import annotations

import logging

from intygsgw import correlation
from intygsgw.domain import events
from intygsgw.domain.personnummer import try_parse_person_id
from intygsgw.domain.records import CertificateRecord
from intygsgw.errors import GatewayError
from intygsgw.interactions import REGISTER_CERTIFICATE_3, REVOKE_CERTIFICATE_2, SEND_MESSAGE_TO_RECIPIENT_2
from intygsgw.rules.intyg_header import read_intyg_header
from intygsgw.service.feeds import queue_event
from intygsgw.service.ports import CertificateServiceClient, CsCertificate, UnitOfWork
from intygsgw.service.services import Services
from intygsgw.service.sick_leave import listed_item_of, sick_leave_of

log = logging.getLogger(__name__)

SIGNED, REVOKED, SENT, MESSAGE_SENT = "certificate-signed", "certificate-revoked", "certificate-sent", "message-sent"
EVENT_TYPES = (SIGNED, REVOKED, SENT, MESSAGE_SENT)


class UnknownEvent(GatewayError, ValueError):
    """An event the hub cannot act on, whatever is tried: logged and dropped, never retried."""


def missing_properties(event_type: str | None, certificate_id: str | None, message_id: str | None) -> str | None:
    """Why the event cannot be read, or None; the reference logs such an event and drops it."""
    if not event_type or not certificate_id or (event_type == MESSAGE_SENT and not message_id):
        return (
            "Certificate event missing required parameter(s), got eventType "
            f"'{event_type}', certificateId '{certificate_id}' and messageId '{message_id}'."
        )
    return None


def handle_event(
    svc: Services, cs: CertificateServiceClient, event_type: str, certificate_id: str, message_id: str | None
) -> str:
    """Act on one event; returns what was done. Raises to have it tried again (UnknownEvent: never)."""
    if event_type not in EVENT_TYPES:
        raise UnknownEvent(f"Invalid eventType '{event_type}' received for certificate '{certificate_id}'")
    if cs.is_test_certificate(certificate_id):
        return "ignored: a test certificate"
    with svc.store.writing() as uow:
        if event_type == MESSAGE_SENT:
            assert message_id is not None
            message = cs.message(message_id)
            _queue_soap(
                svc, uow, SEND_MESSAGE_TO_RECIPIENT_2.namespace, message.recipient_address, message.request, message_id
            )
            done = f"message {message_id} queued to {message.recipient_address}"
        else:
            cert = cs.certificate(certificate_id)
            hidden = cert.patient_id.replace("-", "") in svc.validation_persons
            if event_type == SENT:
                if cert.recipient_id is None:
                    raise UnknownEvent(f"certificate {certificate_id}: sent, but CS names no recipient")
                _queue_to_recipient(
                    svc, uow, REGISTER_CERTIFICATE_3.namespace, cert.recipient_id, cert.register_request, certificate_id
                )
            if event_type == SIGNED and not hidden:
                _store_sick_leave(svc, uow, cert)
            if event_type == REVOKED:
                if cert.recipient_id and cert.revocation_request is not None:
                    _queue_to_recipient(
                        svc,
                        uow,
                        REVOKE_CERTIFICATE_2.namespace,
                        cert.recipient_id,
                        cert.revocation_request,
                        certificate_id,
                    )
                uow.sick_leave.mark_deleted(certificate_id)
            queue = svc.feeds.statistics_queue if svc.feeds is not None else None
            if queue and not hidden:
                action = {SIGNED: events.CREATED, REVOKED: events.REVOKED, SENT: events.SENT}[event_type]
                body = b"" if event_type == SENT else cert.register_request
                recipient = cert.recipient_id if event_type == SENT else None
                event = events.statistics_event(queue, action, certificate_id, cert.certificate_type, body, recipient)
                queue_event(svc, uow, event, certificate_id)
            done = f"{event_type} of {certificate_id} handled"
        uow.commit()
    return done


def _store_sick_leave(svc: Services, uow: UnitOfWork, cert: CsCertificate) -> None:
    """The certificate's sick-leave row, if its type feeds sick leave; once, however often the event comes.

    None for a certificate CS says is revoked already: its revoked event may have been handled
    first (by another gateway, or while this one was being tried again), finding no row to mark.
    """
    if cert.intyg is None or cert.revocation_request is not None:
        return
    # Held from the look to the commit: a revoked event handled at the same time waits for the row.
    uow.sick_leave.lock(cert.certificate_id)
    if uow.sick_leave.has(cert.certificate_id):
        return
    try:
        head = read_intyg_header(cert.intyg)
    except ValueError:
        log.warning("certificate %s: unreadable signing time; no sick-leave data", cert.certificate_id)
        return
    types = svc.types.current()
    # The intyg's own type code (LISJP); CS names its types by form (fk7804).
    ctype = types.catalog.resolve(head.type_code)
    if ctype is None or ctype.sick_leave_data is None:
        return
    person = try_parse_person_id(head.person_id or cert.patient_id)
    if person is None:
        log.warning("certificate %s: patient id is no personnummer; no sick-leave data", cert.certificate_id)
        return
    record = CertificateRecord(
        id=cert.certificate_id,
        type=ctype.id,
        type_version=head.version,
        person_id=person.digits,
        signed_at=head.signed_at,
        care_unit_id=head.care_unit_id,
        care_unit_name=head.care_unit_name,
        care_giver_id=head.care_giver_id,
        doctor_id=head.doctor_id,
        doctor_name=head.doctor_name,
    )
    sick_leave = sick_leave_of(svc, types, record, cert.intyg)
    if sick_leave is not None:
        uow.sick_leave.add(sick_leave, listed_item_of(svc, sick_leave))


def _queue_to_recipient(
    svc: Services, uow: UnitOfWork, contract: str, recipient_id: str, payload: bytes, ref: str
) -> None:
    recipient = svc.recipients.get(recipient_id)
    if recipient is None:
        raise UnknownEvent(f"recipient {recipient_id} of {ref} is not in the registry")
    _queue_soap(svc, uow, contract, recipient.logical_address, payload, ref)


def _queue_soap(svc: Services, uow: UnitOfWork, contract: str, address: str, payload: bytes, ref: str) -> None:
    uow.outbox.enqueue(
        contract=contract,
        logical_address=address,
        kind="certificate-service",
        reference=ref,
        payload=payload,
        correlation_id=correlation.current(),
        now=svc.clock.utc(),
    )
