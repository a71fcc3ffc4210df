"""The message (ärende) repository.

A message id is claimed (inserted PENDING) before it is relayed and confirmed
(STORED) or released (deleted) after the downstream answer, so the unique index
on meddelande-id decides which of two concurrent duplicates is relayed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import fields

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from intygsgw.domain.records import MESSAGE_PENDING, MESSAGE_STORED, MessageRecord
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import MessageRow

_COLUMNS = [getattr(MessageRow, f.name) for f in fields(MessageRecord)]


def _record(row) -> MessageRecord:
    values = dict(zip((f.name for f in fields(MessageRecord)), row, strict=True))
    values["document"] = bytes(values["document"])
    return MessageRecord(**values)


class MessageRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def claim(self, message: MessageRecord, stale_before: dt.datetime | None = None) -> bool:
        """Insert the message as PENDING; False when the meddelande-id is taken.

        A PENDING claim received before ``stale_before`` belongs to a relay
        that died with its process (a relay cannot outlive its timeouts); it is
        taken over, or the id would be refused as a duplicate for ever.
        """
        values = {f.name: getattr(message, f.name) for f in fields(MessageRecord)}
        values["state"] = MESSAGE_PENDING
        if self._insert(values):
            return True
        if stale_before is None:
            return False
        taken_over = self.connection.execute(
            delete(MessageRow).where(
                MessageRow.message_id == message.message_id,
                MessageRow.state == MESSAGE_PENDING,
                MessageRow.received_at < stale_before,
            )
        )
        return taken_over.rowcount == 1 and self._insert(values)

    def _insert(self, values: dict) -> bool:
        check_lengths(MessageRow.__table__, values)
        savepoint = self.connection.begin_nested()
        try:
            self.connection.execute(MessageRow.__table__.insert(), values)
        except IntegrityError:
            savepoint.rollback()
            return False
        savepoint.commit()
        return True

    def confirm(self, message_id: str) -> None:
        self.connection.execute(
            update(MessageRow).where(MessageRow.message_id == message_id).values(state=MESSAGE_STORED)
        )

    def release(self, message_id: str) -> None:
        self.connection.execute(
            delete(MessageRow).where(MessageRow.message_id == message_id, MessageRow.state == MESSAGE_PENDING)
        )

    def mark_handled(self, message_id: str, at: dt.datetime) -> bool:
        done = self.connection.execute(
            update(MessageRow)
            .where(MessageRow.message_id == message_id, MessageRow.state == MESSAGE_STORED)
            .values(handled=True, handled_at=at)
        )
        return done.rowcount == 1

    def get(self, message_id: str) -> MessageRecord | None:
        """Any message holding the id, pending or stored (ids are unique across both)."""
        row = self.connection.execute(select(*_COLUMNS).where(MessageRow.message_id == message_id)).first()
        return _record(row) if row else None

    def id_taken(self, message_id: str) -> bool:
        return (
            self.connection.execute(
                select(func.count()).select_from(MessageRow).where(MessageRow.message_id == message_id)
            ).scalar_one()
            > 0
        )

    def delete_for(self, certificate_id: str) -> None:
        self.connection.execute(delete(MessageRow).where(MessageRow.certificate_id == certificate_id))

    def stored_for(self, certificate_ids: Iterable[str]) -> dict[str, list[MessageRecord]]:
        """Stored messages per certificate, oldest first."""
        ids = list(set(certificate_ids))
        out: dict[str, list[MessageRecord]] = {i: [] for i in ids}
        for i in range(0, len(ids), 500):
            rows = self.connection.execute(
                select(*_COLUMNS)
                .where(MessageRow.certificate_id.in_(ids[i : i + 500]), MessageRow.state == MESSAGE_STORED)
                .order_by(MessageRow.received_at, MessageRow.id)
            )
            for row in rows:
                rec = _record(row)
                out[rec.certificate_id].append(rec)
        return out
