"""What the gateway keeps, as plain records.

The storage adapter reads and writes these; the service layer and the entry
points receive them. They carry no behaviour and know nothing of tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class CertificateRecord:
    id: str
    type: str
    type_version: str
    person_id: str
    signed_at: dt.datetime | None
    care_unit_id: str
    care_unit_name: str
    care_giver_id: str
    doctor_id: str
    doctor_name: str
    test_certificate: bool = False
    deleted_by_care_giver: bool = False
    received_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredDocument:
    document: bytes
    namespaces: dict[str, str]


@dataclass(frozen=True)
class RelationRecord:
    from_id: str
    to_id: str
    code: str
    created_at: dt.datetime


TO_CARE = "TO_CARE"
TO_RECIPIENT = "TO_RECIPIENT"
# A message is claimed (PENDING) before it is relayed and STORED once the
# other side has it.
MESSAGE_PENDING = "PENDING"
MESSAGE_STORED = "STORED"


@dataclass(frozen=True)
class MessageRecord:
    message_id: str
    certificate_id: str
    subject: str
    reply_to: str | None
    reminder_of: str | None
    reference_id: str | None
    sender: str
    recipient_address: str
    direction: str
    has_deadline: bool
    sent_at: dt.datetime | None
    received_at: dt.datetime
    document: bytes
    state: str = MESSAGE_PENDING
    handled: bool = False
    handled_at: dt.datetime | None = None


@dataclass(frozen=True)
class ApprovedReceiver:
    receiver_id: str
    approved: bool


@dataclass(frozen=True)
class SignatureRecord:
    certificate_id: str
    policy: str
    signed: bool
    valid: bool
    signer_subject: str
    signer_hsa_id: str
    verified_at: dt.datetime


class AccessEntry(NamedTuple):
    """One access-log entry: one call. A tuple rather than a frozen dataclass: the log's
    verification reads every entry, and a frozen dataclass costs four times as much to build.

    A call that named one person has it in ``person_id`` with its certificates. A call that
    named several (a unit's sick-leave list names thousands) has them in ``persons``, each with
    its certificates, and ``person_id`` empty; ``certificate_ids`` are then those of no known
    person. Entries written before 2026-12-06 named one person each, a listing many entries.
    """

    at: dt.datetime  # naive UTC
    caller: str
    original_consumer: str
    acting_on_behalf: str
    contract: str
    logical_address: str
    person_id: str
    certificate_ids: tuple[str, ...]
    outcome: str
    persons: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def all_certificate_ids(self) -> tuple[str, ...]:
        """Every certificate the entry names, of any person or none."""
        return self.certificate_ids + tuple(cid for _, ids in self.persons for cid in ids)

    def certificates_of(self, person_id: str) -> tuple[str, ...] | None:
        """The certificates this entry names for ``person_id``; None when it does not name the person."""
        if self.person_id == person_id and person_id:
            return self.certificate_ids
        for person, ids in self.persons:
            if person == person_id:
                return ids
        return None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    destination: str
    contract: str
    logical_address: str
    kind: str
    reference: str
    payload: bytes
    state: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    correlation_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class CertificateExport:
    """One certificate with everything stored about it, in a form that survives JSON unchanged.

    ``rows`` holds, per table, the rows that belong to the certificate (its
    states, relations from it, messages, sick-leave data, approved receivers,
    signature finding, revocation request), each column a JSON value: text as
    is, bytes in base64, times in ISO 8601. Restoring them gives back the same
    stored values, the document's bytes included.
    """

    certificate_id: str
    care_giver_id: str
    revoked: bool
    document: bytes  # the RegisterCertificate element as received (UTF-8)
    rows: dict[str, list[dict]]


@dataclass(frozen=True)
class RehabStatusRecord:
    """A rehabilitation coordinator's status of a patient's sick leave on a care unit (Rehabstöd's REKO).

    Statuses are only ever added: the one a list shows is chosen among them
    (intygsgw.domain.rehab.status_of_case), so the history stays as it was set.
    """

    status: str  # REKO_1 ... REKO_8
    patient_id: str  # yyyyMMddnnnn
    care_provider_id: str
    care_unit_id: str
    unit_id: str | None  # the mottagning, when the coordinator worked on one
    staff_id: str
    staff_name: str
    sick_leave_timestamp: dt.datetime  # a moment within the sick leave the status is about
    registered_at: dt.datetime


@dataclass(frozen=True)
class RehabStatusExport:
    """A care provider's rehabilitation statuses as an export carries them: rows as CertificateExport's."""

    care_giver_id: str
    rows: list[dict]


@dataclass(frozen=True)
class CertificateText:
    """The texts of one version of a certificate type, as the customer-termination service archives them."""

    type: str
    version: str
    xml: str
