"""Housekeeping the serving parent runs every so often: purges that keep stored data within its retention."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs ``job`` every ``every`` seconds in a thread of its own, the first time at start.

    A failing run is logged and tried again at the next turn: housekeeping must
    never take the serving process down.
    """

    def __init__(self, name: str, job: Callable[[], object], every: float):
        self.name = name
        self.job = job
        self.every = every
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
            except Exception:
                log.exception("%s failed; trying again later", self.name)
            self._stop.wait(self.every)
