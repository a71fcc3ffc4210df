"""the access log is found by person through the hours that name them

Revision ID: 0015
Revises: 0014

The index on (person_id, at) made every logged call write one index page per
patient it named when it committed: a sick-leave listing of 2,000 patients
wrote some 2,000 pages, whatever else it did, and a unit's list is read again
and again. access_log_person keeps one row per person and hour, written with
the entries and left alone when it is there already; a person's entries are
read from those hours through ix_access_log_at.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log_person",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "hour"),
        sqlite_with_rowid=False,
    )
    # The hour as each database stores a DateTime (SQLite: SQLAlchemy's text form).
    hour = (
        "strftime('%Y-%m-%d %H:00:00.000000', at)"
        if op.get_bind().dialect.name == "sqlite"
        else "date_trunc('hour', at)"
    )
    op.execute(
        f"INSERT INTO access_log_person (person_id, hour) SELECT DISTINCT person_id, {hour} FROM access_log "
        "WHERE person_id <> ''"
    )
    op.drop_index("ix_access_log_person_at", table_name="access_log")


def downgrade() -> None:
    op.create_index("ix_access_log_person_at", "access_log", ["person_id", "at"], unique=False)
    op.drop_table("access_log_person")
