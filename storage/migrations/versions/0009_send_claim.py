"""claims of sends under way, so concurrent sends deliver a certificate once

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_claim",
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("recipient_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("certificate_id", "recipient_id"),
    )


def downgrade() -> None:
    op.drop_table("send_claim")
