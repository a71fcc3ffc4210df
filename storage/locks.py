"""Locks PostgreSQL holds to the end of a transaction, for writes computed from rows another writer may change.

On PostgreSQL several workers and gateways write at once, each statement reading what was
committed when it started (READ COMMITTED). A write computed from other rows (a patient's
listing row, a certificate's ``replaced`` flag, a certificate's approved receivers) would be
computed without the rows a concurrent transaction has not committed yet, and the later commit
would keep the stale result. Taken before the reads, a lock on what the write is about makes the
second writer wait for the first to commit and then read its rows.

On SQLite a write transaction has the database to itself from its start (BEGIN IMMEDIATE), so
nothing is taken there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from intygsgw.storage.prepared import PreparedStatement

# The first of an advisory lock's two keys: what the second key names.
PATIENT = 0x51C1  # a patient's sick-leave rows: the listing rows and the replaced flags derived from them
CERTIFICATE = 0x51C2  # one certificate's rows that several writers change: approved receivers, sick-leave row

_LOCK = PreparedStatement(text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"))


def lock_until_commit(connection: Connection, space: int, names: Iterable[str]) -> None:
    """Wait for and hold, until the transaction ends, the locks on ``names`` (PostgreSQL only).

    Taken in sorted order, so that two transactions locking overlapping names in one call
    cannot wait for each other. A lock already held is taken again at no further wait.
    """
    if connection.dialect.name != "postgresql":
        return
    for name in sorted(set(names)):
        _LOCK.execute(connection, {"space": space, "key": _key(name)}).close()


def _key(name: str) -> int:
    # 32 bits of a stable hash (Python's hash() differs between processes): names that share a
    # key only wait for each other.
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big", signed=True)
