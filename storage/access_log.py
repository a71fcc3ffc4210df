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
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, String, bindparam, insert, or_, select, text, update
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
    # Read for one person (entries(person_id=...)): how many other persons the call's entry
    # names, left out of ``entry`` here.
    others: int = 0
    # The stored certificate ids or persons are not what the log writes (edited by hand): the
    # entry carries none of them, and verification reports it instead of stopping.
    unreadable: bool = False

    def as_json(self) -> dict:
        e = self.entry
        out = {
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
        if e.persons:
            out["persons"] = {person: list(ids) for person, ids in e.persons}
        if self.others:
            # One person's part of a call that named others: without the hashes, which cover the
            # others' part too and would let a reader test guesses of it.
            out["other_persons"] = self.others
            del out["prev_hash"], out["hash"]
        if self.unreadable:
            out["unreadable"] = True
        return out


def _timestamp(at: dt.datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def entry_hash(prev_hash: str, seq: int, e: AccessEntry) -> str:
    return _hash_of(prev_hash, seq, e, _ids_json(e.certificate_ids), _persons_json(e.persons))


def _hash_of(prev_hash: str, seq: int, e: AccessEntry, ids_json: str, persons_json: str) -> str:
    """entry_hash with the two JSON fields already made (the writer stores them as they are hashed)."""
    return _chained(
        prev_hash, seq, _shared_fields(e), _json_text(e.person_id), ids_json, _json(e.outcome), persons_json
    )


def _shared_fields(e: AccessEntry) -> str:
    """The fields a call's entries have in common, as they stand in the hashed text."""
    return ",".join(
        _json(v) for v in (_timestamp(e.at), e.caller, e.original_consumer, e.acting_on_behalf, e.contract,
                           e.logical_address)
    )  # fmt: skip


def _chained(
    prev_hash: str, seq: int, shared: str, person_json: str, ids_json: str, outcome_json: str, persons_json: str
) -> str:
    # The hashed text is the previous hash, a newline and the entry's fields as one compact JSON
    # array: seq, the shared fields, person id, certificate ids, outcome, and the persons object
    # only when the entry names several (so entries written before it existed still verify).
    more = f",{persons_json}" if persons_json else ""
    fields = f"[{seq},{shared},{person_json},{ids_json},{outcome_json}{more}]"
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


def _persons_json(persons: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    """The persons an entry names as the compact JSON object the hash covers (and the column
    stores), person -> certificate ids in the order noted; "" for an entry that names one or none."""
    if not persons:
        return ""
    return "{" + ",".join([f"{_json_text(person)}:{_ids_json(ids)}" for person, ids in persons]) + "}"


def _read_persons(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The stored persons as pairs in stored order, so that even a repeated key comes back as it was
    hashed; ValueError for text the log does not write."""
    if not text:
        return ()
    if not text.startswith("{"):
        raise ValueError("persons is not a JSON object")
    return tuple((person, _read_ids(ids)) for person, ids in json.loads(text, object_pairs_hook=list))


def _read_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(cid, str) for cid in value):
        raise ValueError("certificate ids are not a JSON list of strings")
    return tuple(value)


# Every logged call runs these three inside the write lock: see intygsgw.storage.prepared.
_LOCK_HEAD = PreparedStatement(
    select(AccessLogHeadRow.seq, AccessLogHeadRow.hash)
    .where(AccessLogHeadRow.id == bindparam("head_id"))
    .with_for_update()
)
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
# PostgreSQL: an hour's persons in one statement (psycopg would send one per row), the pairs already
# there left out first: ON CONFLICT alone tried to insert each, 3.2 against 1.2 ms for 2,000 persons.
_NAME_HOURS_POSTGRESQL = PreparedStatement(
    text(
        "INSERT INTO access_log_person (person_id, hour) SELECT p, :hour FROM unnest(CAST(:persons AS varchar[])) "
        "AS p WHERE NOT EXISTS (SELECT 1 FROM access_log_person x WHERE x.person_id = p AND x.hour = :hour) "
        "ON CONFLICT DO NOTHING"
    ).bindparams(bindparam("hour", type_=DateTime()))
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
    AccessLogRow.persons,
]


def _stored(row) -> StoredEntry:
    seq, at, caller, orig, behalf, contract, address, person, cids, outcome, prev, h, persons = row
    entry = AccessEntry(at, caller, orig, behalf, contract, address, person, (), outcome)
    try:
        entry = entry._replace(certificate_ids=_read_ids(json.loads(cids)), persons=_read_persons(persons))
    except ValueError:  # JSONDecodeError is one
        return StoredEntry(seq, entry, prev, h, unreadable=True)
    return StoredEntry(seq, entry, prev, h)


def _row(seq: int, e: AccessEntry, prev: str) -> dict[str, Any]:
    """The entry's row, chained after ``prev``: its fields stored in the form the hash covers."""
    ids_json, persons_json = _ids_json(e.certificate_ids), _persons_json(e.persons)
    h = _hash_of(prev, seq, e, ids_json, persons_json)
    return {
        **e._asdict(),
        "seq": seq,
        "certificate_ids": ids_json,
        "persons": persons_json,
        "prev_hash": prev,
        "hash": h,
    }


class NamedHours:
    """The (person, hour) rows that this process has seen committed, for the current hour.

    A unit's sick-leave list is read again and again within the hour, and each time its 2,000
    persons' hour rows were probed only to be found there (3.5 ms of a listing on PostgreSQL).
    Told of pairs only once their transaction has committed, and nothing deletes such a row, so a
    pair known here is in the database; a pair not known is written as before.
    """

    def __init__(self, limit: int = 200_000):
        self._limit = limit  # persons remembered; past it the memo starts over
        self._lock = threading.Lock()
        self._hour: dt.datetime | None = None
        self._persons: set[str] = set()

    def unknown(self, hour: dt.datetime, persons: Iterable[str]) -> list[str]:
        """``persons`` whose row for ``hour`` is not known to be committed, sorted."""
        with self._lock:
            if hour != self._hour:
                return sorted(persons)
            return sorted(p for p in persons if p not in self._persons)

    def committed(self, entries: Iterable[AccessEntry]) -> None:
        """The entries' pairs are committed (call after the commit returned)."""
        for hour, persons in _persons_by_hour(entries).items():
            with self._lock:
                if self._hour is None or hour > self._hour or len(self._persons) > self._limit:
                    self._hour, self._persons = hour, set()
                if hour == self._hour:
                    self._persons |= persons


def _persons_by_hour(entries: Iterable[AccessEntry]) -> dict[dt.datetime, set[str]]:
    by_hour: dict[dt.datetime, set[str]] = {}
    for e in entries:
        named = [p for p in (e.person_id, *(person for person, _ in e.persons)) if p]
        if named:
            by_hour.setdefault(_hour(e.at), set()).update(named)
    return by_hour


class AccessLogRepository:
    def __init__(self, connection: Connection):
        self.connection = connection
        self._gathered: list[tuple[list[AccessEntry], NamedHours | None]] | None = None

    def append(self, entries: list[AccessEntry], named: NamedHours | None = None) -> None:
        """Chain ``entries`` after the head; the caller's transaction commits them.

        ``named``: hour rows known to be committed already, which are not probed again.
        Inside :meth:`gathered`, the entries are chained when its block ends.
        """
        if self._gathered is not None:
            self._gathered.append((entries, named))
            return
        self._chain([(entries, named)])

    @contextmanager
    def gathered(self) -> Iterator[None]:
        """Appends made in the block are chained together at its end, in the order they were made.

        Around a group commit's jobs: the head is read and moved once per batch instead of once
        per job, and on PostgreSQL its row lock, which every other writer waits for until this
        transaction commits, is taken only after the batch's other statements. If the block
        raises, nothing gathered is written (the transaction is being undone anyway).
        """
        self._gathered = []
        try:
            yield
            gathered = self._gathered
        finally:
            self._gathered = None
        if gathered:
            self._chain(gathered)

    @contextmanager
    def dropped_on_error(self) -> Iterator[None]:
        """Inside :meth:`gathered`, the appends made in the block are dropped if it raises, the
        others' kept: a group commit's job run again on its own, whose savepoint is rolled back.
        Outside it the entries are written at once, and the caller's rollback undoes them."""
        mark = len(self._gathered) if self._gathered is not None else 0
        try:
            yield
        except BaseException:
            if self._gathered is not None:
                del self._gathered[mark:]
            raise

    def _chain(self, appends: list[tuple[list[AccessEntry], NamedHours | None]]) -> None:
        cursor = _LOCK_HEAD.execute(self.connection, {"head_id": HEAD_ID})
        seq, prev = cursor.fetchone()
        cursor.close()
        rows: list[dict[str, Any]] = []
        for entries, _ in appends:
            for e in entries:
                seq += 1
                row = _row(seq, e, prev)
                rows.append(row)
                prev = row["hash"]
        if rows:
            _INSERT.execute_many(self.connection, rows)
        for entries, named in appends:
            self._name_hours(entries, named)
        _MOVE_HEAD.execute(self.connection, {"head_id": HEAD_ID, "new_seq": seq, "new_hash": prev}).close()

    def _name_hours(self, entries: list[AccessEntry], named: NamedHours | None) -> None:
        for hour, persons in _persons_by_hour(entries).items():
            # Sorted, so the b-tree is walked in order; a pair already there is left alone.
            unknown = named.unknown(hour, persons) if named is not None else sorted(persons)
            if not unknown:
                continue
            if self.connection.dialect.name == "postgresql":
                _NAME_HOURS_POSTGRESQL.execute(self.connection, {"persons": unknown, "hour": hour}).close()
            else:
                _NAME_HOUR.execute_many(self.connection, [{"person_id": p} for p in unknown], {"hour": hour})

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
        # are read by time (ix_access_log_at) and kept if they name the person, alone or among
        # others. Of an entry that names others, only the person's own part is given.
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
                            or_(
                                AccessLogRow.person_id == person_id,
                                # As the column has it: JSON-escaped, in quotes.
                                AccessLogRow.persons.contains(_json_text(person_id), autoescape=True),
                            ),
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
                    mine = _as_for(_stored(row), person_id)
                    if mine is not None:
                        yield mine
                after = rows[-1][0]


def _as_for(stored: StoredEntry, person_id: str) -> StoredEntry | None:
    """The entry as ``person_id``'s: the person and their certificates alone; None if it does not name them
    (the text matched a certificate id)."""
    e = stored.entry
    if not e.persons:
        return stored if e.person_id == person_id else None
    ids = e.certificates_of(person_id)
    if ids is None:
        return None
    mine = e._replace(person_id=person_id, certificate_ids=ids, persons=())
    return StoredEntry(stored.seq, mine, stored.prev_hash, stored.hash, others=len(e.persons) - 1)


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
        if stored.unreadable:
            problems.append(f"entry {stored.seq}: its certificate ids or persons cannot be read (edited)")
        elif entry_hash(stored.prev_hash, stored.seq, stored.entry) != stored.hash:
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
