"""outbox items: small payloads in the item's row, and no (state, next attempt) index

Revision ID: 0017
Revises: 0016

With the statistics feed on, every registration queues an event whose
payload is a few hundred bytes (its certificate's document is read when it
is published). Kept apart in outbox_payload, each cost a second insert; in
the item's row it costs nothing more. Large payloads (a 10 KB certificate
for a recipient) stay apart, where a claim or settle does not write them
again.

Every query that reads the outbox by state is served by (state, destination)
or (destination, state, next attempt); the third index only cost each item
an entry to write at enqueue and to move when it was settled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox")
    # In place on SQLite too: rebuilding the outbox would cascade into outbox_payload.
    op.add_column("outbox", sa.Column("payload", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.execute(
        "INSERT INTO outbox_payload (outbox_id, payload) SELECT id, payload FROM outbox WHERE payload IS NOT NULL"
    )
    op.execute("ALTER TABLE outbox DROP COLUMN payload")
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"], unique=False)
