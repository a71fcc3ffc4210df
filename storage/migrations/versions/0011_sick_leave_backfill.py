"""back-fill the sick-leave tables from the certificates stored before they existed

Revision ID: 0011
Revises: 0010

Reads each stored certificate of a type whose shipped catalogue entry feeds
sick leave, with the same reader registration uses, in batches so that a
large database is never in memory at once. A revoked certificate's rows are
written deleted. Validation persons are not known here (they are a setting);
the sick-leave selection leaves them out when it reads.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    from lxml import etree

    from intygsgw.rules.catalog import load_catalog
    from intygsgw.rules.sick_leave_fields import read_sick_leave
    from intygsgw.soap.source import standalone_document

    conn = op.get_bind()
    meta = sa.MetaData()
    cert = sa.Table("certificate", meta, autoload_with=conn)
    doc = sa.Table("certificate_document", meta, autoload_with=conn)
    state = sa.Table("certificate_state", meta, autoload_with=conn)
    sl = sa.Table("sick_leave_certificate", meta, autoload_with=conn)
    period = sa.Table("sick_leave_period", meta, autoload_with=conn)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for ctype in load_catalog():
        if ctype.sick_leave_data is None:
            continue
        after = ""
        while True:
            rows = (
                conn.execute(
                    sa.select(cert, doc.c.document, doc.c.namespaces)
                    .join(doc, doc.c.certificate_id == cert.c.id)
                    .where(
                        cert.c.type == ctype.id,
                        cert.c.id > after,
                        cert.c.test_certificate.is_(False),
                        ~sa.exists().where(sl.c.certificate_id == cert.c.id),
                    )
                    .order_by(cert.c.id)
                    .limit(BATCH)
                )
                .mappings()
                .all()
            )
            if not rows:
                break
            after = rows[-1]["id"]
            revoked = {
                r[0]
                for r in conn.execute(
                    sa.select(state.c.certificate_id).where(
                        state.c.certificate_id.in_([r["id"] for r in rows]), state.c.state == "CANCELLED"
                    )
                )
            }
            for row in rows:
                _backfill_one(
                    conn,
                    sl,
                    period,
                    row,
                    row["id"] in revoked,
                    ctype.sick_leave_data,
                    parser,
                    read_sick_leave,
                    standalone_document,
                )


def _backfill_one(conn, sl, period, row, revoked, fields, parser, read_sick_leave, standalone_document) -> None:
    from lxml import etree

    if row["signed_at"] is None:
        return
    try:
        register = etree.fromstring(standalone_document(bytes(row["document"]), json.loads(row["namespaces"])), parser)[
            0
        ]
    except (etree.XMLSyntaxError, IndexError, ValueError):
        return  # a damaged document: the lists leave it out, as registration would have refused it
    intyg = next((c for c in register if isinstance(c.tag, str) and etree.QName(c).localname == "intyg"), None)
    answers = read_sick_leave(intyg, fields) if intyg is not None else None
    if answers is None:
        return
    conn.execute(
        sl.insert(),
        {
            "certificate_id": row["id"],
            "patient_id": row["person_id"],
            "patient_name": answers.patient_name[:255],
            "care_giver_id": row["care_giver_id"],
            "care_unit_id": row["care_unit_id"],
            "care_unit_name": row["care_unit_name"],
            "doctor_id": row["doctor_id"],
            "doctor_name": row["doctor_name"],
            "signed_at": row["signed_at"],
            "diagnosis": answers.diagnosis[:64],
            "secondary_diagnoses": ",".join(answers.secondary_diagnoses)[:255],
            "employment": ",".join(answers.employment)[:255],
            "deleted": revoked,
        },
    )
    conn.execute(
        period.insert(),
        [{"certificate_id": row["id"], "start": p.start, "end": p.end, "grade": p.grade} for p in answers.periods],
    )


def downgrade() -> None:
    op.execute("DELETE FROM sick_leave_period")
    op.execute("DELETE FROM sick_leave_certificate")
