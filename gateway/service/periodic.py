"""Housekeeping the serving parent runs every so often: purges that keep stored data within its retention."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs ``job`` every ``every`` seconds in a thread of its own, the first time at start.

    A failing run is logged and tried again at the next turn: housekeeping must
    never take the serving process down.
    """

    def __init__(self, name: str, job: Callable[[], object], every: float, quiet_for: float = 60.0):
        self.name = name
        self.job = job
        self.every = every
        self._failures = RepeatedFailures(log, name, quiet_for)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.job()
            except Exception as exc:
                self._failures.failed(exc)
            else:
                self._failures.succeeded()
            self._stop.wait(self.every)


class RepeatedFailures:
    """The log of a step that runs again and again and may fail the same way for a while.

    A failure that repeats (the database down, its disk full) is told with its
    traceback the first time, then in one line at most every ``quiet_for``
    seconds, and its end once: a step run five times a second would otherwise
    write five tracebacks a second for as long as it lasts.
    """

    def __init__(self, logger: logging.Logger, what: str, quiet_for: float = 60.0):
        self.logger = logger
        self.what = what
        self.quiet_for = quiet_for
        self._count = 0
        self._told_at = 0.0

    def failed(self, exc: BaseException) -> None:
        self._count += 1
        now = time.monotonic()
        if self._count == 1:
            self.logger.error("%s failed; trying again later", self.what, exc_info=exc)
        elif now - self._told_at >= self.quiet_for:
            first_line = (str(exc).splitlines() or [""])[0]
            self.logger.error(
                "%s still failing (%d runs in a row): %s: %s", self.what, self._count, type(exc).__name__, first_line
            )
        else:
            return
        self._told_at = now

    def succeeded(self) -> None:
        if self._count:
            self.logger.info("%s works again after %d failed runs", self.what, self._count)
            self._count = 0
