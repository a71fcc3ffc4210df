"""When to try again: a fixed ladder of delays with jitter.

Jitter spreads the retries of many items that failed together (a receiver's
outage) so they do not all hit the receiver in the same second when it returns.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

DEFAULT_DELAYS = (60, 300, 1800, 3600)  # then hourly, as the last step repeats


@dataclass(frozen=True)
class RetrySchedule:
    delays: tuple[float, ...] = DEFAULT_DELAYS
    jitter: float = 0.1  # ± fraction of the delay

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure (1-based)."""
        base = self.delays[min(max(failed_attempts, 1), len(self.delays)) - 1]
        spread = base * self.jitter
        return base + (rng or random).uniform(-spread, spread)

    def next_attempt(self, now: dt.datetime, failed_attempts: int) -> dt.datetime:
        return now + dt.timedelta(seconds=self.delay(failed_attempts))


def parse_delays(text: str) -> tuple[float, ...]:
    """``"1m,5m,30m,1h"`` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        unit = units.get(part[-1])
        out.append(float(part[:-1]) * unit if unit else float(part))
    if not out or any(d <= 0 for d in out):
        raise ValueError(f"retry delays must be positive: {text!r}")
    return tuple(out)
