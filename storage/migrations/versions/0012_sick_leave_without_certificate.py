"""sick-leave rows no longer need a stored certificate: the certificate-service's certificates have none here

Revision ID: 0012
Revises: 0011

A certificate signed in the certificate-service stays there; the hub keeps only
its sick-leave row (hub-behaviour §3.7), so the row's key can no longer point
at the certificate table. Erasing a certificate already removes its sick-leave
rows by name rather than through the cascade.

SQLite cannot drop a constraint, and with foreign keys on (the gateway turns
them on for every connection, and a migration runs inside a transaction where
that cannot change) dropping the old table would cascade into the periods. So
the periods are set aside first, both tables rebuilt, and the periods put back
with their ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_CERTIFICATE_COLUMNS = (
    "certificate_id, patient_id, patient_name, care_giver_id, care_unit_id, care_unit_name, doctor_id, "
    "doctor_name, signed_at, diagnosis, secondary_diagnoses, employment, deleted"
)


def _certificate_table(name: str, *, with_certificate_key: bool) -> None:
    keys = [sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"], ondelete="CASCADE")]
    op.create_table(
        name,
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=255), nullable=False),
        sa.Column("care_giver_id", sa.String(length=64), nullable=False),
        sa.Column("care_unit_id", sa.String(length=64), nullable=False),
        sa.Column("care_unit_name", sa.String(length=255), nullable=False),
        sa.Column("doctor_id", sa.String(length=64), nullable=False),
        sa.Column("doctor_name", sa.String(length=255), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("diagnosis", sa.String(length=64), nullable=False),
        sa.Column("secondary_diagnoses", sa.String(length=255), nullable=False),
        sa.Column("employment", sa.String(length=255), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        *(keys if with_certificate_key else []),
        sa.PrimaryKeyConstraint("certificate_id"),
    )


def _period_table(name: str, *, with_key: bool) -> None:
    keys = [sa.ForeignKeyConstraint(["certificate_id"], ["sick_leave_certificate.certificate_id"], ondelete="CASCADE")]
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("certificate_id", sa.String(length=128), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        *(keys if with_key else []),
        sa.PrimaryKeyConstraint("id"),
    )


def _indexes() -> None:
    op.create_index(
        "ix_sick_leave_unit_patient", "sick_leave_certificate", ["care_giver_id", "care_unit_id", "patient_id"]
    )
    op.create_index("ix_sick_leave_patient", "sick_leave_certificate", ["patient_id"])
    op.create_index("ix_sick_leave_period_certificate", "sick_leave_period", ["certificate_id"])
    op.create_index("ix_sick_leave_period_end", "sick_leave_period", ["end"])


def _rebuild_sqlite(*, with_certificate_key: bool) -> None:
    _certificate_table("sick_leave_certificate_rebuilt", with_certificate_key=with_certificate_key)
    op.execute(
        f"INSERT INTO sick_leave_certificate_rebuilt ({_CERTIFICATE_COLUMNS}) "
        f"SELECT {_CERTIFICATE_COLUMNS} FROM sick_leave_certificate"
    )
    _period_table("sick_leave_period_aside", with_key=False)
    op.execute(
        'INSERT INTO sick_leave_period_aside (id, certificate_id, start, "end", grade) '
        'SELECT id, certificate_id, start, "end", grade FROM sick_leave_period'
    )
    op.drop_table("sick_leave_period")
    op.drop_table("sick_leave_certificate")
    op.rename_table("sick_leave_certificate_rebuilt", "sick_leave_certificate")
    _period_table("sick_leave_period", with_key=True)
    op.execute(
        'INSERT INTO sick_leave_period (id, certificate_id, start, "end", grade) '
        'SELECT id, certificate_id, start, "end", grade FROM sick_leave_period_aside'
    )
    op.drop_table("sick_leave_period_aside")
    _indexes()


def _certificate_key_names() -> list[str]:
    keys = sa.inspect(op.get_bind()).get_foreign_keys("sick_leave_certificate")
    return [k["name"] for k in keys if k["referred_table"] == "certificate" and k["name"]]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_certificate_key=False)
    else:
        for name in _certificate_key_names():
            op.drop_constraint(name, "sick_leave_certificate", type_="foreignkey")
    # A unit known only from certificate-service certificates is found by its sick-leave rows.
    op.create_index("ix_sick_leave_unit_signed", "sick_leave_certificate", ["care_unit_id", "signed_at"])


def downgrade() -> None:
    op.drop_index("ix_sick_leave_unit_signed", "sick_leave_certificate")
    # Rows of certificates the hub does not hold would break the key: they go first.
    op.execute("DELETE FROM sick_leave_period WHERE certificate_id NOT IN (SELECT id FROM certificate)")
    op.execute("DELETE FROM sick_leave_certificate WHERE certificate_id NOT IN (SELECT id FROM certificate)")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_certificate_key=True)
        return
    op.create_foreign_key(
        "sick_leave_certificate_certificate_id_fkey",
        "sick_leave_certificate",
        "certificate",
        ["certificate_id"],
        ["id"],
        ondelete="CASCADE",
    )
