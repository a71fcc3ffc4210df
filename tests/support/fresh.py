"""Fresh ids and dates for tests that share one gateway: each call gives what no other test uses."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from intygsgw.devtools.samples import personnummer

# Periods laid around today with margins of days, so that the gateway's local
# date and the test's may differ by one without changing an answer.
TODAY = dt.date.today()
_serials = itertools.count(1)


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def new_person() -> str:
    """A personnummer with a valid control digit that no other test of the session uses."""
    return personnummer(next(_serials) + uuid.uuid4().int % 5000 * 1000)


def new_hsa(prefix: str) -> str:
    return f"SE2321000016-{prefix}{uuid.uuid4().hex[:8].upper()}"
