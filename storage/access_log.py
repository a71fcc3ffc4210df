"""Appending to, checking and exporting the patient-data access log.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's
own fields in a fixed text form, so changing any field, removing an entry or
swapping two breaks the chain at that point. Appending reads and updates the
one head row inside the writing transaction: on PostgreSQL the row is locked
(``FOR UPDATE``), on SQLite the transaction already holds the database's only
write lock, so writers in any number of processes chain one after another and
a rolled-back transaction leaves no gap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, String, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from intygsgw.domain.records import AccessEntry
from intygsgw.storage.models import AccessLogHeadRow, AccessLogPersonRow, AccessLogRow
from intygsgw.storage.prepared import PreparedStatement

GENESIS = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    entry: AccessEntry
    prev_hash: str
    hash: str

    def as_json(self) -> dict:
        e = self.entry
        return {
            "seq": self.seq,
            "at": _timestamp(e.at),
            "caller": e.caller,
            "original_consumer": e.original_consumer,
            "acting_on_behalf": e.acting_on_behalf,
            "contract": e.contract,
            "logical_address": e.logical_address,
            "person_id": e.person_id,
            "certificate_ids": list(e.certificate_ids),
            "outcome": e.outcome,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _timestamp(at: dt.datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def entry_hash(prev_hash: str, seq: int, e: AccessEntry) -> str:
    return _chained(
        prev_hash, seq, _shared_fields(e), _json_text(e.person_id), _ids_json(e.certificate_ids), _json(e.outcome)
    )


def _shared_fields(e: AccessEntry) -> str:
    """The fields a call's entries have in common, as they stand in the hashed text."""
    return ",".join(
        _json(v) for v in (_timestamp(e.at), e.caller, e.original_consumer, e.acting_on_behalf, e.contract,
                           e.logical_address)
    )  # fmt: skip


def _chained(prev_hash: str, seq: int, shared: str, person_json: str, ids_json: str, outcome_json: str) -> str:
    # The hashed text is the previous hash, a newline and the entry's fields as one compact JSON
    # array: seq, the shared fields, person id, certificate ids, outcome.
    fields = f"[{seq},{shared},{person_json},{ids_json},{outcome_json}]"
    return hashlib.sha256(f"{prev_hash}\n{fields}".encode()).hexdigest()


def _json_text(value: str) -> str:
    # A person id is twelve digits as a rule, which JSON writes as they are: a listing hashes thousands.
    return f'"{value}"' if value.isascii() and value.isalnum() else _json(value)


def _ids_json(ids: tuple[str, ...]) -> str:
    """The certificate ids as the compact JSON list the hash covers (and the column stores)."""
    if not ids:
        return "[]"
    # Ids JSON writes as they are (printable, no quote or backslash) are joined without the encoder.
    raw = "".join(ids)
    if raw.isprintable() and '"' not in raw and "\\" not in raw:
        return '["' + '","'.join(ids) + '"]'
    return _json(list(ids))


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]").search


def _copy_text(value: str) -> str:
    """``value`` as a field of COPY's text format, where backslash, tab, newline and CR are escaped."""
    if _COPY_SPECIAL(value) is None:
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


# Every logged call runs these three inside the write lock: see intygsgw.storage.prepared.
_LOCK_HEAD = PreparedStatement(
    select(AccessLogHeadRow.seq, AccessLogHeadRow.hash)
    .where(AccessLogHeadRow.id == bindparam("head_id"))
    .with_for_update()
)
# What a call's entries share, and what each has of its own; together, every column in table order.
_SHARED = ("at", "caller", "original_consumer", "acting_on_behalf", "contract", "logical_address", "outcome")
_ENTRY_COLUMNS = tuple(c.key for c in AccessLogRow.__table__.columns)
_INSERT = PreparedStatement(insert(AccessLogRow), _ENTRY_COLUMNS)
_MOVE_HEAD = PreparedStatement(
    update(AccessLogHeadRow)
    .where(AccessLogHeadRow.id == bindparam("head_id"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_HOUR = dt.timedelta(hours=1)
# A person's hour, written with every entry that names them; ON CONFLICT DO NOTHING: SQLite 3.24 and PostgreSQL.
_NAME_HOUR = PreparedStatement(
    text(
        "INSERT INTO access_log_person (person_id, hour) VALUES (:person_id, :hour) ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("person_id", type_=String()), bindparam("hour", type_=DateTime()))
)


# Lines per write to COPY: small enough that the server stores a chunk while the next is hashed.
_COPY_CHUNK = 250
# The columns in the order _append_postgresql writes a line's fields.
_COPY_POSTGRESQL = (
    "COPY access_log (seq, at, caller, original_consumer, acting_on_behalf, contract, logical_address, "
    "person_id, certificate_ids, outcome, prev_hash, hash) FROM STDIN"
)
# Pairs already there are left out by the anti-join first: ON CONFLICT alone tried to insert each
# (a listing repeated within the hour names the same persons), 3.2 against 1.2 ms for 2,000.
_NAME_HOURS_POSTGRESQL = text(
    "INSERT INTO access_log_person (person_id, hour) SELECT DISTINCT a.person_id, date_trunc('hour', a.at) "
    "FROM access_log a WHERE a.seq BETWEEN :first AND :last AND a.person_id <> '' AND NOT EXISTS ("
    "SELECT 1 FROM access_log_person p WHERE p.person_id = a.person_id AND p.hour = date_trunc('hour', a.at)) "
    "ON CONFLICT DO NOTHING"
)


def _hour(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


_COLUMNS = [
    AccessLogRow.seq,
    AccessLogRow.at,
    AccessLogRow.caller,
    AccessLogRow.original_consumer,
    AccessLogRow.acting_on_behalf,
    AccessLogRow.contract,
    AccessLogRow.logical_address,
    AccessLogRow.person_id,
    AccessLogRow.certificate_ids,
    AccessLogRow.outcome,
    AccessLogRow.prev_hash,
    AccessLogRow.hash,
]


def _stored(row) -> StoredEntry:
    seq, at, caller, orig, behalf, contract, address, person, cids, outcome, prev, h = row
    entry = AccessEntry(at, caller, orig, behalf, contract, address, person, tuple(json.loads(cids)), outcome)
    return StoredEntry(seq, entry, prev, h)


def _chain(entries: list[AccessEntry], seq: int, prev: str) -> Iterator[tuple[int, AccessEntry, tuple, str, str, str]]:
    """Each entry's (seq, entry, shared fields, ids JSON, previous hash, hash), chained after ``seq``/``prev``.

    A listing logs thousands of entries that differ only in patient and certificates: the fields
    they share (in _SHARED's order) are put in the hashed form once, and come as the same tuple
    object while they stay the same, so a writer sees a change with ``is not``.
    """
    key: tuple = ()
    hashed = outcome_json = ""
    for e in entries:
        seq += 1
        entry_key = (e.at, e.caller, e.original_consumer, e.acting_on_behalf, e.contract, e.logical_address, e.outcome)
        if entry_key != key:
            key, hashed, outcome_json = entry_key, _shared_fields(e), _json(e.outcome)
        # Stored in the compact form the hash covers; the column is read back with json.loads either way.
        ids_json = _ids_json(e.certificate_ids)
        h = _chained(prev, seq, hashed, _json_text(e.person_id), ids_json, outcome_json)
        yield seq, e, key, ids_json, prev, h
        prev = h


@dataclass
class _Group:
    """Entries of one append that share their call's fields (in practice: one call's entries)."""

    shared: dict[str, Any]  # the shared columns
    rows: list[dict[str, Any]]  # each entry's own columns
    persons: set[str]  # the persons named in the group's hour


class AccessLogRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def append(self, entries: list[AccessEntry]) -> int:
        """Chain ``entries`` after the head; the caller's transaction commits them. Returns the last seq."""
        cursor = _LOCK_HEAD.execute(self.connection, {"head_id": HEAD_ID})
        first, prev = cursor.fetchone()
        cursor.close()
        if self.connection.dialect.name == "postgresql":
            seq, prev = self._append_postgresql(entries, first, prev)
        else:
            seq, prev = self._append_rows(entries, first, prev)
        _MOVE_HEAD.execute(self.connection, {"head_id": HEAD_ID, "new_seq": seq, "new_hash": prev}).close()
        return seq

    def _append_rows(self, entries: list[AccessEntry], first: int, head: str) -> tuple[int, str]:
        # What a call's entries share is bound once per group (SQLite's executemany).
        groups: dict[tuple, _Group] = {}
        persons_by_hour: dict[dt.datetime, set[str]] = {}
        group, last = _Group({}, [], set()), None
        seq, prev = first, head
        for seq, e, key, ids_json, before, prev in _chain(entries, first, head):
            if key is not last:
                last, group = key, groups.get(key)
                if group is None:
                    # The group's persons are its hour's: the hour follows from the shared time.
                    group = groups[key] = _Group(
                        dict(zip(_SHARED, key, strict=True)), [], persons_by_hour.setdefault(_hour(e.at), set())
                    )
            if e.person_id:
                group.persons.add(e.person_id)
            group.rows.append(
                {"seq": seq, "person_id": e.person_id, "certificate_ids": ids_json, "prev_hash": before, "hash": prev}
            )
        for group in groups.values():
            _INSERT.execute_many(self.connection, group.rows, group.shared)
        for hour, persons in persons_by_hour.items():
            # Sorted, so the b-tree is walked in order; a pair already there is left alone.
            _NAME_HOUR.execute_many(self.connection, [{"person_id": p} for p in sorted(persons)], {"hour": hour})
        return seq, prev

    def _append_postgresql(self, entries: list[AccessEntry], first: int, head: str) -> tuple[int, str]:
        # psycopg's executemany sends a statement per row, which cost a listing of 2,000 patients
        # more than COPY for the same rows; the rows are written in COPY's text format here, a
        # line each, as binding twelve values per row cost more than hashing it.
        driver = self.connection.connection.driver_connection  # in the transaction the head's lock began
        assert driver is not None
        lines: list[str] = []
        seq, prev, last, shared, outcome = first, head, None, "", ""
        with driver.cursor() as cursor, cursor.copy(_COPY_POSTGRESQL) as copy:
            for seq, e, key, ids_json, before, prev in _chain(entries, first, head):
                if key is not last:
                    last = key
                    shared = "\t".join(
                        [_copy_text(v) for v in (_timestamp(e.at), e.caller, e.original_consumer, e.acting_on_behalf,
                                                 e.contract, e.logical_address)]
                    )  # fmt: skip
                    outcome = _copy_text(e.outcome)
                lines.append(
                    f"{seq}\t{shared}\t{_copy_text(e.person_id)}\t{_copy_text(ids_json)}\t{outcome}\t{before}\t{prev}\n"
                )
                if len(lines) == _COPY_CHUNK:
                    # Sent as it is made: the server stores one chunk while the next is hashed.
                    copy.write("".join(lines))
                    lines.clear()
            copy.write("".join(lines))
        # The persons' hours are taken from the rows just written, on the server.
        self.connection.execute(_NAME_HOURS_POSTGRESQL, {"first": first + 1, "last": seq})
        return seq, prev

    def head(self) -> tuple[int, str]:
        row = self.connection.execute(
            select(AccessLogHeadRow.seq, AccessLogHeadRow.hash).where(AccessLogHeadRow.id == HEAD_ID)
        ).one()
        return row[0], row[1]

    def entries(
        self,
        person_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        batch: int = 5000,
    ) -> Iterator[StoredEntry]:
        """In chain order, in batches so a large log streams instead of loading whole."""
        if person_id is not None:
            yield from self._entries_of(person_id, since, until, batch)
            return
        after = 0
        while True:
            stmt = _within(select(*_COLUMNS).where(AccessLogRow.seq > after), since, until)
            rows = self.connection.execute(stmt.order_by(AccessLogRow.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield _stored(row)
            after = rows[-1][0]

    def _entries_of(
        self, person_id: str, since: dt.datetime | None, until: dt.datetime | None, batch: int
    ) -> Iterator[StoredEntry]:
        # The hours that name the person, consecutive ones taken together; each span's entries
        # are read by time (ix_access_log_at) and kept if they name the person.
        p = AccessLogPersonRow
        stmt = select(p.hour).where(p.person_id == person_id)
        if since is not None:
            stmt = stmt.where(p.hour > since - _HOUR)
        if until is not None:
            stmt = stmt.where(p.hour < until)
        spans: list[list[dt.datetime]] = []
        for (hour,) in self.connection.execute(stmt.order_by(p.hour)):
            if spans and spans[-1][1] == hour:
                spans[-1][1] = hour + _HOUR
            else:
                spans.append([hour, hour + _HOUR])
        for start, end in spans:
            after = 0
            while True:
                rows = self.connection.execute(
                    _within(
                        select(*_COLUMNS).where(
                            AccessLogRow.at >= start,
                            AccessLogRow.at < end,
                            AccessLogRow.person_id == person_id,
                            AccessLogRow.seq > after,
                        ),
                        since,
                        until,
                    )
                    .order_by(AccessLogRow.seq)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                for row in rows:
                    yield _stored(row)
                after = rows[-1][0]


def _within(stmt, since: dt.datetime | None, until: dt.datetime | None):
    if since is not None:
        stmt = stmt.where(AccessLogRow.at >= since)
    if until is not None:
        stmt = stmt.where(AccessLogRow.at < until)
    return stmt


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_seq: int
    head_hash: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    repo: AccessLogRepository, max_problems: int = 50, anchors: dict[int, str] | None = None
) -> VerifyReport:
    """Walk the whole chain; every break is reported with the seq where it shows.

    The chain alone cannot show that its last entries were cut off together
    with a recomputed head row. ``anchors`` (seq -> hash, a head recorded
    earlier outside the database) can: each anchored entry must still be
    there with that hash.
    """
    anchors = dict(anchors or {})
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for stored in repo.entries():
        count += 1
        anchored = anchors.pop(stored.seq, None)
        if anchored is not None and anchored != stored.hash:
            problems.append(f"entry {stored.seq}: its hash is not the anchored {anchored} (rewritten)")
        if stored.seq != expected_seq:
            problems.append(
                f"entry {stored.seq}: expected entry {expected_seq} here "
                f"({'missing' if stored.seq > expected_seq else 'out of order'})"
            )
        if stored.prev_hash != prev:
            problems.append(f"entry {stored.seq}: does not follow the entry before it (prev_hash mismatch)")
        if entry_hash(stored.prev_hash, stored.seq, stored.entry) != stored.hash:
            problems.append(f"entry {stored.seq}: its content does not match its hash (edited)")
        prev, expected_seq = stored.hash, stored.seq + 1
        if len(problems) >= max_problems:
            break
    head_seq, head_hash = repo.head()
    if len(problems) < max_problems and (head_seq != expected_seq - 1 or head_hash != prev):
        problems.append(
            f"the chain ends at entry {expected_seq - 1} but its head says entry {head_seq}: "
            "entries at the end were removed or the head was changed"
        )
    if len(problems) < max_problems:  # an early stop leaves anchors unvisited, not missing
        for seq in sorted(anchors):
            problems.append(f"entry {seq}: anchored but not in the log (entries at the end were removed)")
    return VerifyReport(count, head_seq, head_hash, problems)
