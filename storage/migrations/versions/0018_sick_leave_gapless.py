"""whether a sick-leave certificate's periods leave no gap in its span

Revision ID: 0018
Revises: 0017

A unit's patients on sick leave were found by their certificates' spans and
then by a period covering the days asked for, one period lookup per
certificate. Most certificates' periods follow each other without a gap; for
those the span alone answers, and the flag says which they are. Stored rows
are classified here from their periods: a period that starts later than the
first must begin at most a day after an earlier-starting one ends.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sick_leave_certificate",
        sa.Column("gapless", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    day_before = "date(p.start, '-1 day')" if op.get_bind().dialect.name == "sqlite" else "p.start - 1"
    op.execute(
        "UPDATE sick_leave_certificate SET gapless = (first_start IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM sick_leave_period p WHERE p.certificate_id = sick_leave_certificate.certificate_id "
        "AND p.start > sick_leave_certificate.first_start AND NOT EXISTS ("
        "SELECT 1 FROM sick_leave_period q WHERE q.certificate_id = p.certificate_id "
        f'AND q.start < p.start AND q."end" >= {day_before})))'
    )


def downgrade() -> None:
    # In place on SQLite too (3.35): rebuilding the table would cascade into the periods.
    op.execute("ALTER TABLE sick_leave_certificate DROP COLUMN gapless")
