"""Keeping the access log's index by person up with the log (intygsgw.storage.models.AccessLogPersonRow).

Run every few seconds by the serving parent's housekeeping. Reading a
person's entries never depends on it: what it has not reached yet is read
from the log itself, so a stopped indexer makes those reads slower, not wrong.
"""

from __future__ import annotations

import time

from intygsgw.service.services import Services

# Entries per transaction, and a pause after each: the database's one writer is held a few
# milliseconds at a time, and a request waiting to write gets in between two batches.
BATCH = 2_000
PAUSE = 0.01


def index_access_log(svc: Services, batch: int = BATCH) -> int:
    """Index every entry written since the last run, batch by batch; how many."""
    total = 0
    while True:
        with svc.store.writing() as uow:
            n = uow.access_log.index_persons(batch)
            uow.commit()
        total += n
        if n < batch:
            return total
        time.sleep(PAUSE)
