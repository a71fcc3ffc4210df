"""A durable SQLite store flushes its write-ahead log itself, after the commit and outside the write gate.

SQLite runs as ``synchronous=NORMAL`` and the committer flushes the log before it reports the
commit done (intygsgw.storage.db.WalFlush): these tests watch the flush system call itself.
"""

from __future__ import annotations

import errno
import fcntl
import os

import pytest
from sqlalchemy import text

from intygsgw.storage import db
from intygsgw.storage.db import make_engine, wal_flush_for
from intygsgw.storage.uow import Store


def _store(tmp_path, synchronous: str = "FULL") -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'flush.db'}", sqlite_synchronous=synchronous)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE item (id VARCHAR(40) PRIMARY KEY)"))
    return Store(engine)


def _insert(item_id: str):
    def job(uow):
        uow.connection.execute(text("INSERT INTO item (id) VALUES (:id)"), {"id": item_id})
        return item_id

    return job


def _synchronous(store: Store) -> int:
    with store.reading() as uow:
        return uow.connection.exec_driver_sql("PRAGMA synchronous").scalar_one()


@pytest.fixture
def flushes(monkeypatch, tmp_path):
    """Each flush of the log as it happens: the file flushed, whether the write gate was open, and
    whether another connection could already read what was committed."""
    seen: list[dict] = []
    real = os.fdatasync
    database = tmp_path / "flush.db"

    def watched(fd: int) -> None:
        gate = os.open(str(database) + ".write-lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(gate, fcntl.LOCK_UN)
            gate_open = True
        except BlockingIOError:
            gate_open = False
        finally:
            os.close(gate)
        # Through the gateway's own SQLite library: two in one process drop each other's file locks.
        reader = db.connect_sqlite(database)
        try:
            committed = sorted(r[0] for r in reader.execute("SELECT id FROM item"))
        finally:
            reader.close()
        seen.append(
            {
                "inode": os.fstat(fd).st_ino,
                "log_inode": os.stat(str(database) + "-wal").st_ino,
                "gate_open": gate_open,
                "committed": committed,
            }
        )
        real(fd)

    monkeypatch.setattr(db.os, "fdatasync", watched)
    return seen


def test_each_commit_is_flushed_by_its_committer_after_the_commit_with_the_gate_open(tmp_path, flushes):
    store = _store(tmp_path)
    flushes.clear()  # the table's creation
    assert _synchronous(store) == 1  # NORMAL: SQLite itself does not flush at the commit
    assert store.write(_insert("a")) == "a"
    assert store.write(_insert("b")) == "b"
    assert [(f["inode"] == f["log_inode"], f["gate_open"], f["committed"]) for f in flushes] == [
        (True, True, ["a"]),
        (True, True, ["a", "b"]),
    ]


def test_a_failed_flush_fails_the_write(tmp_path, monkeypatch):
    store = _store(tmp_path)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(db.os, "fdatasync", broken)
    with pytest.raises(OSError) as failed:
        store.write(_insert("lost"))
    # Every call fails alike until the operator mends the disk: one line in the log, not a traceback each.
    assert db.outage(failed.value) == db.DISK_FAILED
    assert db.outage(OSError(errno.ENOSPC, "No space left on device")) == db.DISK_FULL
    assert db.outage(ConnectionResetError(errno.ECONNRESET, "reset")) is None


def test_a_log_made_anew_is_the_one_flushed(tmp_path, flushes):
    store = _store(tmp_path)
    store.write(_insert("first"))
    store.engine.dispose()  # the last connection closes: SQLite copies the log and deletes it
    assert not os.path.exists(tmp_path / "flush.db-wal")
    store.write(_insert("second"))
    last = flushes[-1]
    assert last["inode"] == last["log_inode"] and last["committed"] == ["first", "second"]


@pytest.mark.parametrize("synchronous, pragma", [("NORMAL", 1), ("EXTRA", 3), ("OFF", 0)])
def test_other_modes_are_left_to_sqlite(tmp_path, synchronous, pragma):
    store = _store(tmp_path, synchronous)
    assert wal_flush_for(store.engine) is None
    assert _synchronous(store) == pragma
