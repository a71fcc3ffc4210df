"""outbox payloads in a table of their own, written once

Revision ID: 0013
Revises: 0012

An outbox row changes when it is claimed and when it is settled. SQLite
writes a changed row again whole, overflow pages included, so a 10 KB payload
kept in the row was written three times per delivery (and checkpointed as
often). In a table of its own it is written once.

SQLite drops the column in place (ALTER TABLE ... DROP COLUMN, SQLite 3.35):
rebuilding the outbox table would cascade into the new payload table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_payload",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("outbox_id"),
    )
    op.execute("INSERT INTO outbox_payload (outbox_id, payload) SELECT id, payload FROM outbox")
    op.execute("ALTER TABLE outbox DROP COLUMN payload")


def downgrade() -> None:
    op.execute(
        "ALTER TABLE outbox ADD COLUMN payload BLOB" if _sqlite() else "ALTER TABLE outbox ADD COLUMN payload BYTEA"
    )
    op.execute("UPDATE outbox SET payload = (SELECT payload FROM outbox_payload WHERE outbox_id = outbox.id)")
    op.drop_table("outbox_payload")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
