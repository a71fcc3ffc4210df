"""sick-leave certificates and their work-capacity periods, for the sick-leave lists

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sick_leave_certificate",
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=255), nullable=False),
        sa.Column("care_giver_id", sa.String(length=64), nullable=False),
        sa.Column("care_unit_id", sa.String(length=64), nullable=False),
        sa.Column("care_unit_name", sa.String(length=255), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_name", sa.String(length=255), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("diagnosis", sa.String(length=64), nullable=False),
        sa.Column("secondary_diagnoses", sa.String(length=255), nullable=False),
        sa.Column("employment", sa.String(length=255), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_index(
        "ix_sick_leave_unit_patient", "sick_leave_certificate", ["care_giver_id", "care_unit_id", "patient_id"]
    )
    op.create_index("ix_sick_leave_patient", "sick_leave_certificate", ["patient_id"])
    op.create_table(
        "sick_leave_period",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["sick_leave_certificate.certificate_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sick_leave_period_certificate", "sick_leave_period", ["certificate_id"])
    op.create_index("ix_sick_leave_period_end", "sick_leave_period", ["end"])


def downgrade() -> None:
    op.drop_table("sick_leave_period")
    op.drop_table("sick_leave_certificate")
