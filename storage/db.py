"""Engines for the two supported stores.

SQLite is the embedded default: WAL so readers never wait for the writer,
every commit's log flushed before it is reported done so that a commit the
gateway answered OK survives a power cut (FULL's guarantee, the flush done by
the committer: see WalFlush), and ``BEGIN IMMEDIATE`` for writing transactions
so two processes never deadlock upgrading a read lock. PostgreSQL needs
nothing special.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import ModuleType

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

from intygsgw.errors import GatewayError

DEFAULT_SQLITE_FILE = "intygsgw.db"
WRITE_OPTION = "intygsgw_write"


# The first SQLite without the WAL-reset race (see checkpoint_sqlite); 3.50.7 and 3.44.6 carry the fix too.
_FIXED_SQLITE = (3, 51, 3)


def _pick_sqlite_driver() -> ModuleType:
    """The DB-API module the gateway opens SQLite with: pysqlite3 when it brings a fixed SQLite, else the stdlib's.

    Python's own module uses the system's SQLite (Debian 12: 3.40.1, with the race);
    the pysqlite3 wheel (a dependency on Linux x86-64) links a current one. Every
    connection of a process to the database must go through one library, as two
    copies of SQLite in a process release each other's file locks when one of
    them closes the file: use ``connect_sqlite`` rather than ``sqlite3.connect``.
    """
    try:
        import pysqlite3.dbapi2 as candidate  # type: ignore[import-not-found]
    except ImportError:
        return sqlite3
    found = tuple(candidate.sqlite_version_info)
    fixed = found >= _FIXED_SQLITE or (3, 50, 7) <= found < (3, 51) or (3, 44, 6) <= found < (3, 45)
    return candidate if fixed and found >= sqlite3.sqlite_version_info else sqlite3


SQLITE_DRIVER: ModuleType = _pick_sqlite_driver()
# Errors of whichever library a connection came from (tests and tools may still use the stdlib's).
SQLITE_ERRORS: tuple[type[Exception], ...] = tuple(dict.fromkeys((SQLITE_DRIVER.Error, sqlite3.Error)))


def connect_sqlite(path: str | os.PathLike, **kwargs):
    """A DB-API connection to a SQLite file through the gateway's own SQLite library."""
    return SQLITE_DRIVER.connect(path, **kwargs)


def default_url(cwd: str | os.PathLike | None = None) -> str:
    path = Path(cwd or os.getcwd()) / DEFAULT_SQLITE_FILE
    return f"sqlite:///{path}"


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL, as SQLAlchemy opens it; None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database or ""
    return path if path and path != ":memory:" and not path.startswith("file::memory:") else None


DISK_FULL = "the database's disk is full"
DISK_FAILED = "the database's disk failed to store a commit"
# What a failed flush of SQLite's log (WalFlush) says, as the errno of the OSError it raises.
_FLUSH_ERRNOS = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EIO: DISK_FAILED, errno.EROFS: DISK_FAILED}
OUT_OF_REACH = "the database is out of reach"
DAMAGED = "the database file is damaged: stop the gateway and restore the last backup"
# PostgreSQL's SQLSTATEs: 53100 could not extend a file; class 08 a broken or refused connection,
# 57P01-57P03 a server shutting down, crashed or starting.
_PG_DISK_FULL = "53100"
_PG_OUT_OF_REACH = ("08", "57P01", "57P02", "57P03")


def outage(exc: BaseException) -> str | None:
    """What stops the database for every call alike (its disk full or failing, it out of reach, its file
    damaged), or None.

    Such failures are the operator's to mend, not the gateway's, and last until
    they are: each is worth one clear line in the log, not a traceback per call.
    ``exc`` is a driver's error or one that wraps it (as SQLAlchemy's do).
    """
    seen: BaseException | None = exc
    for _ in range(5):  # the driver's error, wrapped by SQLAlchemy and perhaps once more
        if seen is None:
            return None
        if isinstance(seen, SQLITE_ERRORS):
            code = getattr(seen, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL:
                return DISK_FULL
            if code == sqlite3.SQLITE_CANTOPEN:
                return OUT_OF_REACH
            if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                return DAMAGED
        if isinstance(seen, OSError) and seen.errno in _FLUSH_ERRNOS:
            return _FLUSH_ERRNOS[seen.errno]
        state = getattr(seen, "sqlstate", None)
        if state == _PG_DISK_FULL:
            return DISK_FULL
        if isinstance(state, str) and state.startswith(_PG_OUT_OF_REACH):
            return OUT_OF_REACH
        if getattr(seen, "connection_invalidated", False) or _connect_failed(seen):
            return OUT_OF_REACH
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def _connect_failed(exc: BaseException) -> bool:
    """psycopg's failure to connect at all: an OperationalError that no server state came with."""
    try:
        import psycopg
    except ModuleNotFoundError:  # PostgreSQL support not installed
        return False
    return isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None


# SQLite's default: a commit that takes the WAL past this many pages copies them into the database.
DEFAULT_AUTOCHECKPOINT = 1000


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    pool_size: int = 5,
    sqlite_autocheckpoint: int = DEFAULT_AUTOCHECKPOINT,
    sqlite_mmap_bytes: int = 0,
) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            module=SQLITE_DRIVER,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=10,
        )
        path = sqlite_file(url)
        if path is not None and sqlite_synchronous.upper() == "FULL":
            # FULL's flush of the log at every commit, done by the committer itself once SQLite's
            # write lock and the write gate are let go (see WalFlush); SQLite otherwise as NORMAL.
            _WAL_FLUSHES[engine] = WalFlush(path)
            sqlite_synchronous = "NORMAL"
        _configure_sqlite(engine, sqlite_synchronous, sqlite_autocheckpoint, sqlite_mmap_bytes)
        return engine
    try:
        return create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise DatabaseDriverMissing(
            f"the database URL needs the Python module {exc.name!r}, which is not installed; for PostgreSQL "
            "install the gateway with its postgresql extra: pip install 'intygsgw[postgresql]'"
        ) from None


class WalFlush:
    """The flush that makes a SQLite file's commits durable, run after the commit instead of in it.

    With ``synchronous=FULL`` SQLite flushes its write-ahead log inside COMMIT, holding its one
    write lock, and the gateway's write gate, while the disk answers: every other writer, in this
    process and the others, waits for the flush too. As NORMAL, SQLite writes the commit's frames
    to the log and returns; the committer then flushes the log itself, with the locks let go, and
    only then reports the commit done. The log is written sequentially, so a flush begun after the
    commit's frames were written covers them, whatever other writers appended meanwhile; NORMAL
    still flushes the log before a checkpoint copies it and the database file after, and the log's
    header when it starts over, as FULL does. A power cut can then lose only commits nobody heard of.

    The descriptor is the log file's as it is now: a log deleted and made anew (when the last
    connection closes) is opened again, found by its inode.
    """

    def __init__(self, database_path: str):
        self.path = os.path.abspath(database_path) + "-wal"
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._opened: tuple[int, int, int] | None = None  # (pid, device, inode) of _fd

    def flush(self) -> None:
        """Flush the log to the disk; call after a commit, with its connection still open (the log
        cannot be deleted while a connection is open)."""
        fd = self._current()
        if fd is not None:
            os.fdatasync(fd)

    def _current(self) -> int | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None  # no log: every commit is in the database file, flushed when it was copied there
        key = (os.getpid(), found.st_dev, found.st_ino)
        with self._lock:
            if self._opened != key:
                if self._fd is not None:
                    os.close(self._fd)  # the old log's, or one inherited over fork
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                self._opened = key
            return self._fd


_WAL_FLUSHES: weakref.WeakKeyDictionary[Engine, WalFlush] = weakref.WeakKeyDictionary()


def wal_flush_for(engine: Engine) -> WalFlush | None:
    """The flush a committer must run after each commit on this engine; None where SQLite (or the
    database) flushes inside the commit, or nothing is flushed at all (synchronous NORMAL or OFF)."""
    return _WAL_FLUSHES.get(engine)


class DatabaseDriverMissing(GatewayError, RuntimeError):
    """A database URL whose driver is not installed."""


def _configure_sqlite(engine: Engine, synchronous: str, autocheckpoint: int, mmap_bytes: int = 0) -> None:
    if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA", "OFF"):
        raise ValueError(f"unknown SQLite synchronous mode {synchronous!r}")
    if int(mmap_bytes) < 0:
        raise ValueError(f"the SQLite memory map cannot be negative ({mmap_bytes})")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's begin event decide how a transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        if mmap_bytes:
            # Reads only: SQLite still writes through write() and the WAL, so a commit's durability
            # is as without it. SQLite caps the size at what it was built with (2 GB in Debian's).
            cur.execute(f"PRAGMA mmap_size={int(mmap_bytes)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class CommitWatch:
    """Whether anything was committed to a SQLite database file since the last look, in microseconds.

    ``PRAGMA data_version`` moves whenever another connection, of this process
    or of any other, commits; the watch's own connection never writes, so every
    commit moves it. It reads the WAL's shared index, not the database.
    """

    def __init__(self, engine: Engine):
        raw = engine.raw_connection()
        # Held as long as the watch lives: outside the pool's count, so the
        # pool's capacity stays what the settings say.
        raw.detach()
        self._raw = raw
        self._connection = raw.dbapi_connection

    def look(self) -> int | None:
        """A mark that differs from the last one once something was committed meanwhile; None when
        the database cannot be asked (then the caller does its work, which tells what is wrong)."""
        try:
            cursor = self._connection.execute("PRAGMA data_version")
            try:
                return int(cursor.fetchone()[0])
            finally:
                cursor.close()
        except Exception:
            return None

    def close(self) -> None:
        self._raw.close()


def commit_watch(engine: Engine) -> CommitWatch | None:
    """A CommitWatch on a SQLite database file; None for PostgreSQL and for SQLite in memory.

    A second connection to an in-memory database would open a database of its own.
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    if database in ("", ":memory:") or "mode=memory" in database or engine.url.query.get("mode") == "memory":
        return None
    return CommitWatch(engine)


def checkpoint_sqlite(engine: Engine, gate: AbstractContextManager[object] | None = None) -> bool:
    """Copy the WAL's committed pages into a SQLite database file; whether it copied them all.

    PASSIVE: it never waits for a reader, and copies what it can: not the
    pages committed after the oldest snapshot a reader still holds. Other
    databases have nothing to copy (True).

    ``gate``: the database's write gate, held while the checkpoint runs, so that no
    commit of this gateway's processes falls into it. SQLite up to 3.51.2 (Debian
    12 ships 3.40.1) has a race, its "WAL-reset bug": a checkpoint that starts
    right after another one completed can miss that a commit meanwhile started
    the log over, record the new log's first frames as copied, and leave the
    database file with pages that point at pages never written. A checkpoint
    beside committing processes every 0.2 s is that pattern, and a benchmark
    database of this project was once found damaged in just that way.
    Commits hold the gate already, and so do the checkpoints SQLite runs inside
    a commit (wal_autocheckpoint). Where SQLITE_DRIVER brings a fixed SQLite the
    gate is a second line of defence.
    """
    if engine.dialect.name != "sqlite":
        return True
    with gate if gate is not None else nullcontext():
        raw = engine.raw_connection()
        try:
            # The connection is in autocommit (isolation_level None): the pragma runs outside a transaction.
            cursor = raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            try:
                busy, logged, copied = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()
    return busy == 0 and logged == copied
