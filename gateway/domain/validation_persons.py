"""Validation persons: ids used to check an integration end to end in production.

Their certificates are registered, stored and read like anyone's, so a
journal system can test its whole flow, but they never reach a recipient
(SendCertificateToRecipient answers ERROR, revocations are not forwarded),
never count in statistics or sick-leave lists, and are purged after a
retention period (``intygsgw purge-validation-persons`` or the serving
parent's periodic purge).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

from intygsgw.domain.personnummer import InvalidPersonId, parse_person_id

log = logging.getLogger(__name__)


def parse_validation_persons(value: str) -> frozenset[str]:
    ids = set()
    for raw in value.replace("\n", ",").split(","):
        if not raw.strip():
            continue
        try:
            ids.add(parse_person_id(raw.strip()).digits)
        except InvalidPersonId:
            raise ValueError(f"validation_persons: not a person id: {raw.strip()!r}") from None
    return frozenset(ids)


def purge_cutoff(now_local: dt.datetime, retention_days: int) -> dt.datetime:
    return now_local - dt.timedelta(days=retention_days)


class PeriodicPurge:
    """Runs the purge in the serving parent every ``every`` seconds (first run at start)."""

    def __init__(self, services, retention_days: int, every: float):
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
        from intygsgw.service.certificates import purge_validation_persons

        while not self._stop.is_set():
            try:
                purge_validation_persons(self.services,
                                         purge_cutoff(self.services.clock(), self.retention_days))
            except Exception:
                log.exception("purging validation persons failed; trying again later")
            self._stop.wait(self.every)
