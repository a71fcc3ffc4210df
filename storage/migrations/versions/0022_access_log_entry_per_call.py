"""an access-log entry per call: the persons of a call that named several

Revision ID: 0022
Revises: 0021

A call was logged as one entry per person it named. A unit's sick-leave list
names 2,000 patients, so every listing wrote 2,000 rows, 2,000 hashes and
about 0.8 MB to the log. A call is now one entry; one that names several
persons has them, each with their certificates, in ``persons`` (a JSON
object, empty text otherwise). Entries written before stay as they are and
still verify: the hashed text has the persons only where there are some.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("access_log", sa.Column("persons", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    # Without the column such an entry would lose its persons and no longer match its hash.
    if op.get_bind().dialect.name == "postgresql":
        # A gateway still running must not log such an entry between the count and the drop
        # (SQLite's migration already holds the only write lock).
        op.execute("LOCK TABLE access_log IN SHARE MODE")
    several = op.get_bind().execute(sa.text("SELECT count(*) FROM access_log WHERE persons <> ''")).scalar()
    if several:
        raise RuntimeError(
            f"{several} access-log entries name several persons; without the persons column they would "
            "no longer verify, so this downgrade stops here"
        )
    op.drop_column("access_log", "persons")
