"""Who may receive a certificate: the registry, and the patient's approved receivers (hub-behaviour §1.10).

GetRecipientsForCertificate, ListKnownRecipients, ListPossibleReceivers,
ListApprovedReceivers and RegisterApprovedReceivers, with the reference hub's
rules and texts. The reference answers these contracts' failures with SOAP
faults (no fault transformer), except an empty answer to
GetRecipientsForCertificate or ListKnownRecipients (NoRecipientsFound, an
ERROR/APPLICATION_ERROR result) and RegisterApprovedReceivers, whose refusals
are ERROR results without an errorId.
"""

from __future__ import annotations

from dataclasses import dataclass

from intygsgw import audit
from intygsgw.domain.recipients import NOT_SEND_TARGETS, Recipient
from intygsgw.domain.records import ApprovedReceiver
from intygsgw.domain.results import Result, ServiceError
from intygsgw.service.services import Services

MAIN_RECIPIENT = "HUVUDMOTTAGARE"


class NoRecipientsFound(ServiceError):
    """Answered as an ERROR/APPLICATION_ERROR result, not as a fault."""


@dataclass(frozen=True)
class ReceiverApproval:
    recipient: Recipient
    approved: bool


def _type_id(svc: Services, code: str) -> str:
    """A KV type code (``LISJP``) or a module id (``lisjp``) → the module id.

    The reference matches the module id literally; a caller that sends the
    external code it uses everywhere else gets the same answer here instead
    of an empty one.
    """
    known = svc.catalog.resolve(code)
    return known.id if known is not None else code


def _note_certificate(uow, certificate_id: str) -> None:
    """The access log files the call under the certificate's patient when it is stored."""
    record = uow.certificates.get(certificate_id)
    audit.note(record.person_id if record else None, [certificate_id])


def recipients_for_certificate(svc: Services, certificate_id: str) -> list[Recipient]:
    """The approved receivers that are active; if there are none, the main
    recipients of the certificate's stored type (the request's type is not used)."""
    certificate_id = certificate_id.strip()
    registry = svc.recipients
    with svc.store.reading() as uow:
        approvals = uow.approved_receivers.for_certificate(certificate_id)
        record = uow.certificates.get(certificate_id)
    audit.note(record.person_id if record else None, [certificate_id])
    approved = [registry.get(a.receiver_id) for a in approvals if a.approved]
    found = [r for r in approved if r is not None and r.id not in NOT_SEND_TARGETS and r.active]
    if not found and record is not None:
        found = [r for r in registry.send_targets_for(record.type) if r.recipient_type == MAIN_RECIPIENT]
    if not found:
        raise NoRecipientsFound(f"No recipients found for certificate id: {certificate_id}")
    return found


def known_recipients(svc: Services) -> list[Recipient]:
    found = svc.recipients.all()
    if not found:
        raise NoRecipientsFound("No recipients found!")
    return found


def possible_receivers(svc: Services, type_code: str) -> list[Recipient]:
    if not type_code.strip():
        raise ServiceError("Request to ListPossibleReceivers is missing required parameter 'intygTyp'")
    return svc.recipients.send_targets_for(_type_id(svc, type_code.strip()))


def approved_receivers(svc: Services, certificate_id: str) -> list[ReceiverApproval]:
    certificate_id = certificate_id.strip()
    if not certificate_id:
        raise ServiceError("Request to ListApprovedReceivers is missing required parameter 'intygs-id'")
    with svc.store.reading() as uow:
        rows = uow.approved_receivers.for_certificate(certificate_id)
        _note_certificate(uow, certificate_id)
    registry = svc.recipients
    out = []
    for row in rows:
        recipient = registry.get(row.receiver_id)
        if recipient is None:
            raise ServiceError(
                f"Approved receiver '{row.receiver_id}' of certificate '{certificate_id}' "
                "is no longer in the recipient registry"
            )
        out.append(ReceiverApproval(recipient, row.approved))
    return out


def _refused(text: str) -> Result:
    return Result("ERROR", f"Request to registerApprovedReceiver {text}")


def register_approved_receivers(
    svc: Services, certificate_id: str, type_code: str, choices: list[tuple[str, str]]
) -> Result:
    """``choices``: (receiverId, YES|NO|UNDEFINED) as the request lists them.

    Every receiver of the type gets a row: approved if the request says YES
    for it, otherwise approved only if it is a main recipient and the request
    does not mention it. The certificate need not be stored yet.
    """
    certificate_id = certificate_id.strip()
    if not certificate_id:
        return _refused("is missing required parameter 'intygs-id'")
    if not type_code.strip():
        return _refused("is missing required parameter 'typAvIntyg'")
    registry = svc.recipients
    for receiver_id, _status in choices:
        if not receiver_id.strip():
            return _refused("contained receiverId that was null or empty.")
        if registry.get(receiver_id.strip()) is None:
            return _refused(f"contained unknown receiverId '{receiver_id.strip()}'")
    said = {rid.strip().upper(): status for rid, status in choices}
    rows = []
    for recipient in registry.send_targets_for(_type_id(svc, type_code.strip())):
        status = said.get(recipient.id.upper())
        approved = status == "YES" if status is not None else recipient.recipient_type == MAIN_RECIPIENT
        rows.append(ApprovedReceiver(recipient.id, approved))
    access = audit.current()
    with svc.store.writing() as uow:
        _note_certificate(uow, certificate_id)
        uow.approved_receivers.replace(certificate_id, rows)
        audit.in_transaction(access, uow)
        uow.commit()
    if access is not None:
        access.written = True
    return Result("OK", f"Successfully registered {len(choices)} receivers for certificate '{certificate_id}'")
