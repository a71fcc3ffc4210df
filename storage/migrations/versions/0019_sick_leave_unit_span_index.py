"""a unit's patients on sick leave found from the index alone

Revision ID: 0019
Revises: 0018

The index on (care giver, unit, last end) narrowed a unit's certificates to
those ending late enough, but each one's start, gap flag and revocation were
then read from its row: 2,000 rows read at random for a unit with 2,000
patients on sick leave. With those columns, the patient and the certificate
(whose periods are read when its span has a gap) in the index, the patients
are found without reading a row: on a 10 million certificate store 3.7
against 0.7 ms on SQLite; on PostgreSQL (an index-only scan, once vacuumed)
3.7 against 1.0 ms at 300,000. It replaces the narrower index, whose
columns are its first three.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

SPAN_COLUMNS = [
    "care_giver_id",
    "care_unit_id",
    "last_end",
    "first_start",
    "gapless",
    "deleted",
    "patient_id",
    "certificate_id",
]


def upgrade() -> None:
    op.create_index("ix_sick_leave_unit_span", "sick_leave_certificate", SPAN_COLUMNS, unique=False)
    op.drop_index("ix_sick_leave_unit_end", table_name="sick_leave_certificate")


def downgrade() -> None:
    op.create_index(
        "ix_sick_leave_unit_end", "sick_leave_certificate", ["care_giver_id", "care_unit_id", "last_end"], unique=False
    )
    op.drop_index("ix_sick_leave_unit_span", table_name="sick_leave_certificate")
