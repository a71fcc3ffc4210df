"""whether a sick-leave certificate is replaced or completed by a standing one

Revision ID: 0023
Revises: 0022

The lists leave out a certificate replaced or completed (ERSATT, KOMPLT) by a
sick-leave certificate that is not revoked. That was asked of the relations
once per certificate while a unit's list was read: 6,000 index probes for a
2,000-patient unit, about half of PostgreSQL's time on the query with 10
million certificates stored. The answer is now kept on the row and derived
again when a relation, a newer row or its revocation changes. Stored rows get
it here from the relations as they stand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sick_leave_certificate",
        sa.Column("replaced", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    rows = sa.table(
        "sick_leave_certificate",
        sa.column("certificate_id", sa.String),
        sa.column("deleted", sa.Boolean),
        sa.column("replaced", sa.Boolean),
    )
    relation = sa.table("relation", sa.column("from_id", sa.String), sa.column("to_id", sa.String), sa.column("code"))
    newer = rows.alias("newer")
    replaced = (
        sa.select(relation.c.to_id)
        .join(newer, newer.c.certificate_id == relation.c.from_id)
        .where(relation.c.code.in_(["ERSATT", "KOMPLT"]), newer.c.deleted.is_(False))
    )
    op.execute(rows.update().where(rows.c.certificate_id.in_(replaced)).values(replaced=True))


def downgrade() -> None:
    # In place on SQLite too (3.35): rebuilding the table would cascade into the periods.
    op.execute("ALTER TABLE sick_leave_certificate DROP COLUMN replaced")
