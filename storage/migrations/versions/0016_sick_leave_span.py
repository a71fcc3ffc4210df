"""each sick-leave certificate's span (first start, last end), indexed by unit

Revision ID: 0016
Revises: 0015

Finding a unit's patients on sick leave read every period of every
certificate the unit ever had; with the span on the certificate's row and an
index on (care giver, unit, last end) only the certificates that end late
enough are read, and their periods then decide.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sick_leave_certificate", sa.Column("first_start", sa.Date(), nullable=True))
    op.add_column("sick_leave_certificate", sa.Column("last_end", sa.Date(), nullable=True))
    op.execute(
        "UPDATE sick_leave_certificate SET "
        "first_start = (SELECT MIN(p.start) FROM sick_leave_period p WHERE p.certificate_id = "
        "sick_leave_certificate.certificate_id), "
        'last_end = (SELECT MAX(p."end") FROM sick_leave_period p WHERE p.certificate_id = '
        "sick_leave_certificate.certificate_id)"
    )
    op.create_index(
        "ix_sick_leave_unit_end", "sick_leave_certificate", ["care_giver_id", "care_unit_id", "last_end"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sick_leave_unit_end", table_name="sick_leave_certificate")
    # In place on SQLite too (3.35): rebuilding the table would cascade into the periods.
    op.execute("ALTER TABLE sick_leave_certificate DROP COLUMN last_end")
    op.execute("ALTER TABLE sick_leave_certificate DROP COLUMN first_start")
