"""revocation requests kept for sends in flight

Revision ID: 0008
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocation",
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("request", sa.LargeBinary(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("certificate_id"),
    )


def downgrade() -> None:
    op.drop_table("revocation")
