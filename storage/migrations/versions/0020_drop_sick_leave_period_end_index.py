"""the index on a sick-leave period's end goes

Revision ID: 0020
Revises: 0019

No query looks periods up by their end: since 0016 and 0019 a unit's
certificates are narrowed by their span (ix_sick_leave_unit_span) and their
periods read by certificate (ix_sick_leave_period_certificate). The index on
``end`` alone was still written for every period of every sick-leave
certificate (three index entries per registration, each on a page of its
own in the write-ahead log) and took some 400 MB of a 10 million
certificate store.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_sick_leave_period_end", table_name="sick_leave_period")


def downgrade() -> None:
    op.create_index("ix_sick_leave_period_end", "sick_leave_period", ["end"], unique=False)
