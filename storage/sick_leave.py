"""Sick-leave certificates and their periods, as the sick-leave lists read them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import (
    Date,
    LargeBinary,
    String,
    bindparam,
    cast,
    delete,
    exists,
    insert,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from intygsgw.domain.sick_leave import HIDING_RELATIONS, SickLeaveCertificate, WorkCapacity, without_gaps
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import CertificateRow, RelationRow, SickLeaveCertificateRow, SickLeavePeriodRow
from intygsgw.storage.prepared import PreparedStatement

# Without ``replaced``: refresh_replaced derives it right after the insert.
_INSERT_CERTIFICATE = PreparedStatement(
    insert(SickLeaveCertificateRow), [c.key for c in SickLeaveCertificateRow.__table__.columns if c.key != "replaced"]
)
_INSERT_PERIOD = PreparedStatement(insert(SickLeavePeriodRow), ["certificate_id", "start", "end", "grade"])


class SickLeaveRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, cert: SickLeaveCertificate, listed_item: str | None = None) -> None:
        """Store the certificate and its periods; ``listed_item`` is how the lists show it, rendered once."""
        values = {
            "certificate_id": cert.certificate_id,
            "patient_id": cert.patient_id,
            "patient_name": cert.patient_name[:255],
            "care_giver_id": cert.care_giver_id,
            "care_unit_id": cert.care_unit_id,
            "care_unit_name": cert.care_unit_name,
            "doctor_id": cert.doctor_id,
            "doctor_name": cert.doctor_name,
            "signed_at": cert.signed_at,
            "diagnosis": cert.diagnosis,
            "secondary_diagnoses": ",".join(cert.secondary_diagnoses),
            "employment": ",".join(cert.employment),
            "deleted": False,
            "listed_item": listed_item,
            "first_start": min((p.start for p in cert.periods), default=None),
            "last_end": max((p.end for p in cert.periods), default=None),
            "gapless": without_gaps(cert.periods),
        }
        check_lengths(SickLeaveCertificateRow.__table__, values)
        # Written with every registered sick-leave certificate: prepared, like the certificate's own rows.
        _INSERT_CERTIFICATE.execute(self.connection, values).close()
        _INSERT_PERIOD.execute_many(
            self.connection,
            [
                {"certificate_id": cert.certificate_id, "start": p.start, "end": p.end, "grade": p.grade}
                for p in cert.periods
            ],
        )
        # A certificate that replaces another may come after it or, restored or forwarded, before.
        refresh_replaced(self.connection, [cert.certificate_id])

    def mark_deleted(self, certificate_id: str) -> None:
        self.connection.execute(
            update(SickLeaveCertificateRow)
            .where(SickLeaveCertificateRow.certificate_id == certificate_id)
            .values(deleted=True)
        )
        refresh_replaced(self.connection, [certificate_id])  # what it replaced is listed again (§2.4)

    def delete(self, certificate_id: str) -> None:
        self.connection.execute(delete(SickLeavePeriodRow).where(SickLeavePeriodRow.certificate_id == certificate_id))
        self.connection.execute(
            delete(SickLeaveCertificateRow).where(SickLeaveCertificateRow.certificate_id == certificate_id)
        )
        refresh_replaced(self.connection, [certificate_id])

    def for_units(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[SickLeaveCertificate]:
        """Every certificate on these units of the patients with one that is active today or ended since ``since``.

        Left out, as the reference's selection does: deleted (revoked) rows, and
        rows replaced or completed (ERSATT, KOMPLT) by a sick-leave certificate
        that is not itself revoked.
        """
        if not unit_ids:
            return []
        cursor = _units_statement(len(unit_ids)).execute(
            self.connection, _units_params(care_giver_id, unit_ids, today, since)
        )
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        # One row per period, a certificate's periods together: read straight off the driver, as a
        # unit's list runs to thousands of certificates and the ORM-free Core rows still cost most of it.
        out: list[SickLeaveCertificate] = []
        current: tuple | None = None
        periods: list[WorkCapacity] = []
        for row in rows:
            if current is None or row[0] != current[0]:
                if current is not None:
                    out.append(_certificate(current, periods))
                current, periods = row, []
            start, end, grade = row[_PERIOD_AT:]
            periods.append(WorkCapacity(_date(start), _date(end), grade))
        if current is not None:
            out.append(_certificate(current, periods))
        return out

    def listed_items(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[tuple[str, str, bytes | None]]:
        """(certificate id, patient id, stored item) of what :meth:`for_units` selects, in the same order.

        The item comes as UTF-8, as it goes into the answer (SQLite hands the stored bytes over
        without the driver decoding megabytes that would be encoded again at once). It is None
        for a row stored without one (before migration 0014, or cleared by one).
        """
        if not unit_ids:
            return []
        # PostgreSQL sorted the megabytes of items along with their keys and spilled a 2,000-patient
        # list to disk: its rows are ordered here. SQLite's sort in the query costs less than this
        # one, and SQLite hands the stored bytes over (CAST AS BLOB). PostgreSQL's convert_to()
        # cost more (48 against 30 ms for a 7.6 MB list) than decoding and encoding here; its
        # driver is told to hand the item's UTF-8 over undecoded instead (_load_text_as_bytes).
        in_sql = self.connection.dialect.name == "sqlite"
        cursor = _items_statement(len(unit_ids), sqlite=in_sql).execute(
            self.connection,
            _units_params(care_giver_id, unit_ids, today, since),
            on_cursor=None if in_sql else _load_text_as_bytes,
        )
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if in_sql:
            return rows  # (id, patient, item): the item as SQLite's stored bytes
        rows.sort(key=lambda r: (r[1], r[2], r[0]))
        return [(cid, patient, item.encode() if isinstance(item, str) else item) for cid, patient, _, item in rows]

    def certificates(self, certificate_ids: list[str]) -> list[SickLeaveCertificate]:
        """These certificates with their periods, in the order given (unknown ids left out)."""
        t = SickLeaveCertificateRow.__table__
        rows = []
        for chunk in (certificate_ids[i : i + 500] for i in range(0, len(certificate_ids), 500)):
            rows.extend(self.connection.execute(select(*_ROW_COLUMNS).where(t.c.certificate_id.in_(chunk))).all())
        found = {c.certificate_id: c for c in self._with_periods(rows)}
        return [found[cid] for cid in certificate_ids if cid in found]

    def for_patient(self, patient_id: str) -> list[SickLeaveCertificate]:
        """A patient's sick-leave certificates on every care giver, revoked and replaced ones left out."""
        t = SickLeaveCertificateRow.__table__
        stmt = (
            select(*_ROW_COLUMNS)
            .where(t.c.patient_id == patient_id, t.c.deleted.is_(False), t.c.replaced.is_(False))
            .order_by(t.c.signed_at, t.c.certificate_id)
        )
        return self._with_periods(self.connection.execute(stmt).all())

    def care_giver_of_unit(self, unit_id: str) -> str | None:
        """The care giver the unit's latest certificate names; None for a unit the gateway has no certificate of.

        A unit whose certificates are all the certificate-service's is known by their sick-leave rows alone.
        """
        for statement in _CARE_GIVER_OF_UNIT:
            cursor = statement.execute(self.connection, {"unit": unit_id})
            try:
                found = cursor.fetchone()
            finally:
                cursor.close()
            if found is not None:
                return found[0]
        return None

    def has(self, certificate_id: str) -> bool:
        t = SickLeaveCertificateRow.__table__
        return (
            self.connection.execute(select(t.c.certificate_id).where(t.c.certificate_id == certificate_id)).first()
            is not None
        )

    def _with_periods(self, rows) -> list[SickLeaveCertificate]:
        periods: dict[str, list[WorkCapacity]] = {}
        p = SickLeavePeriodRow.__table__
        ids = [r[0] for r in rows]
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            for cid, start, end, grade in self.connection.execute(
                select(p.c.certificate_id, p.c.start, p.c.end, p.c.grade)
                .where(p.c.certificate_id.in_(chunk))
                .order_by(p.c.start)
            ):
                periods.setdefault(cid, []).append(WorkCapacity(_date(start), _date(end), grade))
        return [_certificate(r, periods.get(r[0], [])) for r in rows]

    def of_patient(self, patient_id: str, *, include_deleted: bool = False) -> list[tuple[SickLeaveCertificate, bool]]:
        """A patient's sick-leave certificates with whether each is deleted (revoked)."""
        t = SickLeaveCertificateRow.__table__
        stmt = select(*_ROW_COLUMNS).where(t.c.patient_id == patient_id).order_by(t.c.signed_at, t.c.certificate_id)
        if not include_deleted:
            stmt = stmt.where(t.c.deleted.is_(False))
        rows = self.connection.execute(stmt).all()
        return list(zip(self._with_periods(rows), (bool(r.deleted) for r in rows), strict=True))


def refresh_replaced(connection: Connection, certificate_ids: Collection[str]) -> None:
    """Derive ``replaced`` again for these certificates and for those they replace or complete.

    Called by every write that changes what it is derived from: a sick-leave row written,
    revoked or removed, an ERSATT or KOMPLT relation stored, a certificate restored or
    erased. A certificate is replaced when an ERSATT or KOMPLT relation names it and the
    certificate it comes from has a sick-leave row that is not revoked; revoking the
    newer one brings the older back (§2.4).
    """
    if len(certificate_ids) == 1:
        # Every registered sick-leave certificate comes here: prepared, like its own rows.
        [certificate_id] = certificate_ids
        _REFRESH_ONE.execute(connection, {"id": certificate_id}).close()
        return
    ids = list(certificate_ids)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        connection.execute(_refresh(_T.c.certificate_id.in_(chunk)))
        connection.execute(_refresh(_T.c.certificate_id.in_(_predecessors(_R.c.from_id.in_(chunk)))))


_T, _R = SickLeaveCertificateRow.__table__, RelationRow.__table__
# Written into the SQL (constant codes), so that a prepared statement needs no values for them.
_HIDING = _R.c.code.in_([literal_column(f"'{code}'") for code in sorted(HIDING_RELATIONS)])


def _predecessors(from_these):
    """The ids the hiding relations ``from_these`` selects name."""
    return select(_R.c.to_id).where(from_these, _HIDING)


def _refresh(these):
    """The update deriving ``replaced`` for the rows ``these`` selects."""
    newer = _T.alias("newer")
    standing_newer = exists().where(
        _R.c.to_id == _T.c.certificate_id,
        _HIDING,
        newer.c.certificate_id == _R.c.from_id,
        newer.c.deleted.is_(False),
    )
    return update(_T).where(these).values(replaced=standing_newer)


# One IN over a union rather than "= id OR IN (...)": PostgreSQL reads an OR with a subquery by
# scanning the table, and both use the key for each id of the union.
_REFRESH_ONE = PreparedStatement(
    _refresh(
        _T.c.certificate_id.in_(
            union_all(select(bindparam("id", type_=String())), _predecessors(_R.c.from_id == bindparam("id")))
        )
    )
)


# Compiled statements by number of unit ids (and, for the items, whether for SQLite).
_UNITS_STATEMENTS: dict[int, PreparedStatement] = {}
_ITEMS_STATEMENTS: dict[tuple[int, bool], PreparedStatement] = {}
# Asked first by every unit's list: prepared, it is planned once (0.5 ms of planning for a 0.07 ms query).
_CARE_GIVER_OF_UNIT = tuple(
    PreparedStatement(
        text(f"SELECT care_giver_id FROM {table} WHERE care_unit_id = :unit ORDER BY signed_at DESC LIMIT 1")
    )
    for table in (CertificateRow.__tablename__, SickLeaveCertificateRow.__tablename__)
)
# Written with the row, read only by the selection itself (the span, replaced) or by listed_items (the item).
_NOT_READ = ("listed_item", "first_start", "last_end", "gapless", "replaced")
# The row's columns in table order, as the certificate is read.
_ROW_COLUMNS = tuple(c for c in SickLeaveCertificateRow.__table__.columns if c.key not in _NOT_READ)
_PERIOD_AT = len(_ROW_COLUMNS)


def _units_params(care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date) -> dict[str, object]:
    params: dict[str, object] = {"giver": care_giver_id, "today": today, "since": since}
    params.update((f"unit{i}", unit) for i, unit in enumerate(unit_ids))
    return params


def _on_units_selected(units: int) -> tuple:
    """The units' selection for ``units`` unit ids (a unit and its sub-units), as a where clause."""
    t, p = SickLeaveCertificateRow.__table__, SickLeavePeriodRow.__table__
    on_units = (
        t.c.care_giver_id == bindparam("giver"),
        t.c.care_unit_id.in_([bindparam(f"unit{i}") for i in range(units)]),
        t.c.deleted.is_(False),
    )
    today, since = bindparam("today", type_=Date()), bindparam("since", type_=Date())
    # The span narrows the unit's certificates to those that can cover the days (by
    # ix_sick_leave_unit_span); then a span without gaps does, and in one with gaps a period must
    # (checked first, the flag spares 2,000 period lookups of a 2,000-patient unit: 13 -> 10 ms).
    # The index holds every column read here. No DISTINCT: IN does not need it, and with it SQLite
    # walked (unit, patient) for its order and read all 12,000 of the unit's rows (8 against 0.7 ms).
    active_patients = select(t.c.patient_id).where(
        *on_units,
        t.c.last_end >= since,
        t.c.first_start <= today,
        or_(
            t.c.gapless.is_(True),
            exists().where(p.c.certificate_id == t.c.certificate_id, p.c.start <= today, p.c.end >= since),
        ),
    )
    return (*on_units, t.c.patient_id.in_(active_patients), t.c.replaced.is_(False))


def _units_statement(units: int) -> PreparedStatement:
    """Each selected certificate's row with its periods, one row per period, in list order; compiled once per count."""
    statement = _UNITS_STATEMENTS.get(units)
    if statement is None:
        t, p = SickLeaveCertificateRow.__table__, SickLeavePeriodRow.__table__
        stmt = (
            select(*_ROW_COLUMNS, p.c.start, p.c.end, p.c.grade)
            .join_from(t, p, p.c.certificate_id == t.c.certificate_id)
            .where(*_on_units_selected(units))
            .order_by(t.c.patient_id, t.c.signed_at, t.c.certificate_id, p.c.start)
        )
        statement = _UNITS_STATEMENTS[units] = PreparedStatement(stmt)
    return statement


def _items_statement(units: int, *, sqlite: bool) -> PreparedStatement:
    """Each selected certificate's id, patient and stored item; compiled once per count.

    For SQLite the item comes as its stored UTF-8 bytes and the rows in list order; otherwise the
    item is text and the signing time comes along for the caller to order by.
    """
    statement = _ITEMS_STATEMENTS.get((units, sqlite))
    if statement is None:
        t = SickLeaveCertificateRow.__table__
        where = _on_units_selected(units)
        stmt = (
            select(t.c.certificate_id, t.c.patient_id, cast(t.c.listed_item, LargeBinary))
            .where(*where)
            .order_by(t.c.patient_id, t.c.signed_at, t.c.certificate_id)
            if sqlite
            else select(t.c.certificate_id, t.c.patient_id, t.c.signed_at, t.c.listed_item).where(*where)
        )
        statement = _ITEMS_STATEMENTS[(units, sqlite)] = PreparedStatement(stmt)
    return statement


def _load_text_as_bytes(cursor) -> None:
    """Have a psycopg cursor hand ``text`` values (here only the stored item) over as UTF-8 bytes.

    The results come in binary format, where a text value is its bytes in the
    client encoding, and bytea's binary loader (psycopg's C one) hands them
    over as they are: 1.6 ms less for a 7.6 MB list than a loader written in
    Python. The ids are ``varchar`` and load as str as usual. On a connection
    whose client encoding is not UTF-8 nothing changes: the items come as text
    and are encoded by the caller.
    """
    if cursor.connection.info.encoding.lower().replace("-", "").replace("_", "") != "utf8":
        return
    from psycopg import pq
    from psycopg.types.string import ByteaBinaryLoader

    cursor.format = pq.Format.BINARY
    cursor.adapters.register_loader("text", ByteaBinaryLoader)


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _certificate(row, periods: list[WorkCapacity]) -> SickLeaveCertificate:
    """A certificate from a row of ``_ROW_COLUMNS`` (a driver's tuple or a Core row)."""
    signed = row[8]
    return SickLeaveCertificate(
        certificate_id=row[0],
        patient_id=row[1],
        patient_name=row[2],
        care_giver_id=row[3],
        care_unit_id=row[4],
        care_unit_name=row[5],
        doctor_id=row[6],
        doctor_name=row[7],
        # SQLite's driver gives the stored text; Core and PostgreSQL a datetime.
        signed_at=signed if isinstance(signed, dt.datetime) else dt.datetime.fromisoformat(signed),
        diagnosis=row[9],
        periods=tuple(periods),
        secondary_diagnoses=tuple(c for c in row[10].split(",") if c),
        employment=tuple(c for c in row[11].split(",") if c),
    )
