"""Prepared statements on the driver's cursor store what Core would store, and fail the same way."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from intygsgw.domain.errors import AlreadyStored
from intygsgw.domain.records import CertificateRecord
from intygsgw.domain.states import State
from intygsgw.storage.db import make_engine
from intygsgw.storage.migrate import upgrade
from intygsgw.storage.models import CertificateRow, CertificateStateRow
from intygsgw.storage.prepared import PreparedStatement
from intygsgw.storage.uow import Store
from tests.support.databases import BOTH, database_url

SIGNED = dt.datetime(2026, 11, 2, 9, 30, 15)
RECEIVED = dt.datetime(2026, 11, 23, 10, 11, 12, 345678)


@pytest.fixture(params=BOTH)
def store(request, tmp_path):
    url = database_url(request, tmp_path, "prepared.db")
    engine = make_engine(url)
    upgrade(engine)
    yield Store(engine)
    engine.dispose()


def record(cid: str, **changes) -> CertificateRecord:
    values = dict(
        id=cid,
        type="lisjp",
        type_version="1.3",
        person_id="191212121212",
        signed_at=SIGNED,
        care_unit_id="SE-UNIT",
        care_unit_name="Vårdenhet Åsa",
        care_giver_id="SE-GIVER",
        doctor_id="SE-DOC",
        doctor_name="Läkare Örn",
        test_certificate=False,
        deleted_by_care_giver=False,
        received_at=RECEIVED,
    )
    values.update(changes)
    return CertificateRecord(**values)


def add(store: Store, cert: CertificateRecord) -> None:
    def job(uow):
        uow.certificates.add(cert, b"<intyg/>", {"p": "urn:x"})
        uow.certificates.add_state(cert.id, State.RECEIVED, "HSVARD", RECEIVED)

    store.write(job)


def test_rows_read_back_through_core_as_written(store):
    add(store, record("c-1", test_certificate=True))
    with store.reading() as uow:
        assert uow.certificates.get("c-1") == record("c-1", test_certificate=True)
        assert uow.certificates.document("c-1").document == b"<intyg/>"
        assert [(s.state, s.target, s.timestamp) for s in uow.certificates.states("c-1")] == [
            (State.RECEIVED, "HSVARD", RECEIVED)
        ]


def test_stored_text_matches_what_core_stores(store):
    # The same row once through Core and once prepared, read back as the
    # database holds it (plain SQL, no result processing): every column equal,
    # so dates and booleans went through the same bind processing.
    add(store, record("prepared"))
    with store.writing() as uow:
        uow.connection.execute(insert(CertificateRow), record("core").__dict__)
        uow.commit()
    with store.reading() as uow:
        rows = {
            r.id: r._asdict()
            for r in uow.connection.execute(text("SELECT * FROM certificate WHERE id IN ('prepared', 'core')"))
        }
    assert set(rows) == {"prepared", "core"}
    assert rows["prepared"] | {"id": "x"} == rows["core"] | {"id": "x"}
    assert rows["core"]["doctor_name"] == "Läkare Örn"


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_undoes_the_job(store):
    add(store, record("dup"))
    # The repository names the duplicate in domain terms; underneath, the
    # prepared statement raised what connection.execute would have.
    with pytest.raises(AlreadyStored) as refused:
        add(store, record("dup", doctor_name="Another"))
    assert isinstance(refused.value.__cause__, IntegrityError)
    with store.reading() as uow:
        assert uow.certificates.get("dup").doctor_name == "Läkare Örn"
        assert len(uow.certificates.states("dup")) == 1


def test_a_column_with_a_python_default_must_be_given():
    # certificate.test_certificate defaults in Python, which a prepared
    # statement would silently leave unbound: refused when compiled.
    with pytest.raises(ValueError, match="needs values for"):
        PreparedStatement(insert(CertificateRow), ["id"])._for(sqlite.dialect())
    # Columns without a Python-side default may be left out, as with connection.execute.
    partial = PreparedStatement(insert(CertificateStateRow), ["certificate_id", "state"])
    assert partial._for(sqlite.dialect()).sql.startswith("INSERT INTO certificate_state")


def test_a_start_that_migrates_serves_on_connections_opened_after_the_migrations(tmp_path):
    # The SQLite driver's statement cache keeps the statements used most, and a statement new to a
    # full cache is the first thrown out again. Connections that ran the migrations hold hundreds of
    # them, and on such a connection a registration prepared its every statement at every call.
    from intygsgw.app import build_services
    from intygsgw.config.settings import Settings

    services = build_services(Settings(db=f"sqlite:///{tmp_path / 'start.db'}"), migrate=True)
    engine = services.store.engine
    assert engine.pool.checkedin() == 0  # nothing kept from the migrations
    with services.store.reading() as uow:
        assert uow.certificates.documents(["none"]) == {}
    assert engine.pool.checkedin() == 1
    engine.dispose()


def test_a_select_by_keys_reads_what_core_reads_for_any_number_of_keys(store):
    from sqlalchemy import select

    from intygsgw.storage.models import CertificateDocumentRow
    from intygsgw.storage.prepared import PreparedSelectByKeys

    ids = [f"by-keys-{n}" for n in range(7)]
    for cid in ids:
        add(store, record(cid))
    columns = (CertificateDocumentRow.certificate_id, CertificateDocumentRow.document)
    by_keys = PreparedSelectByKeys(lambda keys: select(*columns).where(CertificateDocumentRow.certificate_id.in_(keys)))
    with store.reading() as uow:
        # 3 keys go padded to 4 with the last repeated: still each row once.
        for wanted in ([], ids[:1], ids[2:5], [*ids, "absent"], ids[4:7], ids[:1]):
            core = uow.connection.execute(select(*columns).where(CertificateDocumentRow.certificate_id.in_(wanted)))
            expected = sorted((cid, bytes(document)) for cid, document in core)
            got = sorted(by_keys.rows(uow.connection, wanted))
            assert got == expected
            assert all(type(document) is bytes for _, document in got)  # not hex text on PostgreSQL
    assert sorted(by_keys._by_size) == [1, 4, 8]  # 3 keys share the statement for 4; none for no keys
