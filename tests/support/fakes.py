"""In-memory adapters for the service layer's ports (intygsgw.service.ports).

They keep the contract the storage adapter keeps, as far as the lifecycle
can see it: a unit of work left without commit() leaves nothing behind, a
taken certificate id raises AlreadyStored, state histories come newest first.
That is enough to test the lifecycle rules without a database or a process.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TypeVar

from intygsgw.domain.errors import AlreadyStored
from intygsgw.domain.outcome import Outcome
from intygsgw.domain.records import (
    MESSAGE_PENDING,
    MESSAGE_STORED,
    AccessEntry,
    ApprovedReceiver,
    CertificateExport,
    CertificateRecord,
    MessageRecord,
    RehabStatusExport,
    RehabStatusRecord,
    RelationRecord,
    SignatureRecord,
    StoredDocument,
)
from intygsgw.domain.sick_leave import SickLeaveCertificate
from intygsgw.domain.states import State, StateEntry

T = TypeVar("T")


@dataclass
class Tables:
    certificates: dict[str, CertificateRecord] = field(default_factory=dict)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    # (write order, certificate id, entry): the order breaks timestamp ties as the database's ids do
    states: list[tuple[int, str, StateEntry]] = field(default_factory=list)
    relations: list[RelationRecord] = field(default_factory=list)
    revocations: dict[str, bytes] = field(default_factory=dict)
    send_claims: dict[tuple[str, str], tuple[str, dt.datetime]] = field(default_factory=dict)
    messages: dict[str, MessageRecord] = field(default_factory=dict)
    approved: dict[str, list[ApprovedReceiver]] = field(default_factory=dict)
    signatures: dict[str, SignatureRecord] = field(default_factory=dict)
    outbox: list[dict] = field(default_factory=list)
    sick_leave: dict[str, tuple[SickLeaveCertificate, bool]] = field(default_factory=dict)  # with deleted
    sick_leave_items: dict[str, str] = field(default_factory=dict)  # the stored list items
    access_log: list[AccessEntry] = field(default_factory=list)
    rehab_statuses: list[RehabStatusRecord] = field(default_factory=list)  # in stored order


class FakeCertificates:
    def __init__(self, t: Tables):
        self.t = t

    def add(self, cert: CertificateRecord, document: bytes, namespaces: dict[str, str]) -> None:
        if cert.id in self.t.certificates:
            raise AlreadyStored("certificate", cert.id)
        self.t.certificates[cert.id] = cert
        self.t.documents[cert.id] = StoredDocument(document, dict(namespaces))

    def add_state(self, certificate_id: str, state: State, target: str, timestamp: dt.datetime) -> None:
        self.t.states.append((len(self.t.states), certificate_id, StateEntry(state, target, timestamp)))

    def add_revocation_request(self, certificate_id: str, request: bytes, revoked_at: dt.datetime) -> None:
        self.t.revocations[certificate_id] = request

    def add_relation(
        self, from_id: str, to_id: str, code: str, created_at: dt.datetime, patient_id: str | None = None
    ) -> None:
        self.t.relations.append(RelationRecord(from_id, to_id, code, created_at))

    def claim_send(
        self, certificate_id: str, recipient_id: str, owner: str, now: dt.datetime, until: dt.datetime
    ) -> bool:
        held = self.t.send_claims.get((certificate_id, recipient_id))
        if held is not None and held[1] >= now:
            return False
        self.t.send_claims[(certificate_id, recipient_id)] = (owner, until)
        return True

    def release_send(self, certificate_id: str, recipient_id: str, owner: str) -> None:
        if self.t.send_claims.get((certificate_id, recipient_id), ("",))[0] == owner:
            del self.t.send_claims[(certificate_id, recipient_id)]

    def send_claimed(self, certificate_id: str, recipient_id: str, now: dt.datetime) -> bool:
        held = self.t.send_claims.get((certificate_id, recipient_id))
        return held is not None and held[1] >= now

    def get(self, certificate_id: str) -> CertificateRecord | None:
        return self.t.certificates.get(certificate_id)

    get_for_update = get  # one thread: nothing to hold off

    def revocation_request(self, certificate_id: str) -> bytes | None:
        return self.t.revocations.get(certificate_id)

    def document(self, certificate_id: str) -> StoredDocument | None:
        return self.t.documents.get(certificate_id)

    def stored_documents(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        return {i: self.t.documents[i] for i in ids if i in self.t.documents}

    def states(self, certificate_id: str) -> list[StateEntry]:
        return self.states_for([certificate_id])[certificate_id]

    def states_for(self, ids: Sequence[str]) -> dict[str, list[StateEntry]]:
        out: dict[str, list[StateEntry]] = {i: [] for i in ids}
        for _, cid, entry in sorted(self.t.states, key=lambda s: (s[2].timestamp, s[0]), reverse=True):
            if cid in out:
                out[cid].append(entry)
        return out

    def _sorted(self, records: Iterable[CertificateRecord]) -> list[CertificateRecord]:
        # As the database orders them: unsigned (NULL) first, then by signing time and id.
        return sorted(records, key=lambda r: (r.signed_at is not None, r.signed_at or dt.datetime.min, r.id))

    def find_for_care(self, person_id: str, unit_ids: Sequence[str]) -> list[CertificateRecord]:
        return self._sorted(
            r
            for r in self.t.certificates.values()
            if r.person_id == person_id and not r.deleted_by_care_giver and (not unit_ids or r.care_unit_id in unit_ids)
        )

    def find_for_citizen(
        self,
        person_id: str,
        type_ids: Sequence[str],
        signed_from: dt.datetime | None,
        signed_before: dt.datetime | None,
    ) -> list[CertificateRecord]:
        types = {t.lower() for t in type_ids}

        def wanted(r: CertificateRecord) -> bool:
            if r.person_id != person_id or (types and r.type not in types):
                return False
            if signed_from is not None and (r.signed_at is None or r.signed_at < signed_from):
                return False
            return signed_before is None or (r.signed_at is not None and r.signed_at < signed_before)

        return self._sorted(filter(wanted, self.t.certificates.values()))

    def find_for_units(
        self,
        unit_ids: Sequence[str],
        doctor_id: str | None,
        person_id: str | None,
        signed_from: dt.datetime,
        signed_to: dt.datetime,
        type_ids: Sequence[str],
    ) -> list[CertificateRecord]:
        types = {t.lower() for t in type_ids}
        found = [
            r
            for r in self.t.certificates.values()
            if r.care_unit_id in unit_ids
            and r.signed_at is not None
            and signed_from <= r.signed_at <= signed_to
            and (doctor_id is None or r.doctor_id == doctor_id)
            and (person_id is None or r.person_id == person_id)
            and (not types or r.type in types)
        ]
        return sorted(sorted(found, key=lambda r: r.id), key=lambda r: r.signed_at or dt.datetime.min, reverse=True)

    def find_typed(
        self,
        unit_ids: Sequence[str],
        person_id: str | None,
        type_ids: Sequence[str],
        signed_from: dt.datetime | None,
        signed_before: dt.datetime | None,
    ) -> list[CertificateRecord]:
        found = [
            r
            for r in self.t.certificates.values()
            if r.signed_at is not None
            and (not unit_ids or r.care_unit_id in unit_ids)
            and (person_id is None or r.person_id == person_id)
            and (not type_ids or r.type in type_ids)
            and (signed_from is None or r.signed_at >= signed_from)
            and (signed_before is None or r.signed_at < signed_before)
        ]
        return sorted(found, key=lambda r: (r.signed_at or dt.datetime.min, r.id))

    def relations_to(self, ids: Iterable[str]) -> list[RelationRecord]:
        wanted = set(ids)
        return sorted((r for r in self.t.relations if r.to_id in wanted), key=lambda r: r.created_at)

    def relations_from(self, ids: Iterable[str]) -> list[RelationRecord]:
        wanted = set(ids)
        return sorted((r for r in self.t.relations if r.from_id in wanted), key=lambda r: r.created_at)

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        return {i for i in ids if i in self.t.certificates}

    def ids_for_persons(self, person_ids: Sequence[str], received_before: dt.datetime) -> list[str]:
        return sorted(
            r.id
            for r in self.t.certificates.values()
            if r.person_id in person_ids and r.received_at is not None and r.received_at < received_before
        )

    def delete(self, certificate_id: str) -> None:
        self.t.certificates.pop(certificate_id, None)
        self.t.documents.pop(certificate_id, None)
        self.t.revocations.pop(certificate_id, None)
        self.t.signatures.pop(certificate_id, None)
        self.t.states = [s for s in self.t.states if s[1] != certificate_id]
        self.t.relations = [r for r in self.t.relations if r.from_id != certificate_id]


class FakeMessages:
    def __init__(self, t: Tables):
        self.t = t

    def claim(self, message: MessageRecord, stale_before: dt.datetime | None = None) -> bool:
        held = self.t.messages.get(message.message_id)
        if held is not None and not (
            held.state == MESSAGE_PENDING and stale_before is not None and held.received_at < stale_before
        ):
            return False
        self.t.messages[message.message_id] = replace(message, state=MESSAGE_PENDING)
        return True

    def confirm(self, message_id: str) -> None:
        self.t.messages[message_id] = replace(self.t.messages[message_id], state=MESSAGE_STORED)

    def release(self, message_id: str) -> None:
        held = self.t.messages.get(message_id)
        if held is not None and held.state == MESSAGE_PENDING:
            del self.t.messages[message_id]

    def mark_handled(self, message_id: str, at: dt.datetime) -> bool:
        held = self.t.messages.get(message_id)
        if held is None or held.state != MESSAGE_STORED:
            return False
        self.t.messages[message_id] = replace(held, handled=True, handled_at=at)
        return True

    def get(self, message_id: str) -> MessageRecord | None:
        return self.t.messages.get(message_id)  # pending or stored, as ids are unique across both

    def id_taken(self, message_id: str) -> bool:
        return message_id in self.t.messages

    def delete_for(self, certificate_id: str) -> None:
        self.t.messages = {k: m for k, m in self.t.messages.items() if m.certificate_id != certificate_id}

    def stored_for(self, certificate_ids: Iterable[str]) -> dict[str, list[MessageRecord]]:
        out: dict[str, list[MessageRecord]] = {i: [] for i in certificate_ids}
        for m in self.t.messages.values():
            if m.certificate_id in out and m.state == MESSAGE_STORED:
                out[m.certificate_id].append(m)
        return out


class FakeApprovedReceivers:
    def __init__(self, t: Tables):
        self.t = t

    def replace(self, certificate_id: str, receivers: list[ApprovedReceiver]) -> None:
        self.t.approved[certificate_id] = list(receivers)

    def for_certificate(self, certificate_id: str) -> list[ApprovedReceiver]:
        return list(self.t.approved.get(certificate_id, []))


class FakeSignatures:
    def __init__(self, t: Tables):
        self.t = t

    def add(self, record: SignatureRecord) -> None:
        self.t.signatures[record.certificate_id] = record

    def get(self, certificate_id: str) -> SignatureRecord | None:
        return self.t.signatures.get(certificate_id)


class FakeSickLeave:
    def __init__(self, t: Tables):
        self.t = t

    def add(self, cert: SickLeaveCertificate, listed_item: str | None = None) -> None:
        self.t.sick_leave[cert.certificate_id] = (cert, False)
        if listed_item is not None:
            self.t.sick_leave_items[cert.certificate_id] = listed_item

    def unit_listing(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[tuple[str, list[str], bytes | None]]:
        out: list[tuple[str, list[str], bytes | None]] = []
        selected = self.for_units(care_giver_id, unit_ids, today, since)
        for patient, of_patient in itertools.groupby(selected, lambda c: c.patient_id):
            ids = [c.certificate_id for c in of_patient]
            items = [self.t.sick_leave_items.get(cid) for cid in ids]
            joined = None if None in items else "".join(i for i in items if i is not None).encode()
            out.append((patient, ids, joined))
        return out

    def certificates(self, certificate_ids: list[str]) -> list[SickLeaveCertificate]:
        return [self.t.sick_leave[cid][0] for cid in certificate_ids if cid in self.t.sick_leave]

    def lock(self, certificate_id: str) -> None:
        pass  # one unit of work at a time here

    def mark_deleted(self, certificate_id: str) -> None:
        if certificate_id in self.t.sick_leave:
            self.t.sick_leave[certificate_id] = (self.t.sick_leave[certificate_id][0], True)

    def for_units(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[SickLeaveCertificate]:
        live = {
            cid: c
            for cid, (c, deleted) in self.t.sick_leave.items()
            if not deleted and c.care_giver_id == care_giver_id and c.care_unit_id in unit_ids
        }
        patients = {c.patient_id for c in live.values() if any(p.start <= today and p.end >= since for p in c.periods)}
        # Replaced by a live sick-leave certificate on any unit, as the reference's selection reads it.
        alive = {cid for cid, (_, deleted) in self.t.sick_leave.items() if not deleted}
        replaced = {r.to_id for r in self.t.relations if r.code in ("ERSATT", "KOMPLT") and r.from_id in alive}
        return sorted(
            (c for cid, c in live.items() if c.patient_id in patients and cid not in replaced),
            key=lambda c: (c.patient_id, c.signed_at, c.certificate_id),
        )

    def for_patient(self, patient_id: str) -> list[SickLeaveCertificate]:
        alive = {cid for cid, (_, deleted) in self.t.sick_leave.items() if not deleted}
        replaced = {r.to_id for r in self.t.relations if r.code in ("ERSATT", "KOMPLT") and r.from_id in alive}
        return sorted(
            (
                c
                for cid, (c, _) in self.t.sick_leave.items()
                if c.patient_id == patient_id and cid in alive and cid not in replaced
            ),
            key=lambda c: (c.signed_at, c.certificate_id),
        )

    def care_giver_of_unit(self, unit_id: str) -> str | None:
        on_unit = [r for r in self.t.certificates.values() if r.care_unit_id == unit_id]
        if on_unit:
            return max(on_unit, key=lambda r: r.signed_at or dt.datetime.min).care_giver_id
        rows = [c for c, _ in self.t.sick_leave.values() if c.care_unit_id == unit_id]
        return max(rows, key=lambda c: c.signed_at).care_giver_id if rows else None

    def has(self, certificate_id: str) -> bool:
        return certificate_id in self.t.sick_leave


class FakeCareProvider:
    """Exports in its own row form (the service only carries rows through, and reads the person id)."""

    def __init__(self, t: Tables):
        self.t = t

    def _of(self, care_giver_id: str) -> list[str]:
        return sorted(cid for cid, r in self.t.certificates.items() if r.care_giver_id == care_giver_id)

    def counts(self, care_giver_id: str) -> tuple[int, int]:
        ids = self._of(care_giver_id)
        revoked = {cid for _, cid, e in self.t.states if e.state is State.CANCELLED}
        return len(ids), len(set(ids) & revoked)

    def ids(self, care_giver_id: str, after: str | None, limit: int, offset: int = 0) -> list[str]:
        ids = [i for i in self._of(care_giver_id) if after is None or i > after]
        return ids[offset : offset + limit]

    def export(self, ids: Sequence[str]) -> list[CertificateExport]:
        out = []
        for cid in ids:
            record = self.t.certificates.get(cid)
            if record is None:
                continue
            document = self.t.documents[cid]
            states = [e for _, c, e in sorted(self.t.states, key=lambda s: s[0]) if c == cid]
            rows = {
                "certificate": [asdict(record)],
                "certificate_document": [{"namespaces": dict(document.namespaces)}],
                "certificate_state": [asdict(e) for e in states],
                "relation": [asdict(r) for r in self.t.relations if r.from_id == cid],
                "message": [asdict(m) for m in self.t.messages.values() if m.certificate_id == cid],
            }
            revoked = any(e.state is State.CANCELLED for e in states)
            out.append(CertificateExport(cid, record.care_giver_id, revoked, document.document, rows))
        return out

    def persons(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: self.t.certificates[i].person_id for i in ids if i in self.t.certificates}

    def restore(self, export: CertificateExport) -> None:
        if export.certificate_id in self.t.certificates:
            raise AlreadyStored("certificate", export.certificate_id)
        rows = export.rows
        self.t.certificates[export.certificate_id] = CertificateRecord(**rows["certificate"][0])
        namespaces = rows["certificate_document"][0]["namespaces"]
        self.t.documents[export.certificate_id] = StoredDocument(export.document, dict(namespaces))
        for e in rows.get("certificate_state", []):
            self.t.states.append((len(self.t.states), export.certificate_id, StateEntry(**e)))
        self.t.relations += [RelationRecord(**r) for r in rows.get("relation", [])]
        for m in rows.get("message", []):
            self.t.messages[m["message_id"]] = MessageRecord(**m)

    def erase(self, ids: Sequence[str]) -> int:
        wanted = set(ids)
        removed = len(wanted & set(self.t.certificates))
        for cid in wanted:
            self.t.certificates.pop(cid, None)
            self.t.documents.pop(cid, None)
            self.t.revocations.pop(cid, None)
            self.t.signatures.pop(cid, None)
            self.t.sick_leave.pop(cid, None)
            self.t.approved.pop(cid, None)
        self.t.states = [s for s in self.t.states if s[1] not in wanted]
        self.t.relations = [r for r in self.t.relations if r.from_id not in wanted]
        self.t.messages = {k: m for k, m in self.t.messages.items() if m.certificate_id not in wanted}
        return removed

    def erase_sick_leave_rows(self, care_giver_id: str) -> int:
        gone = [cid for cid, (c, _) in self.t.sick_leave.items() if c.care_giver_id == care_giver_id]
        for cid in gone:
            del self.t.sick_leave[cid]
        return len(gone)

    def rehab_statuses(self, care_giver_id: str, after: int | None, limit: int) -> tuple[list[dict], int | None]:
        # A status's place in the list stands for the database's row number.
        numbered = [(i, r) for i, r in enumerate(self.t.rehab_statuses) if r.care_provider_id == care_giver_id]
        page = [(i, r) for i, r in numbered if after is None or i > after][:limit]
        if not page:
            return [], None
        return [asdict(r) for _, r in page], page[-1][0]

    def restore_rehab_statuses(self, export: RehabStatusExport) -> int:
        new = [RehabStatusRecord(**r) for r in export.rows]
        new = [r for r in new if r not in self.t.rehab_statuses]
        self.t.rehab_statuses += new
        return len(new)

    def erase_rehab_statuses(self, care_giver_id: str) -> list[str]:
        gone = [r for r in self.t.rehab_statuses if r.care_provider_id == care_giver_id]
        self.t.rehab_statuses = [r for r in self.t.rehab_statuses if r.care_provider_id != care_giver_id]
        return sorted({r.patient_id for r in gone})

    def test_certificate_ids(self, signed_from: dt.datetime | None, signed_to: dt.datetime) -> list[str]:
        return sorted(
            r.id
            for r in self.t.certificates.values()
            if r.test_certificate
            and r.signed_at is not None
            and r.signed_at <= signed_to
            and (signed_from is None or r.signed_at >= signed_from)
        )


class FakeRehabStatuses:
    def __init__(self, t: Tables):
        self.t = t

    def add(self, record: RehabStatusRecord) -> None:
        self.t.rehab_statuses.append(record)

    def for_patients(self, care_unit_id: str, patient_ids: Sequence[str]) -> list[RehabStatusRecord]:
        wanted = set(patient_ids)
        return [r for r in self.t.rehab_statuses if r.care_unit_id == care_unit_id and r.patient_id in wanted]


class FakeOutbox:
    def __init__(self, t: Tables):
        self.t = t

    def enqueue(
        self,
        *,
        contract: str,
        logical_address: str,
        kind: str,
        reference: str,
        payload: bytes,
        correlation_id: str,
        now: dt.datetime,
    ) -> None:
        self.t.outbox.append(
            {
                "contract": contract,
                "logical_address": logical_address,
                "kind": kind,
                "reference": reference,
                "payload": payload,
                "correlation_id": correlation_id,
            }
        )


class FakeAccessLog:
    def __init__(self, t: Tables):
        self.t = t

    def append(self, entries: list[AccessEntry], named: object = None) -> None:
        self.t.access_log.extend(entries)


class FakeUnitOfWork:
    """Works on a copy of the tables; commit() makes the copy the store's."""

    def __init__(self, store: FakeStore):
        self._store = store

    def __enter__(self) -> FakeUnitOfWork:
        self._tables = copy.deepcopy(self._store.tables)
        t = self._tables
        self.certificates = FakeCertificates(t)
        self.messages = FakeMessages(t)
        self.approved_receivers = FakeApprovedReceivers(t)
        self.signatures = FakeSignatures(t)
        self.sick_leave = FakeSickLeave(t)
        self.care_provider = FakeCareProvider(t)
        self.rehab_statuses = FakeRehabStatuses(t)
        self.outbox = FakeOutbox(t)
        self.access_log = FakeAccessLog(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._tables = None  # type: ignore[assignment]

    def commit(self) -> None:
        self._store.tables = self._tables
        self._tables = copy.deepcopy(self._tables)
        for repo in (
            self.certificates,
            self.messages,
            self.approved_receivers,
            self.signatures,
            self.sick_leave,
            self.care_provider,
            self.rehab_statuses,
            self.outbox,
            self.access_log,
        ):
            repo.t = self._tables


class FakeStore:
    def __init__(self) -> None:
        self.tables = Tables()

    def reading(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    writing = reading

    def write(self, job: Callable[[FakeUnitOfWork], T], pipelined: bool = False) -> T:
        with self.writing() as uow:
            result = job(uow)
            uow.commit()
        return result

    def expect_write(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def give_way_to_writer(self) -> None:
        return None

    def ping(self) -> None:
        return None


@dataclass
class Sent:
    contract_ns: str
    logical_address: str
    payload: bytes


class FakeOutbound:
    """Answers every call with ``answer`` and remembers what was sent."""

    def __init__(self, answer: Outcome | None = None, routed: Iterable[str] = ()):
        self.answer = answer or Outcome("result", result_code="OK")
        self.routed = set(routed)  # logical addresses with a route for any contract
        self.sent: list[Sent] = []

    def send(
        self, contract_ns: str, logical_address: str, payload: bytes, correlation_id: str | None = None
    ) -> Outcome:
        self.sent.append(Sent(contract_ns, logical_address, payload))
        return self.answer

    def send_stored(
        self, contract_ns: str, logical_address: str, document: StoredDocument, correlation_id: str | None = None
    ) -> Outcome:
        return self.send(contract_ns, logical_address, document.document, correlation_id)

    def has_route(self, contract_ns: str, logical_address: str, day: dt.date) -> bool:
        return logical_address in self.routed


class Fixed:
    """A value that is never reloaded, where the service expects a reloadable one."""

    def __init__(self, value):
        self.value = value

    def current(self):
        return self.value
