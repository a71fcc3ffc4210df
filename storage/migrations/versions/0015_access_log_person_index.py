"""the access log's index by person, written in batches behind the log

Revision ID: 0015
Revises: 0014

The index on (person_id, at) made every logged call write one index page per
patient it named when it committed: a sick-leave listing of 2,000 patients
wrote some 2,000 pages, whatever else it did. The person index is now a table
of its own that a background job fills in sorted batches; the entries it has
not reached yet are read from the log itself.
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
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("person_id", "seq"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "access_log_index_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("indexed_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO access_log_person (person_id, seq) SELECT person_id, seq FROM access_log WHERE person_id <> ''"
    )
    op.execute("INSERT INTO access_log_index_state (id, indexed_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM access_log")
    op.drop_index("ix_access_log_person_at", table_name="access_log")


def downgrade() -> None:
    op.create_index("ix_access_log_person_at", "access_log", ["person_id", "at"], unique=False)
    op.drop_table("access_log_index_state")
    op.drop_table("access_log_person")
