"""messages (ärenden)

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("reply_to", sa.String(length=128), nullable=True),
        sa.Column("reminder_of", sa.String(length=128), nullable=True),
        sa.Column("reference_id", sa.String(length=128), nullable=True),
        sa.Column("sender", sa.String(length=128), nullable=False),
        sa.Column("recipient_address", sa.String(length=128), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("has_deadline", sa.Boolean(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_certificate", ["certificate_id", "state"], unique=False)
        batch_op.create_index("ix_message_reply_to", ["reply_to"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_reply_to")
        batch_op.drop_index("ix_message_certificate")
    op.drop_table("message")
