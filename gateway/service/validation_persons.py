"""Keeping validation persons' data no longer than its retention period."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from intygsgw.domain.validation_persons import purge_cutoff
from intygsgw.service.services import Services

log = logging.getLogger(__name__)


def purge_validation_persons(svc: Services, received_before: dt.datetime) -> int:
    """Delete the validation persons' certificates received before the cut-off; returns how many."""
    if not svc.validation_persons:
        return 0
    with svc.store.writing() as uow:
        ids = uow.certificates.ids_for_persons(sorted(svc.validation_persons), received_before)
        for cid in ids:
            # Everything kept about the certificate goes, not just the certificate.
            uow.messages.delete_for(cid)
            uow.approved_receivers.replace(cid, [])
            uow.certificates.delete(cid)
        uow.commit()
    if ids:
        log.info("purged %d certificate(s) of validation persons received before %s", len(ids), received_before)
    return len(ids)


class PeriodicPurge:
    """Runs the purge in the serving parent every ``every`` seconds (first run at start)."""

    def __init__(self, services: Services, retention_days: int, every: float):
        self.services = services
        self.retention_days = retention_days
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="validation-purge", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                purge_validation_persons(self.services, purge_cutoff(self.services.clock(), self.retention_days))
            except Exception:
                log.exception("purging validation persons failed; trying again later")
            self._stop.wait(self.every)
