"""A full disk: every call refused says so, nothing answered OK is lost, and the gateway carries on once there is room.

The disk is "full" by SQLite's own page cap (``PRAGMA max_page_count``), which
fails a write with the same error, SQLITE_FULL, as a disk without space.
"""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest
from sqlalchemy import event

from intygsgw.app import build_app
from intygsgw.config.settings import Settings
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.storage.db import connect_sqlite

NO_CAP = 2_147_483_646


def test_a_full_disk_refuses_registrations_loses_no_ok_answer_and_passes(tmp_path, caplog):
    db = tmp_path / "gw.db"
    gw = build_app(Settings(db=f"sqlite:///{db}"), migrate=True)
    cap: dict[str, int | None] = {"pages": None}

    @event.listens_for(gw.dispatcher.services.store.engine, "checkout")
    def _cap(dbapi_connection, _record, _proxy):
        dbapi_connection.execute(f"PRAGMA max_page_count = {cap['pages'] or NO_CAP}").close()

    answers: dict[str, tuple[str, str, str]] = {}

    def register(certificate_id: str) -> str:
        spec = CertificateSpec(certificate_id=certificate_id, person_id="191212121212")
        body = gw.dispatcher.handle(samples.register_certificate(spec)).body.decode()
        code, text, error_id = (
            re.search(f"<core:{tag}>([^<]*)<", body) for tag in ("resultCode", "resultText", "errorId")
        )
        assert code is not None, body
        answers[certificate_id] = (code[1], text[1] if text else "", error_id[1] if error_id else "")
        return code[1]

    assert [register(f"room-{n}") for n in range(3)] == ["OK"] * 3
    with connect_sqlite(db) as con:
        cap["pages"] = con.execute("PRAGMA page_count").fetchone()[0]
    with caplog.at_level(logging.ERROR, logger="intygsgw.http.dispatch"):
        full = [f"full-{n}" for n in range(40)]
        for certificate_id in full:
            register(certificate_id)
    refused = [c for c in full if answers[c][0] != "OK"]
    assert refused, "the capped database never filled"
    for certificate_id in refused:
        code, text, error_id = answers[certificate_id]
        assert (code, error_id) == ("ERROR", "TECHNICAL_ERROR")
        assert re.fullmatch(r"Temporary (database )?error, try again \(reference [0-9a-f-]{36}\)", text), text
    told = [r for r in caplog.records if r.name == "intygsgw.http.dispatch"]
    assert told and all(": the database's disk is full (database or disk is full)" in r.getMessage() for r in told)
    assert all(r.exc_info is None for r in told)  # one line each, no traceback

    cap["pages"] = None
    assert [register(f"again-{n}") for n in range(3)] == ["OK"] * 3
    with connect_sqlite(db) as con:
        stored = {row[0] for row in con.execute("SELECT id FROM certificate")}
    assert {c for c, (code, _, _) in answers.items() if code == "OK"} <= stored
    assert not stored & set(refused)


def test_what_stops_the_database_for_every_call_is_told_from_either_database_and_nothing_else_is():
    import psycopg.errors
    from sqlalchemy.exc import IntegrityError, OperationalError

    from intygsgw.storage.db import DISK_FULL, OUT_OF_REACH, outage

    def wrapped(error: Exception) -> OperationalError:
        return OperationalError("INSERT …", {}, error)

    assert outage(wrapped(psycopg.errors.DiskFull("could not extend file"))) == DISK_FULL
    assert outage(wrapped(psycopg.errors.AdminShutdown("terminating connection"))) == OUT_OF_REACH
    assert outage(wrapped(psycopg.OperationalError("connection failed: Connection refused"))) == OUT_OF_REACH
    assert outage(IntegrityError("INSERT …", {}, psycopg.errors.UniqueViolation("duplicate key"))) is None
    with sqlite3.connect(":memory:") as con:
        con.execute("PRAGMA max_page_count = 1")
        try:
            con.execute("CREATE TABLE t (v)")
            con.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,)] * 10)
        except sqlite3.OperationalError as exc:
            full = exc
        with pytest.raises(sqlite3.OperationalError) as missing:
            con.execute("SELECT * FROM no_such_table")
    assert outage(full) == DISK_FULL and outage(missing.value) is None and outage(ValueError("disk is full")) is None


def test_a_damaged_sqlite_file_is_told_apart(tmp_path):
    from intygsgw.storage.db import DAMAGED, SQLITE_DRIVER, outage

    path = tmp_path / "d.db"
    con = connect_sqlite(path)
    con.execute("CREATE TABLE t (v)")
    con.executemany("INSERT INTO t VALUES (?)", [(b"x" * 400,)] * 200)
    con.commit()
    con.close()
    with open(path, "r+b") as f:  # page 2, the table's first page, overwritten
        f.seek(4096)
        f.write(b"\xff" * 4096)
    con = connect_sqlite(path)
    with pytest.raises(SQLITE_DRIVER.DatabaseError) as malformed:
        con.execute("SELECT count(*) FROM t").fetchall()
    con.close()
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 400)
    con = connect_sqlite(notes)
    with pytest.raises(SQLITE_DRIVER.DatabaseError) as not_a_db:
        con.execute("SELECT * FROM sqlite_master").fetchall()
    con.close()
    assert outage(malformed.value) == DAMAGED and outage(not_a_db.value) == DAMAGED
