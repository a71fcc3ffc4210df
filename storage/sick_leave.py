"""Sick-leave certificates and their periods, as the sick-leave lists read them."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import operator
from collections.abc import Collection, Iterable, Mapping

import lz4.block
from sqlalchemy import (
    Date,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from intygsgw.domain.sick_leave import HIDING_RELATIONS, SickLeaveCertificate, WorkCapacity, without_gaps
from intygsgw.storage import locks
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import (
    CertificateRow,
    RelationRow,
    SickLeaveCertificateRow,
    SickLeaveListingRow,
    SickLeavePeriodRow,
)
from intygsgw.storage.prepared import PreparedStatement, binary_results

# Without ``replaced``: refresh_derived derives it right after the insert.
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
        refresh_derived(self.connection, [cert.certificate_id], patients=[cert.patient_id])

    def lock(self, certificate_id: str) -> None:
        """No other writer adds, revokes or removes the certificate's row until this transaction ends."""
        locks.lock_until_commit(self.connection, locks.CERTIFICATE, [certificate_id])

    def mark_deleted(self, certificate_id: str) -> None:
        # Locked first: a row another writer is adding (and has not committed) would not be found.
        self.lock(certificate_id)
        self.connection.execute(
            update(SickLeaveCertificateRow)
            .where(SickLeaveCertificateRow.certificate_id == certificate_id)
            .values(deleted=True)
        )
        refresh_derived(self.connection, [certificate_id])  # what it replaced is listed again (§2.4)

    def delete(self, certificate_id: str) -> None:
        listed_on = listing_keys(self.connection, [certificate_id])
        self.connection.execute(delete(SickLeavePeriodRow).where(SickLeavePeriodRow.certificate_id == certificate_id))
        self.connection.execute(
            delete(SickLeaveCertificateRow).where(SickLeaveCertificateRow.certificate_id == certificate_id)
        )
        refresh_derived(self.connection, [certificate_id], gone=listed_on)

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
        cursor = _units_statement(len(unit_ids), self.connection.dialect.name).execute(
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

    def unit_listing(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[tuple[str, list[str], bytes | None]]:
        """What :meth:`for_units` selects, as the lists show it: per patient, in patient order, the
        certificate ids in list order and their stored items joined (UTF-8), or None when one of
        them has no stored item (a row from before migration 0014).

        One listing row per patient and unit (``sick_leave_listing``), not one row per
        certificate: a 2,000-patient unit's 6,000 certificates lay on as many pages.
        """
        if not unit_ids:
            return []
        dialect = self.connection.dialect.name
        cursor = _listing_statement(len(unit_ids), dialect).execute(
            self.connection,
            _units_params(care_giver_id, unit_ids, today, since),
            on_cursor=binary_results if dialect == "postgresql" else None,
        )
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        # Ordered here: PostgreSQL sorted the megabytes of items along with their keys.
        rows.sort(key=_FIRST)
        out: list[tuple[str, list[str], bytes | None]] = []
        for patient, of_patient in itertools.groupby(rows, _FIRST):
            parts: list[tuple] = []
            for _, unit, ids, keys, stored in of_patient:
                if ids is None:  # more than LISTED_AT_MOST: read certificate by certificate
                    where = {"giver": care_giver_id, "unit": unit, "patient": patient}
                    parts.append(_listed_of_patient(self.connection, where, _NO_LIMIT))
                else:
                    parts.append((ids, keys, _unpacked(stored)))
            listed_ids, listed_items = _merged(parts) if len(parts) > 1 else (_ids(parts[0][0]), parts[0][2])
            if listed_ids:
                out.append((patient, listed_ids, listed_items))
        return out

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


def refresh_derived(
    connection: Connection,
    certificate_ids: Collection[str],
    gone: Iterable[tuple[str, str, str]] = (),
    patients: Collection[str] | None = None,
) -> None:
    """Derive what the lists read from these certificates' rows again: ``replaced`` for them and
    for those they replace or complete, and the listing rows of all of their patients (:func:`relist`).

    Called by every write that changes what it is derived from: a sick-leave row written,
    revoked or removed, an ERSATT or KOMPLT relation stored, a certificate restored or
    erased. A certificate is replaced when an ERSATT or KOMPLT relation names it and the
    certificate it comes from has a sick-leave row that is not revoked; revoking the
    newer one brings the older back (§2.4). ``gone``: the listing keys of rows the caller
    removed (:func:`listing_keys`, asked before), which can no longer be found by their ids.

    The patients are locked before anything is derived (:func:`_lock_patients`): ``patients``
    when the caller knows them (a row it just wrote), else those of the rows found.
    """
    gone = list(gone)
    held: set[str] = set()
    if connection.dialect.name == "postgresql":
        if patients is None:
            patients = _patients_of(connection, certificate_ids)
        _lock_patients(connection, [*patients, *(patient for _, _, patient in gone)], held)
    if len(certificate_ids) == 1:
        # Every registered sick-leave certificate comes here: prepared, like its own rows (and a
        # registration's write may run in a PostgreSQL pipeline, where only these can be read).
        [certificate_id] = certificate_ids
        _REFRESH_ONE.execute(connection, {"id": certificate_id}).close()
        overflowing = {
            (giver, unit, patient): overflow
            for giver, unit, patient, overflow in _keys_of_one(connection, certificate_id)
        }
        relist(connection, [*overflowing, *gone], overflowing, held)
        return
    ids = list(certificate_ids)
    keys = []
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        connection.execute(_refresh(_T.c.certificate_id.in_(chunk)))
        connection.execute(_refresh(_T.c.certificate_id.in_(_predecessors(_R.c.from_id.in_(chunk)))))
        keys.extend(listing_keys(connection, chunk))
    relist(connection, [*keys, *gone], held=held)


# More patients than this at once (a care provider's erasure or restore) lock the sick-leave table
# instead: PostgreSQL's shared lock table has room for some 64 locks per connection, and a
# transaction taking thousands would fail for want of it.
PATIENT_LOCKS_AT_MOST = 64
_EVERY_PATIENT = "\0every patient"  # in ``held``: the table is locked


def _lock_patients(connection: Connection, patients: Iterable[str], held: set[str]) -> None:
    """Lock the patients not in ``held`` until the commit (PostgreSQL; intygsgw.storage.locks), and add them.

    Two writers changing one patient's rows at once would each derive the patient's listing rows
    and ``replaced`` flags without the other's uncommitted rows, and the later commit would keep
    its stale result: a certificate missing from a unit's list, or one listed that is replaced.
    The second to lock waits for the first's commit and then reads its rows. Every writer that
    comes here has written the sick-leave table already or does next, so the table's lock, which
    admits none of their writes, stands in for locks on all of its patients.
    """
    if connection.dialect.name != "postgresql" or _EVERY_PATIENT in held:
        return
    new = set(patients) - held
    if len(new) > PATIENT_LOCKS_AT_MOST:
        connection.exec_driver_sql(f"LOCK TABLE {_T.name} IN EXCLUSIVE MODE")
        held.add(_EVERY_PATIENT)
        return
    locks.lock_until_commit(connection, locks.PATIENT, new)
    held.update(new)


def _patients_of(connection: Connection, certificate_ids: Collection[str]) -> list[str]:
    """The patients of these certificates' rows and of those they replace or complete."""
    if len(certificate_ids) == 1:
        return [patient for _, _, patient, _ in _keys_of_one(connection, next(iter(certificate_ids)))]
    return [patient for _, _, patient in listing_keys(connection, certificate_ids)]


def _keys_of_one(connection: Connection, certificate_id: str) -> list[tuple[str, str, str, bool]]:
    """The listing keys of the certificate and of those it replaces or completes, each with whether
    its listing row says only "too many to list"."""
    cursor = _KEYS_ONE.execute(connection, {"id": certificate_id})
    try:
        return [(giver, unit, patient, bool(overflow)) for giver, unit, patient, overflow in cursor.fetchall()]
    finally:
        cursor.close()


def listing_keys(connection: Connection, certificate_ids: Collection[str]) -> list[tuple[str, str, str]]:
    """The (care giver, unit, patient) of these certificates' rows and of those they replace or complete."""
    ids = list(certificate_ids)
    keys: list[tuple[str, str, str]] = []
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        # Two reads, not one with OR: PostgreSQL reads an OR with a subquery by scanning the table.
        for named in (_T.c.certificate_id.in_(chunk), _T.c.certificate_id.in_(_predecessors(_R.c.from_id.in_(chunk)))):
            keys.extend(tuple(key) for key in connection.execute(select(*_KEY).where(named).distinct()))
    return keys


# A patient with more certificates than this to list on one unit has a listing row that says only
# so, and is read certificate by certificate: every change rewrites a listing row whole, and a test
# patient can gather thousands of certificates on one unit. Once there, a row stays so (reading the
# certificates gives the same list); migration 0024 drew the same line.
LISTED_AT_MOST = 100
_NO_LIMIT = 2**31 - 1


def relist(
    connection: Connection,
    keys: Iterable[tuple[str, str, str]],
    overflowing: Mapping[tuple[str, str, str], bool] | None = None,
    held: set[str] | None = None,
) -> None:
    """Build the listing rows of these (care giver, unit, patient) again from the certificates' rows.

    The one place that writes ``sick_leave_listing``: a patient with no certificate left to
    list there loses the row. ``overflowing``: whether a key's row says only that its patient
    has too many certificates to list there, when the caller read it already in this transaction.
    ``held``: the patients this transaction has locked already (:func:`_lock_patients`); the others
    are locked before their rows are read.
    """
    keys = sorted(set(keys))
    _lock_patients(connection, [patient for _, _, patient in keys], held if held is not None else set())
    for giver, unit, patient in keys:
        where = {"giver": giver, "unit": unit, "patient": patient}
        overflow = (overflowing or {}).get((giver, unit, patient))
        if overflow is None:
            cursor = _LISTING_STATE.execute(connection, where)
            try:
                state = cursor.fetchone()
            finally:
                cursor.close()
            overflow = state is not None and bool(state[0])
        if overflow:
            continue  # read certificate by certificate already: nothing kept here to bring up to date
        ids, keys_, items = _listed_of_patient(connection, where, LISTED_AT_MOST + 1)
        if not ids:
            _DELETE_LISTING.execute(connection, where).close()
            continue
        if len(ids) > LISTED_AT_MOST:
            values = {**where, "ids": None, "keys": None, "items": None}
        else:
            stored = _packed(items) if connection.dialect.name == "postgresql" else items
            values = {**where, "ids": _ids_text(ids), "keys": json.dumps(keys_), "items": stored}
        _UPSERT_LISTING.execute(connection, values).close()


def _listed_of_patient(
    connection: Connection, where: dict[str, str], limit: int
) -> tuple[list[str], list, bytes | None]:
    """(ids, [signing time, item length] each, items joined or None) of at most ``limit`` of what a
    listing row holds of the patient on the unit, from the certificates' rows."""
    cursor = _LISTED_OF_PATIENT.execute(connection, {**where, "limit": limit, "offset": 0})
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    # List order: signing time, then id, compared as Python compares them (as the lists always
    # have been ordered on PostgreSQL, whatever the database's collation).
    listed = sorted((_signed_key(signed_at), certificate_id, item) for certificate_id, signed_at, item in rows)
    ids, keys, parts = [], [], []
    for signed, certificate_id, item in listed:
        data = item.encode() if isinstance(item, str) else item
        ids.append(certificate_id)
        keys.append([signed, len(data) if data is not None else 0])
        parts.append(data)
    return ids, keys, None if any(part is None for part in parts) else b"".join(parts)


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
    # Only the rows whose flag changes: nearly always none (a new certificate is rarely replaced
    # yet), and an UPDATE that writes the value a row has still writes the row again, on
    # PostgreSQL a new version with its index entries (261 us of the server per registration,
    # measured on tables without statistics yet).
    return update(_T).where(these, _T.c.replaced.is_distinct_from(standing_newer)).values(replaced=standing_newer)


# One IN over a union rather than "= id OR IN (...)": PostgreSQL reads an OR with a subquery by
# scanning the table, and both use the key for each id of the union.
_REFRESH_ONE = PreparedStatement(
    _refresh(
        _T.c.certificate_id.in_(
            union_all(select(bindparam("id", type_=String())), _predecessors(_R.c.from_id == bindparam("id")))
        )
    )
)


_L = SickLeaveListingRow.__table__
_KEY = (_T.c.care_giver_id, _T.c.care_unit_id, _T.c.patient_id)
# The listing keys of a certificate and of those it replaces or completes (refresh_derived's one id),
# each with whether its listing row says only "too many to list" (relist's first question, asked
# here with the keys: on PostgreSQL every answer a registration waits for is a round trip).
_KEYS_ONE = PreparedStatement(
    select(*_KEY, and_(_L.c.patient_id.is_not(None), _L.c.certificate_ids.is_(None)))
    .select_from(
        _T.outerjoin(
            _L,
            and_(
                _L.c.care_giver_id == _T.c.care_giver_id,
                _L.c.care_unit_id == _T.c.care_unit_id,
                _L.c.patient_id == _T.c.patient_id,
            ),
        )
    )
    .where(
        _T.c.certificate_id.in_(
            union_all(select(bindparam("id", type_=String())), _predecessors(_R.c.from_id == bindparam("id")))
        )
    )
    .distinct()
)
_ON_LISTING_KEY = (
    _L.c.care_giver_id == bindparam("giver"),
    _L.c.care_unit_id == bindparam("unit"),
    _L.c.patient_id == bindparam("patient"),
)
# What a patient's listing row holds, by ix_sick_leave_unit_patient; put in list order by the
# caller. Ordered here, with the LIMIT, SQLite walked the whole unit by ix_sick_leave_unit_signed
# for the order instead (a registration's cost grew with its unit's certificates).
_LISTED_OF_PATIENT = PreparedStatement(
    select(_T.c.certificate_id, _T.c.signed_at, _T.c.listed_item)
    .where(
        _T.c.care_giver_id == bindparam("giver"),
        _T.c.care_unit_id == bindparam("unit"),
        _T.c.patient_id == bindparam("patient"),
        _T.c.deleted.is_(False),
        _T.c.replaced.is_(False),
    )
    # Given as values: with a bound LIMIT, SQLite's compiler adds an OFFSET of its own to bind.
    .limit(bindparam("limit", type_=Integer()))
    .offset(bindparam("offset", type_=Integer()))
)
_LISTING_STATE = PreparedStatement(select(_L.c.certificate_ids.is_(None)).where(*_ON_LISTING_KEY))
_DELETE_LISTING = PreparedStatement(delete(_L).where(*_ON_LISTING_KEY))
# The same text on SQLite (3.24 and later) and PostgreSQL; the unique index is the conflict's target.
_UPSERT_LISTING = PreparedStatement(
    text(
        f"INSERT INTO {_L.name} (care_giver_id, care_unit_id, patient_id, certificate_ids, item_keys, listed_items) "
        "VALUES (:giver, :unit, :patient, :ids, :keys, :items) "
        "ON CONFLICT (care_giver_id, care_unit_id, patient_id) DO UPDATE SET "
        "certificate_ids = excluded.certificate_ids, item_keys = excluded.item_keys, listed_items = excluded.listed_items"
    ).bindparams(bindparam("items", type_=LargeBinary()))
)


# Compiled statements by number of unit ids.
_UNITS_STATEMENTS: dict[tuple[int, str], PreparedStatement] = {}
_LISTING_STATEMENTS: dict[tuple[int, str], PreparedStatement] = {}
# Asked first by every unit's list: prepared, it is planned once (0.5 ms of planning for a 0.07 ms query).
_CARE_GIVER_OF_UNIT = tuple(
    PreparedStatement(
        text(f"SELECT care_giver_id FROM {table} WHERE care_unit_id = :unit ORDER BY signed_at DESC LIMIT 1")
    )
    for table in (CertificateRow.__tablename__, SickLeaveCertificateRow.__tablename__)
)
# Written with the row, read only by the selection itself (the span, replaced) or by relist (the item).
_NOT_READ = ("listed_item", "first_start", "last_end", "gapless", "replaced")
# The row's columns in table order, as the certificate is read.
_ROW_COLUMNS = tuple(c for c in SickLeaveCertificateRow.__table__.columns if c.key not in _NOT_READ)
_PERIOD_AT = len(_ROW_COLUMNS)


def _units_params(care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date) -> dict[str, object]:
    params: dict[str, object] = {"giver": care_giver_id, "today": today, "since": since}
    params.update((f"unit{i}", unit) for i, unit in enumerate(unit_ids))
    return params


def _on_units(table, units: int) -> tuple:
    """The care giver's and ``units`` unit ids' (a unit and its sub-units) rows of ``table``, as a where clause."""
    return (
        table.c.care_giver_id == bindparam("giver"),
        table.c.care_unit_id.in_([bindparam(f"unit{i}") for i in range(units)]),
    )


def _active_patients(units: int):
    """The patients with a certificate on the units that is active today or ended since ``since``."""
    t, p = SickLeaveCertificateRow.__table__, SickLeavePeriodRow.__table__
    today, since = bindparam("today", type_=Date()), bindparam("since", type_=Date())
    # The span narrows the unit's certificates to those that can cover the days (by
    # ix_sick_leave_unit_span); then a span without gaps does, and in one with gaps a period must
    # (checked first, the flag spares 2,000 period lookups of a 2,000-patient unit: 13 -> 10 ms).
    # The index holds every column read here. No DISTINCT: IN does not need it, and with it SQLite
    # walked (unit, patient) for its order and read all 12,000 of the unit's rows (8 against 0.7 ms).
    return select(t.c.patient_id).where(
        *_on_units(t, units),
        t.c.deleted.is_(False),
        t.c.last_end >= since,
        t.c.first_start <= today,
        or_(
            t.c.gapless.is_(True),
            exists().where(p.c.certificate_id == t.c.certificate_id, p.c.start <= today, p.c.end >= since),
        ),
    )


def _of_active_patients(rows, patient_id, units: int, dialect: str):
    """(``rows``, a select, narrowed to the units' patients on sick leave; the columns it selects).

    On PostgreSQL the rows are looked up patient by patient, in a lateral subquery joined on
    ``true()``: a shape the planner cannot turn round (OFFSET 0 keeps it from flattening the
    subquery). Estimating a unit's rows from its care giver and unit as if they were independent
    (10 rows for 4,000), it read all of the unit's rows once against all its active patients
    instead, by a join filter: 1.1 s for the listing at 2 million, and the selection would do the
    same with 12,000 rows. SQLite's plan for ``IN`` is pinned by a test of its own.
    """
    if dialect != "postgresql":
        return rows.where(patient_id.in_(_active_patients(units))), rows.selected_columns
    active = _active_patients(units).distinct().subquery("active")
    of_patient = rows.where(patient_id == active.c.patient_id).offset(literal_column("0")).lateral("of_patient")
    return select(*of_patient.c).select_from(active.join(of_patient, true())), of_patient.c


def _units_statement(units: int, dialect: str) -> PreparedStatement:
    """Each selected certificate's row with its periods, one row per period, in list order; compiled
    once per count and dialect."""
    statement = _UNITS_STATEMENTS.get((units, dialect))
    if statement is None:
        t, p = SickLeaveCertificateRow.__table__, SickLeavePeriodRow.__table__
        rows = (
            select(*_ROW_COLUMNS, p.c.start, p.c.end, p.c.grade)
            .join_from(t, p, p.c.certificate_id == t.c.certificate_id)
            .where(*_on_units(t, units), t.c.deleted.is_(False), t.c.replaced.is_(False))
        )
        stmt, c = _of_active_patients(rows, t.c.patient_id, units, dialect)
        stmt = stmt.order_by(c.patient_id, c.signed_at, c.certificate_id, c.start)
        statement = _UNITS_STATEMENTS[(units, dialect)] = PreparedStatement(stmt)
    return statement


def _listing_statement(units: int, dialect: str) -> PreparedStatement:
    """The listing rows of the units' patients on sick leave (unordered); compiled once per count and dialect."""
    statement = _LISTING_STATEMENTS.get((units, dialect))
    if statement is None:
        rows = select(_L.c.patient_id, _L.c.care_unit_id, _L.c.certificate_ids, _L.c.item_keys, _L.c.listed_items)
        stmt, _ = _of_active_patients(rows.where(*_on_units(_L, units)), _L.c.patient_id, units, dialect)
        statement = _LISTING_STATEMENTS[(units, dialect)] = PreparedStatement(stmt)
    return statement


_FIRST = operator.itemgetter(0)


# Between the ids of a listing row: XML text cannot hold it, so no id from a contract does. A list
# is 2,000 rows, and splitting them took 0.8 ms where reading them as JSON took 7.
_ID_SEPARATOR = "\x1f"


def _ids_text(ids: list[str]) -> str:
    """The ids as a listing row stores them; as a JSON list when they cannot be told apart otherwise."""
    if ids[0].startswith("[") or any(_ID_SEPARATOR in cid for cid in ids):
        return json.dumps(ids)
    return _ID_SEPARATOR.join(ids)


# On PostgreSQL a listing row's items are stored compressed with lz4 behind this mark: 4.7 times
# smaller, as a patient's items repeat the patient, the unit and the doctor. A unit's list moved
# 7.6 MB of them from the server (whose own lz4 decompresses before sending), and receiving them
# was most of its time: the listing 53-57 -> 42-44 ms, the call 74-75 -> 55-62 ms (alternating,
# 2 million). SQLite reads the items from its memory map, and decompressing them only added to
# the list (15-16 -> 23-36 ms), so there they stay as they are. Items as they are start with "<"
# (list items are XML), and rows written by migration 0024's first form are read as they stand.
_PACKED = b"\x01"


def _packed(items: bytes | None) -> bytes | None:
    return None if items is None else _PACKED + lz4.block.compress(items, store_size=True)


def _unpacked(stored: bytes | None) -> bytes | None:
    if stored is None or stored[:1] != _PACKED:
        return stored
    return lz4.block.decompress(memoryview(stored)[1:])


def _ids(ids: str | list[str]) -> list[str]:
    """A listing row's ids (or a list as it is)."""
    if not isinstance(ids, str):
        return ids
    return json.loads(ids) if ids.startswith("[") else ids.split(_ID_SEPARATOR)


def _keys(keys: str | list) -> list:
    return json.loads(keys) if isinstance(keys, str) else keys


def _merged(parts: list[tuple]) -> tuple[list[str], bytes | None]:
    """One patient's lists on several units, (ids, keys, items) each as stored or read, as one list in list order."""
    entries = []
    for ids, keys, items in parts:
        at = 0
        for certificate_id, (signed, length) in zip(_ids(ids), _keys(keys), strict=True):
            entries.append((signed, certificate_id, None if items is None else items[at : at + length]))
            at += length
    entries.sort(key=lambda e: (e[0], e[1]))
    parts = [item for _, _, item in entries]
    return [cid for _, cid, _ in entries], None if any(p is None for p in parts) else b"".join(parts)


def _signed_key(value) -> str:
    """A signing time as text that sorts as the time does, whichever driver gave it."""
    signed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return signed.isoformat(sep=" ", timespec="microseconds")


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
