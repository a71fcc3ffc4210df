"""Unit of work: one database transaction around one service operation.

Leaving the block without ``commit()`` rolls back, so a handler that raises
half-way leaves nothing behind. A writing unit of work starts with ``BEGIN
IMMEDIATE`` on SQLite (see intygsgw.storage.db) so concurrent writers queue up instead
of failing on a lock upgrade.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from intygsgw.storage.access_log import AccessLogRepository
from intygsgw.storage.batching import CommitBatcher
from intygsgw.storage.care_provider import CareProviderRepository
from intygsgw.storage.db import WRITE_OPTION, CommitWatch, WalFlush, checkpoint_sqlite, commit_watch, wal_flush_for
from intygsgw.storage.messages import MessageRepository
from intygsgw.storage.outbox import OutboxRepository
from intygsgw.storage.receivers import ApprovedReceiverRepository
from intygsgw.storage.rehab_statuses import RehabStatusRepository
from intygsgw.storage.repository import CertificateRepository
from intygsgw.storage.sick_leave import SickLeaveRepository
from intygsgw.storage.signatures import SignatureRepository
from intygsgw.storage.writegate import WriteGate, gate_for

log = logging.getLogger(__name__)


class UnitOfWork:
    """Runs on a Core connection: the ORM session's bookkeeping cost more than
    the whole durable SQLite commit on the register path (measured ~1 ms vs
    ~0.25 ms)."""

    def __init__(self, engine: Engine, write: bool, gate: WriteGate | None = None, wal_flush: WalFlush | None = None):
        self._engine = engine
        self._write = write
        self._gate = gate if write else None
        self._gate_held = False
        self._wal_flush = wal_flush if write else None
        self.connection: Connection | None = None

    def __enter__(self) -> UnitOfWork:
        # The connection is taken from the pool before the gate and given back after it (the
        # transaction begins at the first statement and ends before the gate opens): every other
        # writer waits while the gate is held, and the pool's Python need not be part of that.
        self._open()
        if self._gate is not None:
            try:
                self._gate.acquire()
            except BaseException:
                self.connection.close()
                raise
            self._gate_held = True
        return self

    def _let_go_of_gate(self) -> None:
        if self._gate_held:
            self._gate_held = False
            self._gate.release()

    def _open(self) -> UnitOfWork:
        conn = self._engine.connect()
        if self._write:
            conn = conn.execution_options(**{WRITE_OPTION: True})
        self.connection = conn
        self.certificates = CertificateRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.access_log = AccessLogRepository(conn)
        self.messages = MessageRepository(conn)
        self.approved_receivers = ApprovedReceiverRepository(conn)
        self.signatures = SignatureRepository(conn)
        self.sick_leave = SickLeaveRepository(conn)
        self.care_provider = CareProviderRepository(conn)
        self.rehab_statuses = RehabStatusRepository(conn)
        return self

    def __exit__(self, *exc) -> None:
        try:
            try:
                if self.connection.in_transaction():
                    self.connection.rollback()
            finally:
                self._let_go_of_gate()
        finally:
            self.connection.close()

    @contextmanager
    def batch(self, pipelined: bool) -> Iterator[None]:
        """Around the jobs of a group commit: their statements pipelined if ``pipelined``, and their
        access-log appends chained as one at the end (:meth:`AccessLogRepository.gathered`)."""
        with self.pipeline() if pipelined else nullcontext(), self.access_log.gathered():
            yield

    def pipeline(self) -> AbstractContextManager:
        """Within the block, PostgreSQL's statements go out without waiting for each one's answer.

        A registration's write is some fifteen statements; one round trip each cost
        the serving thread and the server more than the statements themselves
        (in-process: 2.6 -> 2.0 ms of client CPU, 1.2 -> 0.8 ms of the server's, 4.2 ->
        2.7 ms of wall time per registration). Answers arrive when a fetch needs
        one and at the end of the block. Inside it, SQLAlchemy's own results do not
        work: a Core select's rows cannot be read and an update's ``rowcount`` is
        -1; statements on the driver's cursor (intygsgw.storage.prepared) fetch
        normally. An error may be raised by a later statement or at the end. On
        SQLite, where a statement is a call into the library, nothing changes.
        """
        if self.connection.dialect.name != "postgresql" or not _pipeline_supported():
            return nullcontext()
        return self.connection.connection.driver_connection.pipeline()

    def commit(self) -> None:
        """Commit; on return the transaction is on the disk.

        Where the committer flushes SQLite's log itself (:class:`WalFlush`), the write gate is let
        go first, so that the next writer writes while this commit's flush runs.
        """
        self.connection.commit()
        if self._wal_flush is not None:
            self._let_go_of_gate()
            self._wal_flush.flush()

    def rollback(self) -> None:
        self.connection.rollback()


@functools.cache
def _pipeline_supported() -> bool:
    """Whether psycopg's libpq has pipeline mode (14 and later); said once in the log when not."""
    import psycopg

    if psycopg.Pipeline.is_supported():
        return True
    log.warning(
        "PostgreSQL's pipeline mode needs libpq 14 or later (psycopg uses %s): writes go to the "
        "server one statement at a time, slower; the psycopg[binary] wheel brings a newer libpq",
        psycopg.pq.version(),
    )
    return False


class Store:
    """Hands out units of work on one engine."""

    def __init__(self, engine: Engine, on_batch: Callable[[int], None] | None = None, gather_seconds: float = 0.0):
        self.engine = engine
        self._gate = gate_for(engine)
        self._wal_flush = wal_flush_for(engine)
        self._batcher = CommitBatcher(self.writing, on_batch=on_batch, gather_seconds=gather_seconds)
        self._checkpoint_lock = threading.Lock()
        self._checkpoint_watch: CommitWatch | None = None
        self._copied_mark: int | None = None  # the commit mark when a checkpoint last copied everything

    def expect_write(self) -> AbstractContextManager[None]:
        """Around a request that will probably write: a group commit may wait a moment for its job.

        The request first gives way to this process's writer (:meth:`give_way_to_writer`).
        """
        self.give_way_to_writer()
        return self._batcher.expect()

    def give_way_to_writer(self) -> None:
        """Before a stretch of CPU work: wait briefly while this process's writer holds the write gate
        (:meth:`WriteGate.give_way`); nothing on PostgreSQL, whose writers do not queue on one gate."""
        if self._gate is not None:
            self._gate.give_way()

    def writing(self) -> UnitOfWork:
        return UnitOfWork(self.engine, write=True, gate=self._gate, wal_flush=self._wal_flush)

    def write(self, job, pipelined: bool = False):
        """Run ``job(uow)`` in a shared, group-committed transaction; returns its result.

        For short, hot writes. ``job`` must not commit or roll back itself and
        may be run twice (see intygsgw.storage.batching); an exception it raises undoes
        only its own work and reaches the caller once the batch has committed.
        ``pipelined``: the job's repository calls only store, so its statements may be
        pipelined (:meth:`UnitOfWork.pipeline`).
        """
        return self._batcher.run(job, pipelined)

    def checkpoint(self) -> None:
        """Copy a SQLite database's WAL into its file, between two commits (see checkpoint_sqlite).

        Nothing to do, and nothing done, while nothing was committed since a checkpoint that copied
        everything: the serving parent asks five times a second, idle or not, and a checkpoint cost
        it some 0.4 ms of CPU each time.
        """
        with self._checkpoint_lock:
            if self._checkpoint_watch is None:
                self._checkpoint_watch = commit_watch(self.engine)
            mark = self._checkpoint_watch.look() if self._checkpoint_watch is not None else None
            if mark is not None and mark == self._copied_mark:
                return
            complete = checkpoint_sqlite(self.engine, self._gate)
            # Marked before the checkpoint: a commit during it moves the mark, and the next one runs.
            self._copied_mark = mark if complete else None

    def commit_watch(self) -> CommitWatch | None:
        """A cheap look at whether anything was committed since the last one (SQLite files; None elsewhere)."""
        return commit_watch(self.engine)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self.engine, write=False)

    def ping(self) -> None:
        """Raise unless the database answers a query now."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
