"""Rehabstöd's rehabilitation statuses (REKO) are kept

Revision ID: 0028
Revises: 0027

Until now every sick leave was listed with REKO_1 ("none"), since nothing was
stored when a coordinator set a status. The table holds each status as set;
the lists choose the latest within a case when they read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rehab_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("patient_id", sa.String(length=12), nullable=False),
        sa.Column("care_provider_id", sa.String(length=64), nullable=False),
        sa.Column("care_unit_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=True),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("staff_name", sa.String(length=255), nullable=False),
        sa.Column("sick_leave_timestamp", sa.DateTime(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rehab_status_patient_unit",
        "rehab_status",
        ["patient_id", "care_unit_id", "sick_leave_timestamp"],
        unique=False,
    )
    op.create_index("ix_rehab_status_provider", "rehab_status", ["care_provider_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rehab_status_provider", table_name="rehab_status")
    op.drop_index("ix_rehab_status_patient_unit", table_name="rehab_status")
    op.drop_table("rehab_status")
