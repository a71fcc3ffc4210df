"""A care provider's data as a whole: counted, exported, restored and erased (customer termination).

Export reads everything stored about a certificate, table by table, into
portable rows (``CertificateExport``); restore writes them back unchanged.
The surrogate keys of the history tables (``id`` columns numbered by the
database) are left out: they carry no meaning, and a restore numbers the rows
anew in the exported order, which keeps every ordering they were used for.
Erase removes a batch of certificates with everything that belongs to them.
Rehabilitation statuses belong to the care provider and its patients, not to a
certificate: they are read, restored and erased by care provider.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Boolean, Date, DateTime, Integer, LargeBinary, Table, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from intygsgw.domain.errors import AlreadyStored, InvalidExport
from intygsgw.domain.records import CertificateExport, RehabStatusExport
from intygsgw.domain.states import State
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import (
    ApprovedReceiverRow,
    CertificateDocumentRow,
    CertificateRow,
    CertificateSignatureRow,
    CertificateStateRow,
    MessageRow,
    RehabStatusRow,
    RelationRow,
    RevocationRow,
    SendClaimRow,
    SickLeaveCertificateRow,
    SickLeaveListingRow,
    SickLeavePeriodRow,
)
from intygsgw.storage.sick_leave import listing_keys, refresh_derived

# (table, the column naming the certificate, ordering) in the order a restore inserts them.
_OWNED: tuple[tuple[Table, str, str], ...] = (
    (CertificateRow.__table__, "id", "id"),
    (CertificateDocumentRow.__table__, "certificate_id", "certificate_id"),
    (CertificateStateRow.__table__, "certificate_id", "id"),
    (RevocationRow.__table__, "certificate_id", "certificate_id"),
    (CertificateSignatureRow.__table__, "certificate_id", "certificate_id"),
    (SickLeaveCertificateRow.__table__, "certificate_id", "certificate_id"),
    (SickLeavePeriodRow.__table__, "certificate_id", "id"),
    (RelationRow.__table__, "from_id", "id"),
    (MessageRow.__table__, "certificate_id", "id"),
    (ApprovedReceiverRow.__table__, "certificate_id", "id"),
)
_SURROGATE = "id"
_NUMBERED = {t.name for t, _, _ in _OWNED if "id" in t.c and t.c.id.autoincrement is True and t.c.id.primary_key}
# Deleted children first; send claims are transient and never exported.
_ERASE_ORDER: tuple[tuple[Table, str], ...] = (
    (ApprovedReceiverRow.__table__, "certificate_id"),
    (MessageRow.__table__, "certificate_id"),
    (SickLeavePeriodRow.__table__, "certificate_id"),
    (SickLeaveCertificateRow.__table__, "certificate_id"),
    (RelationRow.__table__, "from_id"),
    (CertificateSignatureRow.__table__, "certificate_id"),
    (RevocationRow.__table__, "certificate_id"),
    (SendClaimRow.__table__, "certificate_id"),
    (CertificateStateRow.__table__, "certificate_id"),
    (CertificateDocumentRow.__table__, "certificate_id"),
    (CertificateRow.__table__, "id"),
)
TABLES = tuple(t.name for t, _, _ in _OWNED)
REHAB_STATUS_TABLE = RehabStatusRow.__table__
# The exported columns of a status: its database number carries no meaning (as the history tables').
_REHAB_STATUS_COLUMNS = tuple(c for c in REHAB_STATUS_TABLE.columns if c.key != _SURROGATE)


class CareProviderRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def counts(self, care_giver_id: str) -> tuple[int, int]:
        """(certificates, revoked certificates) of the care provider."""
        total = self.connection.execute(
            select(func.count()).select_from(CertificateRow).where(CertificateRow.care_giver_id == care_giver_id)
        ).scalar_one()
        revoked = self.connection.execute(
            select(func.count(func.distinct(CertificateStateRow.certificate_id)))
            .join(CertificateRow, CertificateRow.id == CertificateStateRow.certificate_id)
            .where(CertificateRow.care_giver_id == care_giver_id, CertificateStateRow.state == State.CANCELLED.value)
        ).scalar_one()
        return int(total), int(revoked)

    def ids(self, care_giver_id: str, after: str | None, limit: int, offset: int = 0) -> list[str]:
        """The next ``limit`` certificate ids of the care provider in id order, after ``after`` (keyset)."""
        stmt = select(CertificateRow.id).where(CertificateRow.care_giver_id == care_giver_id)
        if after is not None:
            stmt = stmt.where(CertificateRow.id > after)
        stmt = stmt.order_by(CertificateRow.id).limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        return [r[0] for r in self.connection.execute(stmt)]

    def export(self, ids: Sequence[str]) -> list[CertificateExport]:
        """Everything stored about each certificate, in the order of ``ids``."""
        if not ids:
            return []
        rows: dict[str, dict[str, list[dict]]] = {i: {} for i in ids}
        for table, key, order in _OWNED:
            columns = [c for c in table.columns if not (table.name in _NUMBERED and c.key == _SURROGATE)]
            stmt = select(*columns).where(table.c[key].in_(list(ids))).order_by(table.c[key], table.c[order])
            for row in self.connection.execute(stmt).mappings():
                portable = {c.key: _portable(row[c.key]) for c in columns}
                rows[row[key]].setdefault(table.name, []).append(portable)
        exports = []
        revoked = self._revoked(ids)
        for cid in ids:
            found = rows[cid]
            if "certificate" not in found:
                continue  # erased since the ids were read
            document = found.get("certificate_document", [{}])[0].get("document")
            exports.append(
                CertificateExport(
                    certificate_id=cid,
                    care_giver_id=found["certificate"][0]["care_giver_id"],
                    revoked=cid in revoked,
                    document=base64.b64decode(document) if document else b"",
                    rows=found,
                )
            )
        return exports

    def _revoked(self, ids: Sequence[str]) -> set[str]:
        return {
            r[0]
            for r in self.connection.execute(
                select(CertificateStateRow.certificate_id)
                .where(
                    CertificateStateRow.certificate_id.in_(list(ids)),
                    CertificateStateRow.state == State.CANCELLED.value,
                )
                .distinct()
            )
        }

    def persons(self, ids: Sequence[str]) -> dict[str, str]:
        """The patient of each certificate (for the access log of an erase)."""
        if not ids:
            return {}
        rows = self.connection.execute(
            select(CertificateRow.id, CertificateRow.person_id).where(CertificateRow.id.in_(list(ids)))
        )
        return {row[0]: row[1] for row in rows.all()}

    def restore(self, export: CertificateExport) -> None:
        """Write an exported certificate back; AlreadyStored when its id is taken, the transaction left
        as it was, so that an import counts it as skipped and goes on."""
        by_name = {t.name: t for t, _, _ in _OWNED}
        unknown = set(export.rows) - set(by_name)
        if unknown:
            raise InvalidExport(f"export names unknown table(s): {', '.join(sorted(unknown))}")
        for table, _, _ in _OWNED:
            rows = export.rows.get(table.name) or []
            if not rows:
                continue
            key = next(k for t, k, _ in _OWNED if t is table)
            values = []
            for row in rows:
                if row.get(key) != export.certificate_id:
                    raise InvalidExport(f"a {table.name} row of {export.certificate_id} names another certificate")
                extra = set(row) - {c.key for c in table.columns}
                if extra:
                    raise InvalidExport(f"export of {table.name} has unknown column(s): {', '.join(sorted(extra))}")
                try:
                    decoded = {k: _stored(table, k, v) for k, v in row.items()}
                except (TypeError, ValueError) as exc:
                    raise InvalidExport(f"export of {export.certificate_id}: {exc}") from None
                check_lengths(table, decoded)
                values.append(decoded)
            if table is CertificateRow.__table__:
                self._insert_certificate(values, export.certificate_id)
                continue
            try:
                self.connection.execute(insert(table), values)
            except IntegrityError as exc:
                raise AlreadyStored(table.name, export.certificate_id) from exc
        # Derived, not taken from the export: the export may predate it, and the newer certificate
        # that hides this one (or the one this hides) may be stored or not.
        refresh_derived(self.connection, [export.certificate_id])

    def _insert_certificate(self, values: list[dict], certificate_id: str) -> None:
        # In a savepoint: on PostgreSQL a registration of the same id committed after the import
        # looked fails the insert, and without one the whole transaction (the import's batch) with it.
        savepoint = self.connection.begin_nested()
        try:
            self.connection.execute(insert(CertificateRow.__table__), values)
        except IntegrityError as exc:
            savepoint.rollback()
            raise AlreadyStored(CertificateRow.__table__.name, certificate_id) from exc
        savepoint.commit()

    def erase(self, ids: Sequence[str]) -> int:
        """Remove the certificates and everything that belongs to them; the number of certificates removed."""
        if not ids:
            return 0
        ids = list(ids)
        removed = 0
        # Locked before anything of them is deleted: a message claimed for one of them meanwhile
        # (it locks its certificate's row first) is then either committed and deleted below, or
        # finds its certificate gone. In id order, so that two erasures sharing ids do not deadlock.
        self.connection.execute(
            select(CertificateRow.id).where(CertificateRow.id.in_(ids)).order_by(CertificateRow.id).with_for_update()
        ).all()
        listed_on = listing_keys(self.connection, ids)
        for table, key in _ERASE_ORDER:
            result = self.connection.execute(delete(table).where(table.c[key].in_(ids)))
            if table is CertificateRow.__table__:
                removed = result.rowcount
            elif table is SickLeaveCertificateRow.__table__:
                # Before their relations go: what they replaced, on other care givers too, is listed again.
                refresh_derived(self.connection, ids, gone=listed_on)
        return int(removed)

    def erase_sick_leave_rows(self, care_giver_id: str) -> int:
        t, p = SickLeaveCertificateRow.__table__, SickLeavePeriodRow.__table__
        of_giver = select(t.c.certificate_id).where(t.c.care_giver_id == care_giver_id)
        erased = [r[0] for r in self.connection.execute(of_giver)]
        self.connection.execute(delete(p).where(p.c.certificate_id.in_(of_giver)))
        removed = int(self.connection.execute(delete(t).where(t.c.care_giver_id == care_giver_id)).rowcount)
        listing = SickLeaveListingRow.__table__
        self.connection.execute(delete(listing).where(listing.c.care_giver_id == care_giver_id))
        refresh_derived(self.connection, erased)  # what they replaced on other care givers is listed again
        return removed

    def rehab_statuses(self, care_giver_id: str, after: int | None, limit: int) -> tuple[list[dict], int | None]:
        """The next ``limit`` of the care provider's statuses in stored order after the row numbered
        ``after`` (portable, without their numbers), and the number to continue after (None: no more)."""
        t = REHAB_STATUS_TABLE
        stmt = select(t.c.id, *_REHAB_STATUS_COLUMNS).where(t.c.care_provider_id == care_giver_id)
        if after is not None:
            stmt = stmt.where(t.c.id > after)
        rows = self.connection.execute(stmt.order_by(t.c.id).limit(limit)).mappings().all()
        if not rows:
            return [], None
        return [{c.key: _portable(row[c.key]) for c in _REHAB_STATUS_COLUMNS} for row in rows], int(rows[-1]["id"])

    def restore_rehab_statuses(self, export: RehabStatusExport) -> int:
        """Write exported statuses back in their order; one stored already (every column the same) is
        skipped, so that importing a file twice stores each status once. How many were written."""
        t = REHAB_STATUS_TABLE
        known = {c.key for c in _REHAB_STATUS_COLUMNS}
        values = []
        for row in export.rows:
            extra = set(row) - known
            if extra:
                raise InvalidExport(f"export of {t.name} has unknown column(s): {', '.join(sorted(extra))}")
            missing = {c.key for c in _REHAB_STATUS_COLUMNS if not c.nullable} - {
                k for k, v in row.items() if v is not None
            }
            if missing:
                raise InvalidExport(f"export of {t.name} lacks {', '.join(sorted(missing))}")
            if row["care_provider_id"] != export.care_giver_id:
                raise InvalidExport(f"a {t.name} row of {export.care_giver_id} names another care provider")
            try:
                decoded = {k: _stored(t, k, row.get(k)) for k in known}
            except (TypeError, ValueError) as exc:
                raise InvalidExport(f"export of {t.name}: {exc}") from None
            check_lengths(t, decoded)
            values.append(decoded)
        if not values:
            return 0
        columns = [t.c[c.key] for c in _REHAB_STATUS_COLUMNS]
        patients = sorted({v["patient_id"] for v in values})
        # Counted, not a set: two statuses alike in every column are two statuses.
        stored = Counter(
            tuple(r)
            for i in range(0, len(patients), 500)
            for r in self.connection.execute(
                select(*columns).where(
                    t.c.care_provider_id == export.care_giver_id, t.c.patient_id.in_(patients[i : i + 500])
                )
            )
        )
        new = []
        for v in values:
            key = tuple(v[c.key] for c in _REHAB_STATUS_COLUMNS)
            if stored[key] > 0:
                stored[key] -= 1
            else:
                new.append(v)
        if new:
            self.connection.execute(insert(t), new)
        return len(new)

    def erase_rehab_statuses(self, care_giver_id: str) -> list[str]:
        """Remove the care provider's statuses; the patients they were about."""
        t = REHAB_STATUS_TABLE
        patients = [
            r[0]
            for r in self.connection.execute(
                select(t.c.patient_id).where(t.c.care_provider_id == care_giver_id).distinct().order_by(t.c.patient_id)
            )
        ]
        self.connection.execute(delete(t).where(t.c.care_provider_id == care_giver_id))
        return patients

    def test_certificate_ids(self, signed_from: dt.datetime | None, signed_to: dt.datetime) -> list[str]:
        stmt = select(CertificateRow.id).where(
            CertificateRow.test_certificate.is_(True), CertificateRow.signed_at <= signed_to
        )
        if signed_from is not None:
            stmt = stmt.where(CertificateRow.signed_at >= signed_from)
        return [r[0] for r in self.connection.execute(stmt.order_by(CertificateRow.id))]


def _portable(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _stored(table: Table, key: str, value):
    if value is None:
        return None
    kind = table.c[key].type
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value, validate=True)
    if isinstance(kind, DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise InvalidExport(f"{table.name}.{key} must be true or false")
        return value
    if isinstance(kind, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidExport(f"{table.name}.{key} must be an integer")
        return value
    if not isinstance(value, str):
        raise InvalidExport(f"{table.name}.{key} must be text")
    return value
