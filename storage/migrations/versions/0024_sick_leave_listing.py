"""one listing row per patient and unit: the unit's sick-leave list reads a row per patient

Revision ID: 0024
Revises: 0023

ListActiveSickLeavesForCareUnit read one row per certificate: for a unit with
2,000 patients on sick leave, 6,000 rows that lie on as many pages among 10
million, and 7.6 MB of items taken from them. The listing row holds what the
list shows of one patient on one unit (the certificates neither revoked nor
replaced, in list order, their items joined), so the list reads 2,000 rows.
The gateway keeps it up to date with every write to the rows it is derived
from; here it is built once from the rows as they stand (on SQLite through
files next to the database, as large as the items: see _regrouped).

On PostgreSQL the items are stored compressed with lz4 behind a mark byte, as
the gateway writes them there. This revision's first form stored them as they
are; rows written so are read as they stand and compressed at their next change.
"""

from __future__ import annotations

import json
import marshal
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import lz4.block
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_BATCH = 5_000
# On SQLite the rows are regrouped through files of about this many rows each (see _regrouped).
_ROWS_PER_FILE = 200_000
_MAX_FILES = 500
# intygsgw.storage.sick_leave.LISTED_AT_MOST at this revision: a patient with more certificates than
# this to list on a unit gets a row that says only so, and is read certificate by certificate.
_LISTED_AT_MOST = 100


def _ids_text(ids: list[str]) -> str:
    # As intygsgw.storage.sick_leave stores them at this revision: separated by U+001F, which no XML
    # text holds, or a JSON list when that would be ambiguous.
    if ids[0].startswith("[") or any("\x1f" in cid for cid in ids):
        return json.dumps(ids)
    return "\x1f".join(ids)


def _packed(items: bytes) -> bytes:
    # As intygsgw.storage.sick_leave stores a listing row's items at this revision.
    return b"\x01" + lz4.block.compress(items, store_size=True)


def upgrade() -> None:
    op.create_table(
        "sick_leave_listing",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("care_giver_id", sa.String(64), nullable=False),
        sa.Column("care_unit_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("certificate_ids", sa.Text(), nullable=True),
        sa.Column("item_keys", sa.Text(), nullable=True),
        sa.Column("listed_items", sa.LargeBinary(), nullable=True),
    )
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        # lz4 where the server has it (PostgreSQL 14 and later, built with it), for rows whose items
        # are stored as they are (see above): with pglz, PostgreSQL's default, fetching 2,000 such
        # rows took 30 ms against 22.
        try:
            with bind.begin_nested():
                bind.exec_driver_sql("ALTER TABLE sick_leave_listing ALTER COLUMN listed_items SET COMPRESSION lz4")
        except sa.exc.DBAPIError:
            pass
    listing = sa.table(
        "sick_leave_listing",
        *(sa.column(name) for name in ("care_giver_id", "care_unit_id", "patient_id", "certificate_ids", "item_keys")),
        sa.column("listed_items", sa.LargeBinary),
    )
    rows = sa.table(
        "sick_leave_certificate",
        sa.column("certificate_id", sa.String),
        sa.column("patient_id", sa.String),
        sa.column("care_giver_id", sa.String),
        sa.column("care_unit_id", sa.String),
        sa.column("signed_at", sa.DateTime),
        sa.column("listed_item", sa.Text),
        sa.column("deleted", sa.Boolean),
        sa.column("replaced", sa.Boolean),
    )
    query = sa.select(
        rows.c.care_giver_id,
        rows.c.care_unit_id,
        rows.c.patient_id,
        rows.c.certificate_id,
        rows.c.signed_at,
        rows.c.listed_item,
    ).where(rows.c.deleted.is_(False), rows.c.replaced.is_(False))
    if postgresql:
        in_key_order = _streamed(bind, query.order_by(rows.c.care_giver_id, rows.c.care_unit_id, rows.c.patient_id))
    else:
        in_key_order = _regrouped(bind, query)
    # Written in batches as the patients complete.
    built: list[dict] = []
    key: tuple | None = None
    listed: list[tuple] = []

    def close_patient() -> None:
        if key is not None:
            giver, unit, patient = key
            row = {"care_giver_id": giver, "care_unit_id": unit, "patient_id": patient}
            if len(listed) > _LISTED_AT_MOST:
                built.append({**row, "certificate_ids": None, "item_keys": None, "listed_items": None})
                return
            # In list order as Python compares (signing time, then id), whatever the database's collation.
            listed.sort()
            ids = [certificate_id for _, certificate_id, _ in listed]
            keys = [[signed, len(data) if data is not None else 0] for signed, _, data in listed]
            items = None if any(data is None for _, _, data in listed) else b"".join(d for _, _, d in listed)
            if items is not None and postgresql:
                items = _packed(items)
            built.append(
                {**row, "certificate_ids": _ids_text(ids), "item_keys": json.dumps(keys), "listed_items": items}
            )

    for giver, unit, patient, certificate_id, signed, item in in_key_order:
        if (giver, unit, patient) != key:
            close_patient()
            key, listed = (giver, unit, patient), []
            if len(built) >= _BATCH:
                bind.execute(listing.insert(), built)
                built = []
        listed.append((signed, certificate_id, item.encode() if item is not None else None))
    close_patient()
    if built:
        bind.execute(listing.insert(), built)
    op.create_index(
        "ix_sick_leave_listing_patient",
        "sick_leave_listing",
        ["care_giver_id", "care_unit_id", "patient_id"],
        unique=True,
    )


def _streamed(bind, query) -> Iterator[tuple]:
    """The rows of ``query`` with their signing time as the listing's keys write it."""
    # On the statement: a connection's execution_options would stay with it for the statements after.
    result = bind.execute(query.execution_options(stream_results=True, yield_per=_BATCH))
    for batch in result.partitions():
        for giver, unit, patient, certificate_id, signed_at, item in batch:
            yield giver, unit, patient, certificate_id, signed_at.isoformat(sep=" ", timespec="microseconds"), item


def _regrouped(bind, query) -> Iterator[tuple]:
    """The rows of ``query`` with each (care giver, unit, patient)'s together, units whole, in key order
    within each file.

    Read in the index's order, SQLite fetched the rows one random page at a time: a disk read per
    row once the store is larger than memory (56 minutes at 10 million). Sorted by SQLite itself, the
    whole table was sorted in memory (14 GB at 10 million: the driver's SQLite keeps its temporary
    files in memory). So the table is read once from end to end and each row written to one of
    several files by its unit, next to the database where the space for it is; then each file, a
    few hundred megabytes, is read back and sorted on its own.
    """
    total = bind.exec_driver_sql("SELECT count(*) FROM sick_leave_certificate").scalar() or 0
    files = max(1, min(_MAX_FILES, -(-total // _ROWS_PER_FILE)))
    database = bind.engine.url.database
    near = Path(database).resolve().parent if database and database != ":memory:" else None
    with tempfile.TemporaryDirectory(prefix=".intygsgw-0024-", dir=near) as folder:
        paths = [Path(folder) / str(i) for i in range(files)]
        outs = [path.open("wb") for path in paths]
        try:
            for row in _streamed(bind, query):
                unit_key = f"{row[0]}\x1f{row[1]}".encode()
                marshal.dump(row, outs[zlib.crc32(unit_key) % files])
        finally:
            for out in outs:
                out.close()
        for path in paths:
            rows = []
            with path.open("rb") as f:
                while True:
                    try:
                        rows.append(marshal.load(f))
                    except EOFError:
                        break
            path.unlink()
            rows.sort(key=lambda r: (r[0], r[1], r[2]))
            yield from rows


def downgrade() -> None:
    op.drop_table("sick_leave_listing")
