"""The outbox table: enqueue in the caller's transaction, claim, settle.

Claims are leases (``claimed_until``), so work held by a process that died is
picked up again once the lease runs out. On PostgreSQL several gateway
processes claim side by side with ``FOR UPDATE SKIP LOCKED``; on SQLite the
single writer lock already makes a claim atomic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import DateTime, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from intygsgw.domain.records import OutboxItem
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import OutboxPayloadRow, OutboxRow
from intygsgw.storage.prepared import PreparedSelectByKeys, PreparedStatement

PENDING, DONE, DEAD, DISCARDED = "PENDING", "DONE", "DEAD", "DISCARDED"
STATES = (PENDING, DONE, DEAD, DISCARDED)


# An item's payload, in its row or apart (OutboxPayloadRow).
_PAYLOAD = func.coalesce(OutboxRow.payload, OutboxPayloadRow.payload)
# Queue order: most overdue first, then as written.
_QUEUE_ORDER = (OutboxRow.next_attempt_at, OutboxRow.id)

_COLUMNS = [
    OutboxRow.id,
    OutboxRow.destination,
    OutboxRow.contract,
    OutboxRow.logical_address,
    OutboxRow.kind,
    OutboxRow.reference,
    _PAYLOAD,
    OutboxRow.state,
    OutboxRow.attempts,
    OutboxRow.next_attempt_at,
    OutboxRow.last_error,
    OutboxRow.correlation_id,
    OutboxRow.created_at,
    OutboxRow.updated_at,
    OutboxRow.delivered_at,
]


_ITEM_KEYS = (
    "destination",
    "contract",
    "logical_address",
    "kind",
    "reference",
    "state",
    "attempts",
    "next_attempt_at",
    "correlation_id",
    "created_at",
    "updated_at",
    "payload",
)
# An item whose payload rides in its row needs no id back: SQLite's RETURNING cost an insert
# 20-30 us more than the insert itself (~8 us), once per registration with the statistics feed on.
_INSERT_ITEM = PreparedStatement(insert(OutboxRow), _ITEM_KEYS)
_INSERT_ITEM_RETURNING_ID = PreparedStatement(insert(OutboxRow).returning(OutboxRow.id), _ITEM_KEYS)
_INSERT_PAYLOAD = PreparedStatement(insert(OutboxPayloadRow), ("outbox_id", "payload"))

# Payloads up to this size are kept in the item's row (a broker event's head); larger ones apart.
INLINE_PAYLOAD_BYTES = 1024

# An item with its payload, wherever it is kept.
_ITEMS = OutboxRow.__table__.outerjoin(
    OutboxPayloadRow.__table__, OutboxPayloadRow.__table__.c.outbox_id == OutboxRow.__table__.c.id
)


_PAYLOADS = PreparedSelectByKeys(
    lambda ids: select(OutboxRow.id, _PAYLOAD).select_from(_ITEMS).where(OutboxRow.id.in_(ids)).order_by(*_QUEUE_ORDER)
)


def _items():
    return select(*_COLUMNS).select_from(_ITEMS)


def _due_destinations_statement():
    outbox = OutboxRow.__table__
    first, following, due = outbox.alias("first"), outbox.alias("following"), outbox.alias("due")
    queues = (
        select(func.min(first.c.destination).label("destination"))
        .where(first.c.state == PENDING)
        .cte("queues", recursive=True)
    )
    queues = queues.union_all(
        select(
            select(func.min(following.c.destination))
            .where(following.c.state == PENDING, following.c.destination > queues.c.destination)
            .scalar_subquery()
        ).where(queues.c.destination.is_not(None))
    )
    now = bindparam("now", type_=DateTime())
    has_due = exists().where(
        due.c.destination == queues.c.destination,
        due.c.state == PENDING,
        due.c.next_attempt_at <= now,
        or_(due.c.claimed_until.is_(None), due.c.claimed_until < now),
    )
    return select(queues.c.destination).where(queues.c.destination.is_not(None), has_due)


_DUE_DESTINATIONS = _due_destinations_statement()


def destination_key(contract_namespace: str, logical_address: str) -> str:
    return f"{contract_namespace}|{logical_address.strip().lower()}"


def _held_by(claimant: str | None) -> tuple:
    """The condition that ``claimant`` holds an item; none for None (an operator, a test)."""
    return () if claimant is None else (OutboxRow.claimed_by == claimant,)


def _item(row) -> OutboxItem:
    values = list(row)
    values[6] = bytes(values[6])
    return OutboxItem(*values)


class OutboxRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

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
        inline = len(payload) <= INLINE_PAYLOAD_BYTES
        values = {
            "destination": destination_key(contract, logical_address),
            "contract": contract,
            "logical_address": logical_address,
            "kind": kind,
            "reference": reference,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "correlation_id": correlation_id,
            "created_at": now,
            "updated_at": now,
            "payload": payload if inline else None,
        }
        check_lengths(OutboxRow.__table__, values)
        # Prepared: with the statistics feed on, every registration queues one.
        if inline:
            _INSERT_ITEM.execute(self.connection, values).close()
            return
        cursor = _INSERT_ITEM_RETURNING_ID.execute(self.connection, values)
        try:
            item_id = cursor.fetchone()[0]
        finally:
            cursor.close()
        _INSERT_PAYLOAD.execute(self.connection, {"outbox_id": item_id, "payload": payload}).close()

    def _claimable(self, now: dt.datetime):
        return and_(
            OutboxRow.state == PENDING,
            OutboxRow.next_attempt_at <= now,
            or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
        )

    def due_destinations(self, now: dt.datetime, exclude: Iterable[str] = ()) -> list[str]:
        """Destinations with an item to claim now.

        Asked several times a second, so it must not read the backlog: the
        queues with PENDING items are found by skipping from one destination
        to the next on ix_outbox_pending_destination, and each is then asked
        whether its earliest item is due (ix_outbox_destination_due).
        """
        exclude = set(exclude)
        return [d for (d,) in self.connection.execute(_DUE_DESTINATIONS, {"now": now}) if d not in exclude]

    def claim_ids(self, destination: str, now: dt.datetime, lease: dt.timedelta, worker: str, limit: int) -> list[int]:
        """Take up to ``limit`` due items of the queue for ``worker`` until ``now + lease``; their ids."""
        # Most overdue first: this order walks ix_outbox_destination_due and stops
        # at ``limit`` rows, where ordering by id alone sorts the whole backlog.
        pick = (
            select(OutboxRow.id)
            .where(OutboxRow.destination == destination, self._claimable(now))
            .order_by(*_QUEUE_ORDER)
            .limit(limit)
        )
        if self.connection.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = [i for (i,) in self.connection.execute(pick)]
        if ids:
            self.connection.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids)).values(claimed_until=now + lease, claimed_by=worker)
            )
        return ids

    def items(self, ids: list[int]) -> list[OutboxItem]:
        """The items with their payloads, in queue order. Read outside the claiming transaction, so that
        a batch of large payloads is not read while the database's one writer waits."""
        if not ids:
            return []
        rows = self.connection.execute(_items().where(OutboxRow.id.in_(ids)).order_by(*_QUEUE_ORDER))
        return [_item(r) for r in rows]

    def payloads(self, ids: list[int]) -> list[tuple[int, bytes]]:
        """(id, payload) of the items, in queue order: all that publishing a batch of broker events
        reads. Whole items cost three to four times as much to read, most of it in their dates."""
        return [(item_id, bytes(payload)) for item_id, payload in _PAYLOADS.rows(self.connection, ids)]

    def claim(
        self, destination: str, now: dt.datetime, lease: dt.timedelta, worker: str, limit: int
    ) -> list[OutboxItem]:
        """claim_ids and items in one go (tools and tests)."""
        return self.items(self.claim_ids(destination, now, lease, worker, limit))

    def renew(self, ids: list[int], worker: str, until: dt.datetime) -> list[int]:
        """Extend ``worker``'s claim on ``ids``; the ids it still held, which are the ones it may send."""
        if not ids:
            return []
        held = and_(
            OutboxRow.id.in_(ids),
            OutboxRow.claimed_by == worker,
            OutboxRow.state == PENDING,
            OutboxRow.claimed_until.is_not(None),
        )
        self.connection.execute(update(OutboxRow).where(held).values(claimed_until=until))
        return [i for (i,) in self.connection.execute(select(OutboxRow.id).where(held))]

    def mark_done(self, ids: list[int], now: dt.datetime) -> None:
        if ids:
            self.connection.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids))
                .values(
                    state=DONE,
                    delivered_at=now,
                    updated_at=now,
                    claimed_until=None,
                    attempts=OutboxRow.attempts + 1,
                    last_error=None,
                )
            )

    # Retry and dead apply to PENDING items only: an item another claimant has
    # meanwhile delivered stays DONE whatever a late failure of ours says. With a
    # ``claimant``, only while it still holds the item: a drain whose claim lapsed and was
    # taken over must not clear the new claim (another drain would then send the item again).
    def schedule_retry(
        self, item_id: int, next_attempt_at: dt.datetime, error: str, now: dt.datetime, claimant: str | None = None
    ) -> None:
        self.connection.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.state == PENDING, *_held_by(claimant))
            .values(
                attempts=OutboxRow.attempts + 1,
                next_attempt_at=next_attempt_at,
                last_error=error,
                updated_at=now,
                claimed_until=None,
            )
        )

    def mark_dead(self, item_id: int, error: str, now: dt.datetime, claimant: str | None = None) -> None:
        self.connection.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.state == PENDING, *_held_by(claimant))
            .values(state=DEAD, attempts=OutboxRow.attempts + 1, last_error=error, updated_at=now, claimed_until=None)
        )

    def release_stale(self, prefix: str, current: str) -> int:
        """Free PENDING items claimed under ``prefix`` by any claimant but ``current`` (and its drains)."""
        freed = self.connection.execute(
            update(OutboxRow)
            .where(
                OutboxRow.state == PENDING,
                OutboxRow.claimed_until.is_not(None),
                OutboxRow.claimed_by.startswith(prefix, autoescape=True),
                ~OutboxRow.claimed_by.startswith(current + "/", autoescape=True),
            )
            .values(claimed_until=None)
        )
        return freed.rowcount

    def release(self, ids: list[int], worker: str) -> None:
        """Give back ``worker``'s claim on ``ids``; an item another claimant has taken over stays theirs."""
        if ids:
            self.connection.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids), OutboxRow.claimed_by == worker)
                .values(claimed_until=None)
            )

    def purge_settled(self, settled_before: dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` DONE or DISCARDED items last changed before the cut-off; how many."""
        ids = [
            i
            for (i,) in self.connection.execute(
                select(OutboxRow.id)
                .where(OutboxRow.state.in_((DONE, DISCARDED)), OutboxRow.updated_at < settled_before)
                .limit(limit)
            )
        ]
        if not ids:
            return 0
        # By name, not through the key's cascade: SQLite enforces keys only where a connection asked.
        self.connection.execute(delete(OutboxPayloadRow).where(OutboxPayloadRow.outbox_id.in_(ids)))
        return int(self.connection.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids))).rowcount)

    # -- operators ------------------------------------------------------------
    def _filtered(
        self, stmt, *, destination: str | None, state: str | None, contract: str | None, reference: str | None
    ):
        """``destination``: a logical address, compared without case as routing does."""
        if destination:
            stmt = stmt.where(func.lower(OutboxRow.logical_address) == destination.strip().lower())
        if state:
            stmt = stmt.where(OutboxRow.state == state.upper())
        if contract:
            stmt = stmt.where(OutboxRow.contract == contract)
        if reference:
            stmt = stmt.where(OutboxRow.reference == reference)
        return stmt

    def find(
        self,
        *,
        destination: str | None = None,
        state: str | None = None,
        reference: str | None = None,
        contract: str | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]:
        stmt = _items().order_by(OutboxRow.id.desc()).limit(limit)
        stmt = self._filtered(stmt, destination=destination, state=state, contract=contract, reference=reference)
        return [_item(r) for r in self.connection.execute(stmt)]

    def find_ids(
        self,
        *,
        destination: str | None = None,
        state: str | None = None,
        contract: str | None = None,
        reference: str | None = None,
    ) -> list[int]:
        stmt = self._filtered(
            select(OutboxRow.id).order_by(OutboxRow.id),
            destination=destination,
            state=state,
            contract=contract,
            reference=reference,
        )
        return [i for (i,) in self.connection.execute(stmt)]

    def get(self, item_id: int) -> OutboxItem | None:
        row = self.connection.execute(_items().where(OutboxRow.id == item_id)).first()
        return _item(row) if row else None

    def retry_now(self, ids: list[int], now: dt.datetime) -> int:
        """Put DEAD or waiting items back at the head of their queue.

        An item in flight (its lease still running) is left alone: freeing it
        would let a second process send it while the first still is."""
        res = self.connection.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id.in_(ids),
                OutboxRow.state.in_((PENDING, DEAD)),
                or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
            )
            .values(state=PENDING, next_attempt_at=now, claimed_until=None, updated_at=now)
        )
        return res.rowcount

    def discard(self, ids: list[int], now: dt.datetime, reason: str | None = None) -> int:
        """Give up on waiting or dead items for good; ``reason`` replaces their last error when given."""
        values: dict = {"state": DISCARDED, "claimed_until": None, "updated_at": now}
        if reason is not None:
            values["last_error"] = reason
        res = self.connection.execute(
            update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.state.in_((PENDING, DEAD))).values(**values)
        )
        return res.rowcount

    def counts(
        self, *, destination: str | None = None, state: str | None = None, contract: str | None = None
    ) -> list[tuple[str, str, str, int]]:
        """(contract, logical address, state, items) per queue and state."""
        stmt = (
            select(OutboxRow.contract, OutboxRow.logical_address, OutboxRow.state, func.count())
            .group_by(OutboxRow.contract, OutboxRow.logical_address, OutboxRow.state)
            .order_by(OutboxRow.logical_address, OutboxRow.contract, OutboxRow.state)
        )
        stmt = self._filtered(stmt, destination=destination, state=state, contract=contract, reference=None)
        return [tuple(r) for r in self.connection.execute(stmt)]

    def waiting(self) -> list[tuple[str, str, str, int, dt.datetime | None]]:
        """(contract, logical address, state, items, oldest created_at) of PENDING and DEAD items per queue."""
        stmt = (
            select(
                OutboxRow.contract,
                OutboxRow.logical_address,
                OutboxRow.state,
                func.count(),
                func.min(OutboxRow.created_at),
            )
            .where(OutboxRow.state.in_((PENDING, DEAD)))
            .group_by(OutboxRow.contract, OutboxRow.logical_address, OutboxRow.state)
        )
        return [tuple(r) for r in self.connection.execute(stmt)]

    def unsettled(self, ids: list[int], now: dt.datetime) -> list[int]:
        """Of ``ids``, those still PENDING and not yet due: what a circuit may keep waiting for."""
        if not ids:
            return []
        stmt = select(OutboxRow.id).where(
            OutboxRow.id.in_(ids), OutboxRow.state == PENDING, OutboxRow.next_attempt_at > now
        )
        return [i for (i,) in self.connection.execute(stmt)]
