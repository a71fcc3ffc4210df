"""Group commit: many small write transactions, one durable commit.

A durable commit costs a disk flush (about 0.3–0.5 ms here) and, on SQLite,
holds the only write lock while it waits. Under load the requests of one
process therefore queue for the lock one flush at a time. Here the first
waiting thread leads: it opens one transaction, runs every queued job in its
own savepoint, commits once and wakes the others. Nobody hears "done" before
that commit has returned, so an OK answer still means "on disk".

Under load a leader first waits a moment (``gather_seconds``) so that the
batch takes in more jobs: the requests in progress and those their callers
send as soon as the last batch's answers reach them. With eight callers on
two processes, batches otherwise held 1.7 jobs on average, and the commits
(each a flush and its share of CPU) were a large part of a request's cost. A
caller that will probably write says so with :meth:`CommitBatcher.expect`;
the leader waits only if two such callers were in progress at once within
the last CONCURRENCY_MEMORY seconds, so a lone caller, even one sending
request after request, pays no latency for it. Waiting only while callers
were in progress at the moment the batch formed gathered less (2.5 jobs
against 3): many of the jobs that join a batch come from requests that had
not arrived yet.

A job may run twice: the batch first runs without savepoints, and only if a
job raises is it rolled back and run again with a savepoint per job, so the
failing job undoes only its own work and its caller gets the exception. If
the commit itself fails, every job of the batch gets that error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MAX_BATCH = 64
# How long two callers in progress at once mark the process as busy: at the moment a batch forms,
# the other callers are often between their answer and their next request, not in progress.
CONCURRENCY_MEMORY = 0.1


class _Job:
    __slots__ = ("done", "error", "fn", "pipelined", "result", "turn")

    def __init__(self, fn: Callable, pipelined: bool):
        self.fn = fn
        self.pipelined = pipelined
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.turn = threading.Event()  # set when finished or when this thread must lead


class CommitBatcher:
    def __init__(
        self,
        open_unit: Callable,
        max_batch: int = MAX_BATCH,
        on_batch: Callable[[int], None] | None = None,
        gather_seconds: float = 0.0,
    ):
        self._open_unit = open_unit
        self._on_batch = on_batch  # told each committed batch's size (metrics)
        self._max_batch = max_batch
        self._gather_seconds = gather_seconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # the queue holds a full batch
        self._queue: list[_Job] = []
        self._leading = False
        self._expected = 0  # callers inside expect()
        self._concurrent_until = 0.0  # monotonic time until which callers count as concurrent

    @contextmanager
    def expect(self) -> Iterator[None]:
        """Around work that will probably call :meth:`run` soon (a request being handled)."""
        with self._lock:
            self._expected += 1
            if self._expected > 1:
                self._concurrent_until = time.monotonic() + CONCURRENCY_MEMORY
        try:
            yield
        finally:
            with self._lock:
                self._expected -= 1

    def run(self, fn: Callable, pipelined: bool = False) -> Any:
        job = _Job(fn, pipelined)
        with self._lock:
            self._queue.append(job)
            lead = not self._leading
            if lead:
                self._leading = True
            elif len(self._queue) >= self._max_batch:
                self._changed.notify()  # a full batch: a gathering leader need not wait longer
        if not lead:
            job.turn.wait()
        if not job.done:
            self._lead(job)
        if job.error is not None:
            raise job.error
        return job.result

    def _gather(self) -> None:
        """Wait gather_seconds for more jobs when other callers are in progress (the lock is held)."""
        now = time.monotonic()
        if self._gather_seconds <= 0 or now >= self._concurrent_until:
            return
        deadline = now + self._gather_seconds
        while len(self._queue) < self._max_batch:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._changed.wait(left)

    def _lead(self, own: _Job) -> None:
        try:
            while not own.done:
                with self._lock:
                    self._gather()
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                self._commit(batch)
        finally:
            with self._lock:
                successor = self._queue[0] if self._queue else None
                self._leading = successor is not None
            if successor is not None:
                successor.turn.set()

    def _commit(self, batch: list[_Job]) -> None:
        # Optimistic first: almost every job succeeds, and savepoints cost two
        # statements per job. Only a batch in which a job fails is run again
        # with one savepoint per job.
        try:
            if not self._run_plain(batch):
                self._run_isolated(batch)
        except BaseException as exc:
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, exc
        else:
            if self._on_batch is not None:
                self._on_batch(len(batch))
        for job in batch:
            job.done = True
            job.turn.set()

    def _run_plain(self, batch: list[_Job]) -> bool:
        with self._open_unit() as uow:
            results = []
            try:
                with uow.batch(pipelined=all(job.pipelined for job in batch)):
                    for job in batch:
                        results.append(job.fn(uow))
            except Exception:
                return False  # leaving the unit rolls everything back
            uow.commit()
        for job, result in zip(batch, results, strict=True):
            job.result = result
        return True

    def _run_isolated(self, batch: list[_Job]) -> None:
        with self._open_unit() as uow:
            # A batch as the first attempt's, its access-log appends chained at the end (never
            # pipelined: each job's error must surface at its own statements). On PostgreSQL a job
            # that took the log's head lock would hold it while a later job waits for a lock another
            # writer holds, and that writer waits for the head at its own end (a deadlock).
            with uow.batch(pipelined=False):
                for job in batch:
                    self._run_one(uow, job)
            uow.commit()

    @staticmethod
    def _run_one(uow, job: _Job) -> None:
        """One job of an isolated run in a savepoint of its own: its failure undoes its work alone."""
        savepoint = uow.connection.begin_nested()
        try:
            with uow.access_log.dropped_on_error():
                job.result = job.fn(uow)
        except BaseException as exc:  # the job's own failure stays the job's
            try:
                savepoint.rollback()
            except Exception:
                # The database ended the whole transaction itself (SQLite does on a full disk
                # or an I/O error), savepoint and all: the batch fails, with the job's error
                # rather than "no such savepoint", which would hide what went wrong.
                raise exc from None
            job.error = exc
        else:
            savepoint.commit()
