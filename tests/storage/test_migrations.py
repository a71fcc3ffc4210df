"""The Alembic migrations form one line, and they build exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from intygsgw.storage.db import make_engine
from intygsgw.storage.migrate import alembic_config, upgrade
from intygsgw.storage.models import Base


def test_there_is_exactly_one_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migration heads {heads}: chain the newest revision after the others"


def test_migrated_schema_matches_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_the_sick_leave_tables_are_back_filled_from_certificates_stored_before_them(tmp_path):
    import datetime as dt

    from lxml import etree

    from intygsgw.devtools import samples
    from intygsgw.devtools.samples import CertificateSpec
    from intygsgw.domain.records import CertificateRecord
    from intygsgw.domain.states import HSVARD, State
    from intygsgw.interactions import REGISTER_CERTIFICATE_3
    from intygsgw.soap.source import element_source
    from intygsgw.storage.repository import CertificateRepository
    from intygsgw.storage.sick_leave import SickLeaveRepository

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0009")  # a database from before the sick-leave tables
    signed = dt.datetime(2026, 11, 20, 10, 15)
    with engine.begin() as conn:
        repo = CertificateRepository(conn)
        for cid, type_id in (("old-lisjp", "lisjp"), ("old-revoked", "lisjp"), ("old-db", "db")):
            raw = samples.register_certificate(CertificateSpec(certificate_id=cid))
            body = etree.fromstring(raw).find(f".//{{{REGISTER_CERTIFICATE_3.namespace}}}RegisterCertificate")
            source = element_source(raw, body)
            repo.add(
                CertificateRecord(
                    cid,
                    type_id,
                    "1.3",
                    "191212121212",
                    signed,
                    "SE-UNIT",
                    "Enheten",
                    "SE-GIVER",
                    "SE-DOC",
                    "Doktor Ek",
                    received_at=signed,
                ),
                source.xml,
                source.inherited_namespaces,
            )
            repo.add_state(cid, State.RECEIVED, HSVARD, signed)
        repo.add_state("old-revoked", State.CANCELLED, HSVARD, signed + dt.timedelta(days=1))
    upgrade(engine)
    with engine.connect() as conn:
        rows = SickLeaveRepository(conn).of_patient("191212121212", include_deleted=True)
    engine.dispose()
    by_id = {cert.certificate_id: (cert, deleted) for cert, deleted in rows}
    assert set(by_id) == {"old-lisjp", "old-revoked"}  # a death certificate feeds no sick leave
    assert by_id["old-revoked"][1] and not by_id["old-lisjp"][1]
    cert = by_id["old-lisjp"][0]
    assert (cert.diagnosis, cert.care_unit_id, len(cert.periods)) == ("M544", "SE-UNIT", 2)
