"""Time, as the gateway sees it.

Production uses the wall clock. Tests of retry schedules that span hours set
``clock_offset_file``: the file holds a number of seconds to add, so a test
can move a running gateway hours ahead without waiting.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

SWEDISH_TIME = ZoneInfo("Europe/Stockholm")


class Clock:
    def __init__(self, offset_file: str | None = None):
        self._offset_file = offset_file
        self._offset = 0.0
        self._checked = 0.0
        self._mtime = None

    def _offset_seconds(self) -> float:
        if not self._offset_file:
            return 0.0
        now = time.monotonic()
        if now - self._checked > 0.05:
            self._checked = now
            try:
                mtime = os.stat(self._offset_file).st_mtime_ns
                if mtime != self._mtime:
                    with open(self._offset_file) as f:
                        self._offset = float(f.read().strip() or 0)
                    self._mtime = mtime
            except (OSError, ValueError):
                self._offset = 0.0
        return self._offset

    def utc(self) -> dt.datetime:
        """Naive UTC, for schedules the gateway keeps to itself."""
        base = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return base + dt.timedelta(seconds=self._offset_seconds())

    def local(self) -> dt.datetime:
        """Swedish wall-clock time without zone, as RIV-TA timestamps are written."""
        base = dt.datetime.now(SWEDISH_TIME).replace(tzinfo=None, microsecond=0)
        return base + dt.timedelta(seconds=int(self._offset_seconds()))

    __call__ = local


def write_offset(path: str, seconds: float) -> None:
    """Move every gateway process that reads ``path`` to now + seconds."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(str(seconds))
    os.replace(tmp, path)
