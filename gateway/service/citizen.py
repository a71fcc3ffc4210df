"""A citizen's own certificates, as Mina intyg lists them (internal REST ``/internalapi/citizen``).

The selection follows the reference's citizen list: the person's certificates
without test certificates, death certificates (db, doi) and revoked ones; the
citizen's archive state (the newest of DELETED/RESTORED, hub-behaviour §2.1)
decides whether a certificate is in the archived or the current list; only
ERSATT/KOMPLT relations are shown, and none whose certificates at either end
is revoked (§2.4). The recipient shown is the type's main recipient, with the
time of the certificate's newest send to any recipient (as the reference tells it).
The summary is what the type's catalogue entry (``[summary]``) says, read from the stored certificate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intygsgw import audit
from intygsgw.domain import states as st
from intygsgw.domain.personnummer import PersonId
from intygsgw.domain.recipients import NOT_SEND_TARGETS, Recipient
from intygsgw.domain.records import CertificateRecord, RelationRecord, StoredDocument
from intygsgw.domain.states import State
from intygsgw.rules.catalog import CertificateType
from intygsgw.service.certificates import NOT_LISTED_FOR_CITIZEN
from intygsgw.service.services import Services

if TYPE_CHECKING:
    from intygsgw.rules.definitions import TypeSet

SHOWN_RELATIONS = ("ERSATT", "KOMPLT")
REPLACES = "REPLACES"  # this certificate replaces (or completes) the related one
REPLACED = "REPLACED"  # this certificate was replaced by the related one
SENT = "SENT"
NOT_SENT = "NOT_SENT"


@dataclass(frozen=True)
class CitizenRelation:
    certificate_id: str
    type: str  # REPLACES | REPLACED
    timestamp: dt.datetime


@dataclass(frozen=True)
class CitizenCertificate:
    record: CertificateRecord
    type_name: str
    summary_label: str | None
    summary_value: str | None
    recipient: Recipient | None
    sent_at: dt.datetime | None
    relations: tuple[CitizenRelation, ...]


@dataclass(frozen=True)
class CitizenFilter:
    statuses: Sequence[str] = ()  # SENT, NOT_SENT
    units: Sequence[str] = ()
    type_ids: Sequence[str] = ()
    years: Sequence[int] = ()
    archived: bool | None = False  # None: archived and not


def list_citizen_certificates(
    svc: Services, person: PersonId, wanted: CitizenFilter | None = None
) -> list[CitizenCertificate]:
    """The citizen's certificates, newest signed first, narrowed by ``wanted``."""
    wanted = wanted or CitizenFilter()
    with svc.store.reading() as uow:
        records = [
            r
            for r in uow.certificates.find_for_citizen(person.digits, [], None, None)
            if not r.test_certificate and r.type not in NOT_LISTED_FOR_CITIZEN
        ]
        histories = uow.certificates.states_for([r.id for r in records])
        revoked = {r.id for r in records if st.is_revoked(histories[r.id])}
        listed = [
            r
            for r in records
            if r.id not in revoked and (wanted.archived is None or st.is_archived(histories[r.id]) == wanted.archived)
        ]
        ids = [r.id for r in listed]
        relations = uow.certificates.relations_to(ids) + uow.certificates.relations_from(ids)
        others = {rel.from_id for rel in relations} | {rel.to_id for rel in relations}
        other_histories = uow.certificates.states_for(sorted(others - set(histories)))
        types = svc.types.current()
        # Only the types whose summary has a value read from the certificate need their documents.
        summarised = [r.id for r in listed if _reads_document(types.catalog.by_id(r.type))]
        documents = uow.certificates.stored_documents(summarised)
    revoked |= {cid for cid, history in other_histories.items() if st.is_revoked(history)}
    out = []
    for record in listed:
        recipient = _main_recipient(svc, record.type)
        sent_at = _last_sent(histories[record.id]) if recipient else None
        ctype = types.catalog.by_id(record.type)
        label, value = _summary(ctype, documents.get(record.id), types)
        out.append(
            CitizenCertificate(
                record=record,
                type_name=ctype.name if ctype else record.type,
                summary_label=label,
                summary_value=value,
                recipient=recipient,
                sent_at=sent_at,
                relations=_relations_of(record.id, relations, revoked),
            )
        )
    out = [c for c in out if _wanted(c, wanted)]
    out.sort(key=lambda c: (c.record.signed_at or dt.datetime.min, c.record.id), reverse=True)
    audit.note(person.digits, [c.record.id for c in out])
    return out


def _reads_document(ctype: CertificateType | None) -> bool:
    return ctype is not None and ctype.summary is not None and ctype.summary.reads_document


def _summary(
    ctype: CertificateType | None, document: StoredDocument | None, types: TypeSet
) -> tuple[str | None, str | None]:
    """The summary label and value, as the reference's type modules give them (the type's ``[summary]``).

    Read from the certificate, not from the sick-leave data: the reference gives a lisjp with
    smittbärarpenning its period too, though the sick-leave lists leave it out.
    """
    if ctype is None or ctype.summary is None:
        return None, None
    value = types.summary_value(ctype.id, document) if document is not None else None
    return ctype.summary.label, value


def _main_recipient(svc: Services, type_id: str) -> Recipient | None:
    for recipient in svc.recipients.all():
        if (
            recipient.recipient_type == "HUVUDMOTTAGARE"
            and recipient.id not in NOT_SEND_TARGETS
            and recipient.accepts(type_id)
        ):
            return recipient
    return None


def _last_sent(history: list[st.StateEntry]) -> dt.datetime | None:
    # The reference takes the newest SENT whatever its target, so a send to another
    # recipient (SetCertificateStatus SENT for TRANSP, say) shows as sent too, and
    # Mina intyg's SENT/NOT_SENT filter follows it.
    for entry in st.newest_first(history):
        if entry.state is State.SENT:
            return entry.timestamp
    return None


def _relations_of(
    certificate_id: str, relations: list[RelationRecord], revoked: set[str]
) -> tuple[CitizenRelation, ...]:
    seen: dict[tuple[str, str, str], CitizenRelation] = {}
    for rel in sorted(relations, key=lambda r: r.created_at):
        if rel.code not in SHOWN_RELATIONS or rel.from_id in revoked or rel.to_id in revoked:
            continue
        if rel.to_id == certificate_id:
            found = CitizenRelation(rel.from_id, REPLACED, rel.created_at)
        elif rel.from_id == certificate_id:
            found = CitizenRelation(rel.to_id, REPLACES, rel.created_at)
        else:
            continue
        seen.setdefault((found.certificate_id, found.type, rel.code), found)
    return tuple(seen.values())


def _wanted(c: CitizenCertificate, wanted: CitizenFilter) -> bool:
    if wanted.years and (c.record.signed_at is None or c.record.signed_at.year not in wanted.years):
        return False
    if wanted.units and c.record.care_unit_id not in wanted.units:
        return False
    if wanted.type_ids and c.record.type not in wanted.type_ids:
        return False
    if wanted.statuses:
        sent = c.recipient is not None and c.sent_at is not None
        not_sent = c.recipient is not None and c.sent_at is None
        if not ((SENT in wanted.statuses and sent) or (NOT_SENT in wanted.statuses and not_sent)):
            return False
    return True
