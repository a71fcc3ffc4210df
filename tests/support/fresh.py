"""Fresh ids and dates for tests that share one gateway: each call gives what no other test uses."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from intygsgw.clock import Clock
from intygsgw.devtools.samples import personnummer

# The gateway's today is the Swedish one (intygsgw.clock): between 23:00 and midnight UTC the
# machine's local date can be a day behind it. Periods are still laid around today with margins
# of days, so that a session running over midnight does not change an answer.
TODAY = Clock().local().date()
_serials = itertools.count(1)


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def new_person(born_before: dt.date | None = None) -> str:
    """A personnummer with a valid control digit that no other test of the session uses; born
    before ``born_before`` when given (the birth dates run from 1950 to 2004)."""
    while True:
        person = personnummer(next(_serials) + uuid.uuid4().int % 5000 * 1000)
        if born_before is None or dt.date(int(person[:4]), int(person[4:6]), int(person[6:8])) < born_before:
            return person


def new_hsa(prefix: str) -> str:
    return f"SE2321000016-{prefix}{uuid.uuid4().hex[:8].upper()}"
