"""One writer at a time on a SQLite file, handed over without sleeping.

SQLite lets one transaction write; the others spin in its busy handler, which
sleeps 1, 2, 5, 10… ms between attempts. With two worker processes and a
dozen threads that sleeping, not the disk, set the register rate and the p99
latency. Writers therefore queue on a lock here (a thread lock inside a
process, ``flock`` on a file beside the database between processes), which
wakes the next writer as soon as the previous one commits. SQLite's own lock
stays in force underneath, so a process that does not use the gate is still
safe, only slower.
"""

from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy.engine import Engine

from intygsgw.storage.db import sqlite_file

# A request thread waits at most this long for its own process's writer: a writer that holds the
# gate longer (an operator's import) is not waited for to the end.
GIVE_WAY_SECONDS = 0.01


class WriteGate:
    def __init__(self, database_path: str):
        self.path = database_path + ".write-lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self._free_here = threading.Event()  # no thread of this process holds the gate
        self._free_here.set()
        self._holder: int | None = None

    def _file(self) -> int:
        # A descriptor inherited over fork shares its flock with the parent.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._holder = threading.get_ident()
        self._free_here.clear()

    def release(self) -> None:
        self._holder = None
        self._free_here.set()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def give_way(self, at_most: float = GIVE_WAY_SECONDS) -> None:
        """Wait (``at_most`` seconds) while another thread of this process holds the gate.

        The holder runs its transaction's Python under the interpreter lock, shared with this
        process's request threads, while the other processes' writers wait for the gate: a request
        thread that starts its own work meanwhile lengthens every writer's wait.
        """
        if self._holder is not None and self._holder != threading.get_ident():
            self._free_here.wait(at_most)

    def close(self) -> None:
        """Let go of the lock file's descriptor (a gate used once, as by a migration)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> WriteGate:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def gate_for(engine: Engine) -> WriteGate | None:
    """The gate of an engine on a SQLite file; None for other databases and in-memory SQLite."""
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    return WriteGate(path) if path is not None else None
