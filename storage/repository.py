"""The certificate repository: the only place that knows the tables.

The service layer asks in domain terms (a certificate id, a person, units) and
gets plain records back. Statements are SQLAlchemy Core on the unit of work's
connection, the hot ones built once at import: the register path writes three
small rows and a blob, and ORM bookkeeping cost more than the durable commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from intygsgw.domain.errors import AlreadyStored
from intygsgw.domain.records import CertificateRecord, RelationRecord, StoredDocument
from intygsgw.domain.sick_leave import HIDING_RELATIONS
from intygsgw.domain.states import State, StateEntry
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import (
    CertificateDocumentRow,
    CertificateRow,
    CertificateSignatureRow,
    CertificateStateRow,
    RelationRow,
    RevocationRow,
    SendClaimRow,
)
from intygsgw.storage.prepared import PreparedSelectByKeys, PreparedStatement
from intygsgw.storage.sick_leave import SickLeaveRepository, refresh_derived

_CERT_COLUMNS = [
    CertificateRow.id,
    CertificateRow.type,
    CertificateRow.type_version,
    CertificateRow.person_id,
    CertificateRow.signed_at,
    CertificateRow.care_unit_id,
    CertificateRow.care_unit_name,
    CertificateRow.care_giver_id,
    CertificateRow.doctor_id,
    CertificateRow.doctor_name,
    CertificateRow.test_certificate,
    CertificateRow.deleted_by_care_giver,
    CertificateRow.received_at,
]


def _record(row) -> CertificateRecord:
    return CertificateRecord(*row)


# Run inside the write lock on every registration: see intygsgw.storage.prepared.
_INSERT_CERT = PreparedStatement(insert(CertificateRow), [c.key for c in _CERT_COLUMNS])
_INSERT_DOC = PreparedStatement(insert(CertificateDocumentRow), ["certificate_id", "document", "namespaces"])
_INSERT_STATE = PreparedStatement(insert(CertificateStateRow), ["certificate_id", "state", "target", "timestamp"])
_INSERT_RELATION = insert(RelationRow)
_GET_CERT = select(*_CERT_COLUMNS).where(CertificateRow.id == bindparam("id"))


class CertificateRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    # -- writing -------------------------------------------------------------
    def add(self, cert: CertificateRecord, document: bytes, namespaces: dict[str, str]) -> None:
        check_lengths(CertificateRow.__table__, cert.__dict__)
        try:
            _INSERT_CERT.execute(self.connection, cert.__dict__).close()
        except IntegrityError as exc:
            # The primary key is what makes a duplicate, sequential or racing,
            # fail here rather than be looked up first.
            raise AlreadyStored("certificate", cert.id) from exc
        _INSERT_DOC.execute(
            self.connection,
            {
                "certificate_id": cert.id,
                "document": document,
                "namespaces": json.dumps(namespaces, sort_keys=True, separators=(",", ":")),
            },
        ).close()

    def add_state(self, certificate_id: str, state: State, target: str, timestamp: dt.datetime) -> None:
        values = {"certificate_id": certificate_id, "state": state.value, "target": target, "timestamp": timestamp}
        check_lengths(CertificateStateRow.__table__, values)
        _INSERT_STATE.execute(self.connection, values).close()

    def add_revocation_request(self, certificate_id: str, request: bytes, revoked_at: dt.datetime) -> None:
        self.connection.execute(
            insert(RevocationRow), {"certificate_id": certificate_id, "request": request, "revoked_at": revoked_at}
        )

    def add_relation(
        self, from_id: str, to_id: str, code: str, created_at: dt.datetime, patient_id: str | None = None
    ) -> None:
        values = {"from_id": from_id, "to_id": to_id, "code": code, "created_at": created_at}
        check_lengths(RelationRow.__table__, values)
        self.connection.execute(_INSERT_RELATION, values)
        if code in HIDING_RELATIONS:
            # The certificate it names leaves the lists. Its patient, when given, is locked without
            # reading it first: on PostgreSQL a registration's write is pipelined, a read a round trip.
            refresh_derived(self.connection, [from_id], patients=[patient_id] if patient_id else None)

    def claim_send(
        self, certificate_id: str, recipient_id: str, owner: str, now: dt.datetime, until: dt.datetime
    ) -> bool:
        """Take the send of this certificate to this recipient; False while another holds it.

        A claim whose time has passed belongs to a sender that died; it is taken over.
        """
        values = {
            "certificate_id": certificate_id,
            "recipient_id": recipient_id,
            "owner": owner,
            "claimed_until": until,
        }
        check_lengths(SendClaimRow.__table__, values)
        savepoint = self.connection.begin_nested()
        try:
            self.connection.execute(insert(SendClaimRow), values)
        except IntegrityError:
            savepoint.rollback()
        else:
            savepoint.commit()
            return True
        taken_over = self.connection.execute(
            update(SendClaimRow)
            .where(
                SendClaimRow.certificate_id == certificate_id,
                SendClaimRow.recipient_id == recipient_id,
                SendClaimRow.claimed_until < now,
            )
            .values(owner=owner, claimed_until=until)
        )
        return taken_over.rowcount == 1

    def release_send(self, certificate_id: str, recipient_id: str, owner: str) -> None:
        self.connection.execute(
            delete(SendClaimRow).where(
                SendClaimRow.certificate_id == certificate_id,
                SendClaimRow.recipient_id == recipient_id,
                SendClaimRow.owner == owner,
            )
        )

    def send_claimed(self, certificate_id: str, recipient_id: str, now: dt.datetime) -> bool:
        """Whether a live claim holds this send (one that has not passed its time)."""
        row = self.connection.execute(
            select(SendClaimRow.owner).where(
                SendClaimRow.certificate_id == certificate_id,
                SendClaimRow.recipient_id == recipient_id,
                SendClaimRow.claimed_until >= now,
            )
        ).first()
        return row is not None

    # -- reading -------------------------------------------------------------
    def get(self, certificate_id: str) -> CertificateRecord | None:
        row = self.connection.execute(_GET_CERT, {"id": certificate_id}).first()
        return _record(row) if row else None

    def get_for_update(self, certificate_id: str) -> CertificateRecord | None:
        """The certificate, its row locked until the transaction ends.

        Writers that read the state history and then act on it (revoke, record
        a send) lock the row first, so that on PostgreSQL neither acts on a
        history the other is about to change. SQLite transactions that write
        are serialised already and the lock clause is left out there.
        """
        row = self.connection.execute(_GET_CERT.with_for_update(), {"id": certificate_id}).first()
        return _record(row) if row else None

    def revocation_request(self, certificate_id: str) -> bytes | None:
        row = self.connection.execute(
            select(RevocationRow.request).where(RevocationRow.certificate_id == certificate_id)
        ).first()
        return bytes(row[0]) if row else None

    def document(self, certificate_id: str) -> StoredDocument | None:
        row = self.connection.execute(
            select(CertificateDocumentRow.document, CertificateDocumentRow.namespaces).where(
                CertificateDocumentRow.certificate_id == certificate_id
            )
        ).first()
        if row is None:
            return None
        return StoredDocument(bytes(row[0]), json.loads(row[1]))

    def documents(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored documents of those of ``ids`` that still have one, by certificate id."""
        found: dict[str, bytes] = {}
        for chunk in _chunks(list(ids), 500):
            rows = _DOCUMENTS.rows(self.connection, chunk)
            found.update((certificate_id, bytes(document)) for certificate_id, document in rows)
        return found

    def stored_documents(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        """As documents, each with the namespaces it inherited (to parse it on its own)."""
        found: dict[str, StoredDocument] = {}
        for chunk in _chunks(list(ids), 500):
            rows = self.connection.execute(
                select(
                    CertificateDocumentRow.certificate_id,
                    CertificateDocumentRow.document,
                    CertificateDocumentRow.namespaces,
                ).where(CertificateDocumentRow.certificate_id.in_(chunk))
            )
            found.update((cid, StoredDocument(bytes(document), json.loads(ns))) for cid, document, ns in rows)
        return found

    def states(self, certificate_id: str) -> list[StateEntry]:
        return self.states_for([certificate_id]).get(certificate_id, [])

    def states_for(self, ids: Sequence[str]) -> dict[str, list[StateEntry]]:
        """State history per certificate, newest first (ties: latest written first)."""
        result: dict[str, list[StateEntry]] = {i: [] for i in ids}
        for chunk in _chunks(list(ids), 500):
            rows = self.connection.execute(
                select(
                    CertificateStateRow.certificate_id,
                    CertificateStateRow.state,
                    CertificateStateRow.target,
                    CertificateStateRow.timestamp,
                )
                .where(CertificateStateRow.certificate_id.in_(chunk))
                .order_by(CertificateStateRow.timestamp.desc(), CertificateStateRow.id.desc())
            )
            for cid, state, target, ts in rows:
                result[cid].append(StateEntry(State(state), target, ts))
        return result

    def find_for_care(self, person_id: str, unit_ids: Sequence[str]) -> list[CertificateRecord]:
        stmt = select(*_CERT_COLUMNS).where(
            CertificateRow.person_id == person_id,
            CertificateRow.deleted_by_care_giver.is_(False),
        )
        if unit_ids:
            stmt = stmt.where(CertificateRow.care_unit_id.in_(list(unit_ids)))
        stmt = stmt.order_by(CertificateRow.signed_at.asc(), CertificateRow.id.asc())
        return [_record(r) for r in self.connection.execute(stmt)]

    def find_for_citizen(
        self,
        person_id: str,
        types: Iterable[str],
        signed_from: dt.datetime | None,
        signed_before: dt.datetime | None,
    ) -> list[CertificateRecord]:
        stmt = select(*_CERT_COLUMNS).where(CertificateRow.person_id == person_id)
        types = [t.lower() for t in types]
        if types:
            stmt = stmt.where(CertificateRow.type.in_(types))
        if signed_from is not None:
            stmt = stmt.where(CertificateRow.signed_at >= signed_from)
        if signed_before is not None:
            stmt = stmt.where(CertificateRow.signed_at < signed_before)
        stmt = stmt.order_by(CertificateRow.signed_at.asc(), CertificateRow.id.asc())
        return [_record(r) for r in self.connection.execute(stmt)]

    def find_for_units(
        self,
        unit_ids: Sequence[str],
        doctor_id: str | None,
        person_id: str | None,
        signed_from: dt.datetime,
        signed_to: dt.datetime,
        type_ids: Sequence[str],
    ) -> list[CertificateRecord]:
        """Certificates signed on these units in [signed_from, signed_to], newest first (Webcert's list)."""
        if not unit_ids:
            return []
        stmt = select(*_CERT_COLUMNS).where(
            CertificateRow.care_unit_id.in_(list(unit_ids)),
            CertificateRow.signed_at >= signed_from,
            CertificateRow.signed_at <= signed_to,
        )
        if doctor_id is not None:
            stmt = stmt.where(CertificateRow.doctor_id == doctor_id)
        if person_id is not None:
            stmt = stmt.where(CertificateRow.person_id == person_id)
        if type_ids:
            stmt = stmt.where(CertificateRow.type.in_([t.lower() for t in type_ids]))
        stmt = stmt.order_by(CertificateRow.signed_at.desc(), CertificateRow.id.asc())
        return [_record(r) for r in self.connection.execute(stmt)]

    def find_typed(
        self,
        unit_ids: Sequence[str],
        person_id: str | None,
        type_ids: Sequence[str],
        signed_from: dt.datetime | None,
        signed_before: dt.datetime | None,
    ) -> list[CertificateRecord]:
        """Signed certificates on these units (any unit when empty), of the person when given, of these
        types (as stored; any when empty), signed in [signed_from, signed_before), oldest first."""
        stmt = select(*_CERT_COLUMNS).where(CertificateRow.signed_at.is_not(None))
        if unit_ids:
            stmt = stmt.where(CertificateRow.care_unit_id.in_(list(unit_ids)))
        if person_id is not None:
            stmt = stmt.where(CertificateRow.person_id == person_id)
        if type_ids:
            stmt = stmt.where(CertificateRow.type.in_(list(type_ids)))
        if signed_from is not None:
            stmt = stmt.where(CertificateRow.signed_at >= signed_from)
        if signed_before is not None:
            stmt = stmt.where(CertificateRow.signed_at < signed_before)
        stmt = stmt.order_by(CertificateRow.signed_at.asc(), CertificateRow.id.asc())
        return [_record(r) for r in self.connection.execute(stmt)]

    def relations_to(self, ids: Iterable[str]) -> list[RelationRecord]:
        """Relations pointing at any of ``ids`` (their newer certificates)."""
        return self._relations(RelationRow.to_id, ids)

    def relations_from(self, ids: Iterable[str]) -> list[RelationRecord]:
        """Relations leaving any of ``ids`` (towards older certificates)."""
        return self._relations(RelationRow.from_id, ids)

    def _relations(self, column, ids: Iterable[str]) -> list[RelationRecord]:
        out: list[RelationRecord] = []
        for chunk in _chunks(list(set(ids)), 500):
            rows = self.connection.execute(
                select(RelationRow.from_id, RelationRow.to_id, RelationRow.code, RelationRow.created_at)
                .where(column.in_(chunk))
                .order_by(RelationRow.created_at, RelationRow.id)
            )
            out.extend(RelationRecord(*r) for r in rows)
        return out

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(set(ids))
        found: set[str] = set()
        for chunk in _chunks(ids, 500):
            found.update(
                r[0] for r in self.connection.execute(select(CertificateRow.id).where(CertificateRow.id.in_(chunk)))
            )
        return found

    # -- maintenance -----------------------------------------------------------
    def ids_for_persons(self, person_ids: Sequence[str], received_before: dt.datetime) -> list[str]:
        found: list[str] = []
        for chunk in _chunks(list(person_ids), 500):
            found.extend(
                r[0]
                for r in self.connection.execute(
                    select(CertificateRow.id)
                    .where(CertificateRow.person_id.in_(chunk), CertificateRow.received_at < received_before)
                    .order_by(CertificateRow.id)
                )
            )
        return found

    def delete(self, certificate_id: str) -> None:
        # Its sick-leave rows first, while its relations still name what it replaced: listed again.
        SickLeaveRepository(self.connection).delete(certificate_id)
        self.connection.execute(delete(RelationRow).where(RelationRow.from_id == certificate_id))
        for table, column in (
            (CertificateSignatureRow, CertificateSignatureRow.certificate_id),
            (RevocationRow, RevocationRow.certificate_id),
            (SendClaimRow, SendClaimRow.certificate_id),
            (CertificateStateRow, CertificateStateRow.certificate_id),
            (CertificateDocumentRow, CertificateDocumentRow.certificate_id),
            (CertificateRow, CertificateRow.id),
        ):
            self.connection.execute(delete(table).where(column == certificate_id))


# The publisher of broker events reads a batch's documents with it (events name theirs).
_DOCUMENTS = PreparedSelectByKeys(
    lambda keys: select(CertificateDocumentRow.certificate_id, CertificateDocumentRow.document).where(
        CertificateDocumentRow.certificate_id.in_(keys)
    )
)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
