"""Configuration files that can change under a running gateway.

Each process checks the file's modification time at most every few seconds.
A changed file is parsed whole; if it has an error the error is logged (naming
the line or field, as the parser reports it) and the configuration in force
stays, so a typo never takes a running gateway down.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def file_mtime(path: str):
    """The default change stamp: the file's modification time (None when it is missing)."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


class Reloadable(Generic[T]):
    """``parse_file(path)``, parsed again when ``stamp(path)`` changes (a file's mtime by
    default; a folder of files passes a stamp over all of them)."""

    def __init__(
        self,
        path: str | None,
        parse_file: Callable[[str], T],
        fallback: T | None = None,
        check_every: float = 2.0,
        stamp: Callable[[str], object] = file_mtime,
        on_reload: Callable[[bool], None] | None = None,
    ):
        self.path = path
        self._parse = parse_file
        self._stamp = stamp
        self._check_every = check_every
        self._on_reload = on_reload  # told each reload's outcome, True when it took (metrics)
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._mtime = self._stat()
        self.last_error: str | None = None
        # The first load must succeed: a bad file at start is a start failure.
        self._value: T = parse_file(path) if path else fallback

    def _stat(self):
        return self._stamp(self.path) if self.path else None

    def current(self) -> T:
        if self.path and time.monotonic() - self._checked >= self._check_every:
            self.reload_if_changed()
        return self._value

    def reload_if_changed(self) -> bool:
        with self._lock:
            self._checked = time.monotonic()
            mtime = self._stat()
            if mtime == self._mtime:
                return False
            self._mtime = mtime
            try:
                value = self._parse(self.path)
            except Exception as exc:  # keep serving with what we had
                self.last_error = str(exc)
                log.error("configuration %s rejected, keeping the previous one: %s", self.path, exc)
                if self._on_reload is not None:
                    self._on_reload(False)
                return False
            self._value = value
            self.last_error = None
            log.info("configuration %s reloaded", self.path)
            if self._on_reload is not None:
                self._on_reload(True)
            return True
