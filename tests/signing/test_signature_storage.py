"""The signature verdict table: migrated, written with its certificate, gone when the certificate is deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.script import ScriptDirectory

from intygsgw.domain.records import CertificateRecord, SignatureRecord
from intygsgw.domain.states import HSVARD, State
from intygsgw.storage.db import make_engine
from intygsgw.storage.migrate import alembic_config, current_revision, upgrade
from intygsgw.storage.uow import Store
from tests.support.databases import BOTH, database_url


@pytest.fixture(params=BOTH)
def store(request, tmp_path):
    url = database_url(request, tmp_path, "sig.db")
    engine = make_engine(url)
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


def test_verdict_round_trip_and_delete(store):
    # Upgraded to the single head, which lies past 0006 (the signature table).
    script = ScriptDirectory.from_config(alembic_config())
    assert current_revision(store.engine) == script.get_current_head()
    assert "0006" in {r.revision for r in script.iterate_revisions(script.get_current_head(), "base")}
    now = dt.datetime(2026, 11, 23, 8, 0, 0)
    record = CertificateRecord(
        id="sig-store-1",
        type="lisjp",
        type_version="1.3",
        person_id="191212121212",
        signed_at=now,
        care_unit_id="U",
        care_unit_name="Unit",
        care_giver_id="G",
        doctor_id="D",
        doctor_name="Doctor",
        received_at=now,
    )
    verdict = SignatureRecord(
        certificate_id="sig-store-1",
        policy="require",
        signed=True,
        valid=True,
        signer_subject="SERIALNUMBER=SE2321000016-1R2F,CN=Ingrid Nilsson Läkare,O=Test,C=SE",
        signer_hsa_id="SE2321000016-1R2F",
        verified_at=now,
    )
    with store.writing() as uow:
        uow.certificates.add(record, b"<r:RegisterCertificate/>", {})
        uow.certificates.add_state(record.id, State.RECEIVED, HSVARD, now)
        uow.signatures.add(verdict)
        uow.commit()
    with store.reading() as uow:
        assert uow.signatures.get("sig-store-1") == verdict
        assert uow.signatures.get("other") is None
    with store.writing() as uow:
        uow.certificates.delete("sig-store-1")  # the verdict goes first: the foreign key holds on PostgreSQL
        uow.commit()
    with store.reading() as uow:
        assert uow.signatures.get("sig-store-1") is None
        assert uow.certificates.get("sig-store-1") is None
