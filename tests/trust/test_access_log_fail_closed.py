"""If the access log cannot be written, no patient data leaves and no change stays."""

from __future__ import annotations

import pytest

from intygsgw.app import build_app
from intygsgw.config.settings import Settings
from intygsgw.devtools.samples import CertificateSpec, get_certificate, register_certificate
from intygsgw.storage.db import connect_sqlite


@pytest.fixture
def app(tmp_path):
    db = tmp_path / "gw.db"
    return build_app(Settings(db=f"sqlite:///{db}"), migrate=True), db


def _break_the_chain_head(db):
    with connect_sqlite(db) as conn:
        conn.execute("DELETE FROM access_log_head")


def test_read_is_withheld_when_it_cannot_be_logged(app):
    gw, db = app
    answer = gw.dispatcher.handle(register_certificate(CertificateSpec(certificate_id="fc-1")))
    assert b"<core:resultCode>OK</core:resultCode>" in answer.body
    assert gw.dispatcher.handle(get_certificate("fc-1")).status == 200
    _break_the_chain_head(db)
    answer = gw.dispatcher.handle(get_certificate("fc-1"))
    assert answer.status == 500 and b"Temporary error, try again" in answer.body
    assert b"fc-1" not in answer.body and b"191212121212" not in answer.body


def test_change_is_undone_when_it_cannot_be_logged(app):
    gw, db = app
    _break_the_chain_head(db)
    answer = gw.dispatcher.handle(register_certificate(CertificateSpec(certificate_id="fc-2")))
    assert b"<core:resultCode>ERROR</core:resultCode>" in answer.body
    with connect_sqlite(db) as conn:
        assert conn.execute("SELECT count(*) FROM certificate WHERE id = 'fc-2'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM access_log").fetchone()[0] == 0


def test_type_info_is_not_patient_data(app):
    gw, db = app
    from intygsgw.devtools.samples import get_certificate_type_info

    gw.dispatcher.handle(register_certificate(CertificateSpec(certificate_id="fc-3")))
    assert gw.dispatcher.handle(get_certificate_type_info("fc-3")).status == 200
    with connect_sqlite(db) as conn:
        contracts = [r[0] for r in conn.execute("SELECT contract FROM access_log ORDER BY seq")]
    assert len(contracts) == 1 and contracts[0].endswith("RegisterCertificateResponder:3")


def test_relations_are_logged_under_the_patient(app):
    gw, db = app
    from intygsgw.devtools.samples import list_relations_for_certificate

    gw.dispatcher.handle(register_certificate(CertificateSpec(certificate_id="fc-4")))
    assert gw.dispatcher.handle(list_relations_for_certificate(("fc-4", "fc-unknown"))).status == 200
    with connect_sqlite(db) as conn:
        rows = conn.execute(
            "SELECT person_id, certificate_ids, persons FROM access_log WHERE contract LIKE "
            "'%ListRelationsForCertificate%' ORDER BY seq"
        ).fetchall()
    # One entry for the call: the patient with their certificate, and the id of nobody known.
    assert rows == [("", '["fc-unknown"]', '{"191212121212":["fc-4"]}')]


def test_a_read_whose_log_entry_the_database_refused_is_withheld_as_a_database_error(app):
    gw, db = app
    gw.dispatcher.handle(register_certificate(CertificateSpec(certificate_id="fc-db")))
    with connect_sqlite(db) as conn:
        conn.execute("DROP TABLE access_log")  # the database now refuses every log entry
    answer = gw.dispatcher.handle(get_certificate("fc-db"))
    assert answer.status == 500 and b"Temporary database error, try again" in answer.body
    assert b"fc-db" not in answer.body and b"191212121212" not in answer.body
