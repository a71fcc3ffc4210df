"""each sick-leave certificate's list item, rendered once when it is written

Revision ID: 0014
Revises: 0013

A unit's sick-leave list runs to thousands of certificates, and every one of
them looks the same in every answer until it is revoked or replaced. The item
is stored with the row; rows written before this revision have none and are
rendered when read, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sick_leave_certificate", sa.Column("listed_item", sa.Text(), nullable=True))


def downgrade() -> None:
    # In place on SQLite too (3.35): rebuilding the table would cascade into the periods.
    op.execute("ALTER TABLE sick_leave_certificate DROP COLUMN listed_item")
