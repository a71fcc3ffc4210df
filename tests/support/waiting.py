"""Waiting for something another process does, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import time


def wait_until(check, what: str = "condition", timeout: float = 15.0, every: float = 0.05):
    """``check()``'s first truthy value; fails the test naming ``what`` once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not reached within {timeout:g} s")
