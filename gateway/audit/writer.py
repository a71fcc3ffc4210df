"""Writing a call's access-log entries in a transaction of their own."""

from __future__ import annotations

import datetime as dt

from intygsgw.audit import Access
from intygsgw.storage.access_log import NamedHours
from intygsgw.storage.uow import Store


class AccessLogWriter:
    def __init__(self, store: Store, utc_now=None):
        self.store = store
        self._now = utc_now or (lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))
        self.named = NamedHours()

    def write(self, access: Access, outcome: str) -> None:
        """Durably appended when this returns; raises if it could not be."""
        if access.written:
            return
        entries = access.entries(outcome, self._now())
        # Group-committed with the other writes of this process: one flush
        # for many entries, and the head row keeps them in one chain.
        self.store.write(lambda uow: uow.access_log.append(entries, self.named), pipelined=True)
        self.named.committed(entries)  # only now: the batch has committed
        access.written = True
