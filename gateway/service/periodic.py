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
        # A failure that repeats (the database down, its disk full) is told with its traceback
        # once, then in one line at most every quiet_for seconds: a job run five times a
        # second would otherwise write five tracebacks a second for as long as it lasts.
        self.quiet_for = quiet_for
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        failures, told_at = 0, 0.0
        while not self._stop.is_set():
            try:
                self.job()
            except Exception as exc:
                failures += 1
                now = time.monotonic()
                if failures == 1:
                    log.exception("%s failed; trying again later", self.name)
                    told_at = now
                elif now - told_at >= self.quiet_for:
                    first_line = (str(exc).splitlines() or [""])[0]
                    log.error(
                        "%s still failing (%d runs in a row): %s: %s",
                        self.name,
                        failures,
                        type(exc).__name__,
                        first_line,
                    )
                    told_at = now
            else:
                if failures:
                    log.info("%s works again after %d failed runs", self.name, failures)
                failures = 0
            self._stop.wait(self.every)
