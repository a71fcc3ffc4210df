"""What Webcert reads over the internal REST API: messages, a certificate's history, counts, a doctor's list."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from intygsgw import audit
from intygsgw.domain import states as st
from intygsgw.domain.personnummer import PersonId
from intygsgw.domain.records import CertificateRecord, MessageRecord
from intygsgw.domain.results import ServiceError
from intygsgw.domain.states import State
from intygsgw.service.certificates import NOT_LISTED_FOR_CITIZEN
from intygsgw.service.services import Services

# Events of Webcert's certificate history (IntygInfoEventType) the hub can tell.
SIGNED = "IS004"
RECEIVED = "IS005"
SENT = "IS006"
RENEWED = "IS007"
REPLACED = "IS008"
REVOKED = "IS009"
COMPLEMENTED = "IS014"
_CHILD_EVENTS = {"ERSATT": REPLACED, "KOMPLT": COMPLEMENTED, "FRLANG": RENEWED}
# The default window of Webcert's list when it gives no dates (the reference's three months back).
DEFAULT_MONTHS_BACK = 3
ORDERS = ("signedDate", "civicRegistrationNumber", "certificateType", "type", "status")


def messages_for_certificate(svc: Services, certificate_id: str) -> list[MessageRecord]:
    """The stored ärenden of a certificate, oldest first (an unknown id has none)."""
    with svc.store.reading() as uow:
        record = uow.certificates.get(certificate_id)
        messages = uow.messages.stored_for([certificate_id])[certificate_id]
    audit.note(record.person_id if record else None, [certificate_id])
    return messages


@dataclass(frozen=True)
class InfoEvent:
    type: str
    date: dt.datetime | None
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CertificateInfo:
    record: CertificateRecord
    sent_at: dt.datetime | None
    recipients: int
    events: tuple[InfoEvent, ...]


def certificate_info(svc: Services, certificate_id: str) -> CertificateInfo | None:
    """A certificate's history as Webcert's support view shows it; None for an unknown id."""
    with svc.store.reading() as uow:
        record = uow.certificates.get(certificate_id)
        audit.note(record.person_id if record else None, [certificate_id])
        if record is None:
            return None
        history = sorted(uow.certificates.states(certificate_id), key=lambda e: e.timestamp)
        children = uow.certificates.relations_to([certificate_id])
        approved = [a for a in uow.approved_receivers.for_certificate(certificate_id) if a.approved]
    events = [InfoEvent(SIGNED, record.signed_at, {"name": record.doctor_name, "hsaId": record.doctor_id})]
    for entry in history:
        if entry.state is State.SENT:
            events.append(InfoEvent(SENT, entry.timestamp, {"intygsmottagare": entry.target}))
        elif entry.state is State.RECEIVED and record.type not in NOT_LISTED_FOR_CITIZEN:
            events.append(InfoEvent(RECEIVED, entry.timestamp))
        elif entry.state is State.CANCELLED:
            events.append(InfoEvent(REVOKED, entry.timestamp))
    for rel in children:
        kind = _CHILD_EVENTS.get(rel.code)
        if kind is not None:
            events.append(InfoEvent(kind, rel.created_at, {"intygsId": rel.from_id}))
    sent = [e.timestamp for e in history if e.state is State.SENT]
    recipients = len(approved)
    ctype = svc.catalog.by_id(record.type)
    if recipients == 0 and ctype is not None and ctype.recipients:
        recipients = 1  # the type's default recipient
    return CertificateInfo(record, min(sent) if sent else None, recipients, tuple(events))


def certificate_count(svc: Services, care_giver_id: str) -> int:
    with svc.store.reading() as uow:
        return uow.care_provider.counts(care_giver_id)[0]


@dataclass(frozen=True)
class DoctorQuery:
    unit_ids: Sequence[str]
    doctor_id: str | None = None
    person: PersonId | None = None
    signed_from: dt.datetime | None = None
    signed_to: dt.datetime | None = None
    type_ids: Sequence[str] = ()
    order_by: str | None = None
    ascending: bool = False
    start_from: int = 0
    page_size: int = 0  # negative: everything from start_from on


@dataclass(frozen=True)
class DoctorEntry:
    record: CertificateRecord
    type_name: str
    sent: bool


@dataclass(frozen=True)
class DoctorList:
    entries: list[DoctorEntry]
    total: int


def doctor_certificates(svc: Services, query: DoctorQuery) -> DoctorList:
    """Signed, unrevoked certificates of the units (of one doctor), sorted and cut to a page.

    Without dates the window is the last three months up to now; the end date
    counts whole (signed up to a day after it), as in the reference.
    """
    if query.order_by is not None and query.order_by not in ORDERS:
        raise ServiceError(f"orderBy must be one of {', '.join(ORDERS)}, not {query.order_by!r}")
    now = svc.clock()
    signed_from = query.signed_from or _months_back(now, DEFAULT_MONTHS_BACK)
    signed_to = query.signed_to + dt.timedelta(days=1) if query.signed_to else now
    with svc.store.reading() as uow:
        records = uow.certificates.find_for_units(
            query.unit_ids,
            query.doctor_id,
            query.person.digits if query.person else None,
            signed_from,
            signed_to,
            query.type_ids,
        )
        histories = uow.certificates.states_for([r.id for r in records])
    entries = []
    for r in records:
        if st.is_revoked(histories[r.id]):
            continue
        ctype = svc.catalog.by_id(r.type)
        entries.append(
            DoctorEntry(r, ctype.name if ctype else r.type, any(e.state is State.SENT for e in histories[r.id]))
        )
    entries = _ordered(entries, query.order_by, query.ascending)
    total = len(entries)
    end = None if query.page_size < 0 else query.start_from + query.page_size
    page = entries[query.start_from : end]
    for entry in page:
        audit.note(entry.record.person_id, [entry.record.id])
    return DoctorList(page, total)


def _ordered(entries: list[DoctorEntry], order_by: str | None, ascending: bool) -> list[DoctorEntry]:
    newest_first = sorted(entries, key=lambda e: e.record.signed_at or dt.datetime.min, reverse=True)
    keys = {
        "signedDate": lambda e: e.record.signed_at or dt.datetime.min,
        "civicRegistrationNumber": lambda e: e.record.person_id,
        "certificateType": lambda e: e.record.type,
        "type": lambda e: e.type_name,
        # The reference's status order puts sent before unsent when ascending: the reverse of
        # False < True, so the key is "not sent".
        "status": lambda e: not e.sent,
    }
    if order_by is None:
        return newest_first
    # Stable: ties keep the newest signed first, as the reference's second ordering does.
    return sorted(newest_first, key=keys[order_by], reverse=not ascending)


def _months_back(now: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    month += 1
    return now.replace(year=year, month=month, day=min(now.day, calendar.monthrange(year, month)[1]))
