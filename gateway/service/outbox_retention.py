"""Keeping settled outbox items no longer than the retention period (``outbox_retention_days``).

With the statistics feed on, every registration leaves an event with a copy of
the certificate in the outbox; kept for ever, the outbox would grow as fast as
the certificates do.
"""

from __future__ import annotations

import datetime as dt
import logging

from intygsgw.service.services import Services

log = logging.getLogger(__name__)

BATCH = 1000  # items per transaction: the one writer is never held long


def purge_settled_outbox(svc: Services, settled_before: dt.datetime, batch: int = BATCH) -> int:
    """Delete delivered and discarded items settled before the cut-off (UTC), batch by batch; how many."""
    total = 0
    while True:
        with svc.store.writing() as uow:
            n = uow.outbox.purge_settled(settled_before, batch)
            uow.commit()
        total += n
        if n < batch:
            break
    if total:
        log.info("deleted %d delivered or discarded outbox item(s) settled before %s", total, settled_before)
    return total


def retention_cutoff(now_utc: dt.datetime, days: int) -> dt.datetime:
    return now_utc - dt.timedelta(days=days)
