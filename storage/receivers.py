"""Approved receivers: per certificate, which recipients the patient allowed."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from intygsgw.domain.records import ApprovedReceiver
from intygsgw.storage import locks
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import ApprovedReceiverRow


class ApprovedReceiverRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def replace(self, certificate_id: str, receivers: list[ApprovedReceiver]) -> None:
        """The new choice replaces every earlier one for the certificate."""
        # Locked first: two choices at once on PostgreSQL would each delete only the rows committed
        # before it and both be kept, a recipient approved and not approved.
        locks.lock_until_commit(self.connection, locks.CERTIFICATE, [certificate_id])
        self.connection.execute(delete(ApprovedReceiverRow).where(ApprovedReceiverRow.certificate_id == certificate_id))
        if receivers:
            rows = [
                {"certificate_id": certificate_id, "receiver_id": r.receiver_id, "approved": r.approved}
                for r in receivers
            ]
            for row in rows:
                check_lengths(ApprovedReceiverRow.__table__, row)
            self.connection.execute(insert(ApprovedReceiverRow), rows)

    def for_certificate(self, certificate_id: str) -> list[ApprovedReceiver]:
        stmt = (
            select(ApprovedReceiverRow.receiver_id, ApprovedReceiverRow.approved)
            .where(ApprovedReceiverRow.certificate_id == certificate_id)
            .order_by(ApprovedReceiverRow.id)
        )
        return [ApprovedReceiver(rid, bool(approved)) for rid, approved in self.connection.execute(stmt)]
