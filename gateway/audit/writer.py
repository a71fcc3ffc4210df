"""Writing one access-log entry per patient touched by a call."""
from __future__ import annotations

import datetime as dt

from storage.access_log import AccessEntry
from storage.uow import Store

from ..domain.personnummer import try_parse_person_id
from . import Access


def _person(value: str) -> str:
    pid = try_parse_person_id(value)
    return pid.digits if pid else value.strip()[:64]


class AccessLogWriter:
    def __init__(self, store: Store, utc_now=None):
        self.store = store
        self._now = utc_now or (lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))

    def write(self, access: Access, outcome: str) -> None:
        """Durably appended when this returns; raises if it could not be."""
        at = self._now()
        persons = [_person(p) for p in access.person_ids] or [""]
        entries = [
            AccessEntry(at, access.caller[:128], access.original_consumer[:128], access.acting_on_behalf[:128],
                        access.contract, access.logical_address[:128], person, tuple(access.certificate_ids),
                        outcome[:64])
            for person in dict.fromkeys(persons)
        ]
        # Group-committed with the other writes of this process: one flush
        # for many entries, and the head row keeps them in one chain.
        self.store.write(lambda uow: uow.access_log.append(entries))
