"""certificates, states, documents and relations

Revision ID: 0001
Revises:
Create Date: 2026-11-23 01:31:48.815676
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("type_version", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=12), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("care_unit_id", sa.String(length=64), nullable=False),
        sa.Column("care_unit_name", sa.String(length=255), nullable=False),
        sa.Column("care_giver_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_name", sa.String(length=255), nullable=False),
        sa.Column("test_certificate", sa.Boolean(), nullable=False),
        sa.Column("deleted_by_care_giver", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index("ix_certificate_giver", ["care_giver_id"], unique=False)
        batch_op.create_index("ix_certificate_person_type_signed", ["person_id", "type", "signed_at"], unique=False)
        batch_op.create_index("ix_certificate_unit_signed", ["care_unit_id", "signed_at"], unique=False)

    op.create_table(
        "relation",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("from_id", sa.String(length=128), nullable=False),
        sa.Column("to_id", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("relation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relation_from_id"), ["from_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_relation_to_id"), ["to_id"], unique=False)

    op.create_table(
        "certificate_document",
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("namespaces", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_table(
        "certificate_state",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("certificate_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_state_certificate_id"), ["certificate_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificate_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_state_certificate_id"))

    op.drop_table("certificate_state")
    op.drop_table("certificate_document")
    with op.batch_alter_table("relation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relation_to_id"))
        batch_op.drop_index(batch_op.f("ix_relation_from_id"))

    op.drop_table("relation")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index("ix_certificate_unit_signed")
        batch_op.drop_index("ix_certificate_person_type_signed")
        batch_op.drop_index("ix_certificate_giver")

    op.drop_table("certificate")
