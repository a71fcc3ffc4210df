"""signature verdicts of registered certificates

Revision ID: 0006
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_signature",
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("signer_subject", sa.String(length=512), nullable=False),
        sa.Column("signer_hsa_id", sa.String(length=64), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_index("ix_certificate_signature_signer", "certificate_signature", ["signer_hsa_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_certificate_signature_signer", table_name="certificate_signature")
    op.drop_table("certificate_signature")
