"""approved receivers; an outbox index for finding due queues

Revision ID: 0003
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
# Chained after the head main had when this was merged (0002 → 0004 → 0007 → 0006),
# so that there is a single head.
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approved_receiver",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("receiver_id", sa.String(length=32), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approved_receiver", schema=None) as batch_op:
        batch_op.create_index("ix_approved_receiver_certificate", ["certificate_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending_destination", ["state", "destination"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending_destination")
    with op.batch_alter_table("approved_receiver", schema=None) as batch_op:
        batch_op.drop_index("ix_approved_receiver_certificate")
    op.drop_table("approved_receiver")
