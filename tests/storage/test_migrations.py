"""The Alembic migrations form one line, and they build exactly the tables the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as sa_inspect

from intygsgw.storage.db import make_engine
from intygsgw.storage.migrate import alembic_config, upgrade
from intygsgw.storage.models import Base


def _start_over(engine) -> None:
    """An empty database, whatever another test of the module (sharing the PostgreSQL one) left in it."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")


def _database_at(revision: str, database: str, request, tmp_path):
    """An engine on an empty SQLite file or the module's PostgreSQL database, migrated to ``revision``."""
    url = f"sqlite:///{tmp_path / 'at.db'}" if database == "sqlite" else request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    _start_over(engine)
    upgrade(engine, revision)
    return engine


def _read_both_ways(revision: str, previous: str, read, database: str, request, tmp_path):
    """``read(engine)`` on a database at ``revision``, and again once it is downgraded to ``previous``."""
    engine = _database_at(revision, database, request, tmp_path)
    try:
        at_revision = read(engine)
        _downgrade(engine, previous)
        return at_revision, read(engine)
    finally:
        engine.dispose()


def _downgrade(engine, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def _sick_leave_row() -> dict:
    """A sick-leave row's columns as every revision since 0017 has them, but the certificate id and the flags."""
    import datetime as dt

    return {
        "patient_id": "191212121212", "patient_name": "Tolvan", "care_giver_id": "SE-G", "care_unit_id": "SE-U",
        "care_unit_name": "Enheten", "doctor_id": "SE-D", "doctor_name": "Doktor",
        "signed_at": dt.datetime(2026, 12, 1, 10), "diagnosis": "M544", "secondary_diagnoses": "", "employment": "",
    }  # fmt: skip


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


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_sick_leave_rows_lose_their_key_to_the_certificate_table_and_keep_their_data(database, request, tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    engine = _database_at("0011", database, request, tmp_path)
    row = {
        "patient_id": "191212121212",
        "patient_name": "Tolvan",
        "care_giver_id": "SE-G",
        "care_unit_id": "SE-U",
        "care_unit_name": "Enheten",
        "doctor_id": "SE-D",
        "doctor_name": "Doktor",
        "signed_at": dt.datetime(2026, 12, 1, 10),
        "diagnosis": "M544",
        "secondary_diagnoses": "",
        "employment": "",
        "deleted": False,
    }
    meta = sa.MetaData()
    with engine.begin() as conn:
        cert = sa.Table("certificate", meta, autoload_with=conn)
        conn.execute(
            cert.insert(),
            {
                "id": "kept",
                "type": "lisjp",
                "type_version": "1.3",
                "person_id": "191212121212",
                "signed_at": row["signed_at"],
                "care_unit_id": "SE-U",
                "care_unit_name": "Enheten",
                "care_giver_id": "SE-G",
                "doctor_id": "SE-D",
                "doctor_name": "Doktor",
                "test_certificate": False,
                "deleted_by_care_giver": False,
                "received_at": row["signed_at"],
            },
        )
        conn.execute(
            sa.Table("sick_leave_certificate", meta, autoload_with=conn).insert(), {"certificate_id": "kept", **row}
        )
        periods = sa.Table("sick_leave_period", meta, autoload_with=conn)
        conn.execute(
            periods.insert(),
            [
                {"id": 7, "certificate_id": "kept", "start": dt.date(2026, 12, 1), "end": dt.date(2026, 12, 9), "grade": 100},
                {"id": 9, "certificate_id": "kept", "start": dt.date(2026, 12, 10), "end": dt.date(2026, 12, 20), "grade": 50},
            ],
        )  # fmt: skip
    upgrade(engine)
    with engine.begin() as conn:
        sl = sa.Table("sick_leave_certificate", sa.MetaData(), autoload_with=conn)
        conn.execute(sl.insert(), {"certificate_id": "only-in-cs", **row})  # refused by the key before 0012
        kept = conn.exec_driver_sql("SELECT id, grade FROM sick_leave_period ORDER BY id").all()
        assert [tuple(r) for r in kept] == [(7, 100), (9, 50)]
        # The periods keep their key to the sick-leave row.
        conn.exec_driver_sql("DELETE FROM sick_leave_certificate WHERE certificate_id = 'kept'")
        assert conn.exec_driver_sql("SELECT count(*) FROM sick_leave_period").scalar() == 0
    _downgrade(engine, "0011")
    with engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT certificate_id FROM sick_leave_certificate")]
    engine.dispose()
    assert ids == []  # the row without a certificate could not stay under the key again


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_queued_outbox_items_keep_their_payload_when_it_moves_to_its_own_table(database, request, tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    from intygsgw.storage.outbox import OutboxRepository

    engine = _database_at("0012", database, request, tmp_path)
    now = dt.datetime(2026, 12, 5, 12, 0)
    with engine.begin() as conn:
        outbox = sa.Table("outbox", sa.MetaData(), autoload_with=conn)
        conn.execute(
            outbox.insert(),
            {
                "id": 41, "destination": "ns|fkassa", "contract": "ns", "logical_address": "FKASSA", "kind": "revoke",
                "reference": "c-1", "payload": b"<Revoke>\xc3\xa5</Revoke>", "state": "PENDING", "attempts": 0,
                "next_attempt_at": now, "correlation_id": "k", "created_at": now, "updated_at": now,
            },
        )  # fmt: skip
    upgrade(engine)
    with engine.begin() as conn:
        item = OutboxRepository(conn).get(41)
        [claimed] = OutboxRepository(conn).claim("ns|fkassa", now, dt.timedelta(minutes=1), "w/1", 10)
        apart = conn.execute(sa.text("SELECT payload FROM outbox_payload WHERE outbox_id = 41")).scalar()
        in_row = conn.execute(sa.text("SELECT payload FROM outbox WHERE id = 41")).scalar()
    engine.dispose()
    assert item is not None and item.payload == b"<Revoke>\xc3\xa5</Revoke>" and claimed.payload == item.payload
    # Moved by 0013; the item-row column that 0017 brings back for small new payloads stays empty.
    assert bytes(apart) == item.payload and in_row is None


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_hours_that_name_each_person_are_built_from_the_entries_already_logged(database, request, tmp_path):
    import datetime as dt

    from intygsgw.domain.records import AccessEntry
    from intygsgw.storage.access_log import AccessLogRepository, verify_chain

    engine = _database_at("0014", database, request, tmp_path)
    at = dt.datetime(2026, 12, 5, 12, 10)
    logged = [("191212121212", 0), ("", 0), ("194910302487", 5), ("191212121212", 30), ("191212121212", 70)]
    entries = [
        AccessEntry(at + dt.timedelta(minutes=m), "SE-C", "", "", "ns", "LA", p, (f"c-{i}",), "OK")
        for i, (p, m) in enumerate(logged)
    ]
    with engine.begin() as conn:
        _log_as_before_0022(conn, entries)  # as 0014 had them: no hours table, no persons column
    upgrade(engine)
    with engine.begin() as conn:
        log = AccessLogRepository(conn)
        ann = [s.entry.certificate_ids for s in log.entries(person_id="191212121212")]
        hours = conn.exec_driver_sql("SELECT person_id, hour FROM access_log_person ORDER BY person_id, hour").all()
        assert verify_chain(log).ok
    engine.dispose()
    assert ann == [("c-0",), ("c-3",), ("c-4",)]
    assert [(p, str(h)[:13]) for p, h in hours] == [
        ("191212121212", "2026-12-05 12"),
        ("191212121212", "2026-12-05 13"),
        ("194910302487", "2026-12-05 12"),
    ]


def _log_as_before_0022(conn, entries) -> None:
    """``entries`` chained into an access log that has no persons column (one person per entry)."""
    import json

    import sqlalchemy as sa

    from intygsgw.storage.access_log import GENESIS, entry_hash

    prev = GENESIS
    for seq, e in enumerate(entries, start=1):
        assert not e.persons
        h = entry_hash(prev, seq, e)
        conn.execute(
            sa.text(
                "INSERT INTO access_log (seq, at, caller, original_consumer, acting_on_behalf, contract, "
                "logical_address, person_id, certificate_ids, outcome, prev_hash, hash) VALUES (:seq, :at, :caller, "
                ":original_consumer, :acting_on_behalf, :contract, :logical_address, :person_id, :ids, :outcome, "
                ":prev, :hash)"
            ),
            {**e._asdict(), "seq": seq, "ids": json.dumps(list(e.certificate_ids)), "prev": prev, "hash": h},
        )
        prev = h
    conn.execute(sa.text("UPDATE access_log_head SET seq = :seq, hash = :hash"), {"seq": len(entries), "hash": prev})


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_each_sick_leave_row_gets_its_span_and_a_gap_in_it_is_still_no_sick_leave(database, request, tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    from intygsgw.storage.sick_leave import SickLeaveRepository

    engine = _database_at("0015", database, request, tmp_path)
    row = {
        "patient_name": "Tolvan", "care_giver_id": "SE-G", "care_unit_id": "SE-U", "care_unit_name": "Enheten",
        "doctor_id": "SE-D", "doctor_name": "Doktor", "signed_at": dt.datetime(2026, 12, 1, 10), "diagnosis": "M544",
        "secondary_diagnoses": "", "employment": "", "deleted": False,
    }  # fmt: skip
    with engine.begin() as conn:
        meta = sa.MetaData()
        sl = sa.Table("sick_leave_certificate", meta, autoload_with=conn)
        periods = sa.Table("sick_leave_period", meta, autoload_with=conn)
        conn.execute(sl.insert(), [{"certificate_id": "gap", "patient_id": "191212121212", **row},
                                   {"certificate_id": "whole", "patient_id": "194910302487", **row}])  # fmt: skip
        conn.execute(
            periods.insert(),
            [
                {"certificate_id": "gap", "start": dt.date(2026, 12, 1), "end": dt.date(2026, 12, 4), "grade": 100},
                {"certificate_id": "gap", "start": dt.date(2026, 12, 10), "end": dt.date(2026, 12, 20), "grade": 50},
                {"certificate_id": "whole", "start": dt.date(2026, 12, 1), "end": dt.date(2026, 12, 20), "grade": 25},
            ],
        )
    upgrade(engine)
    with engine.begin() as conn:
        spans = conn.exec_driver_sql(
            "SELECT certificate_id, first_start, last_end FROM sick_leave_certificate ORDER BY certificate_id"
        ).all()
        # 6 December lies within both spans, but in the gap between the first certificate's periods.
        on_the_6th = SickLeaveRepository(conn).for_units("SE-G", ["SE-U"], dt.date(2026, 12, 6), dt.date(2026, 12, 6))
    engine.dispose()
    as_dates = [(cid, dt.date.fromisoformat(str(a)[:10]), dt.date.fromisoformat(str(b)[:10])) for cid, a, b in spans]
    assert as_dates == [("gap", dt.date(2026, 12, 1), dt.date(2026, 12, 20)),
                        ("whole", dt.date(2026, 12, 1), dt.date(2026, 12, 20))]  # fmt: skip
    assert [c.certificate_id for c in on_the_6th] == ["whole"]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_going_back_before_0017_moves_small_payloads_apart_and_keeps_every_item_whole(database, request, tmp_path):
    import datetime as dt

    from intygsgw.storage.outbox import OutboxRepository

    engine = _database_at("head", database, request, tmp_path)
    now = dt.datetime(2026, 12, 5, 12, 0)
    small, large = b'{"queue": "certificate.queue"}\n', b"<x>" + b"a" * 2000 + b"</x>"
    with engine.begin() as conn:
        for reference, payload in (("small", small), ("large", large)):
            OutboxRepository(conn).enqueue(
                contract="ns", logical_address="FKASSA", kind="revoke", reference=reference,
                payload=payload, correlation_id="k", now=now,
            )  # fmt: skip
    _downgrade(engine, "0016")
    with engine.connect() as conn:
        moved = {
            r[0]: bytes(r[1])
            for r in conn.exec_driver_sql(
                "SELECT o.reference, p.payload FROM outbox o JOIN outbox_payload p ON p.outbox_id = o.id"
            )
        }
        columns = {c["name"] for c in sa_inspect(conn).get_columns("outbox")}
        indexes = {i["name"] for i in sa_inspect(conn).get_indexes("outbox")}
    engine.dispose()
    assert moved == {"small": small, "large": large}
    assert "payload" not in columns and "ix_outbox_due" in indexes


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_stored_sick_leave_rows_learn_whether_their_periods_leave_a_gap(database, request, tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    from intygsgw.domain.sick_leave import WorkCapacity, without_gaps

    engine = _database_at("0017", database, request, tmp_path)
    d = lambda day: dt.date(2026, 12, day)  # noqa: E731
    cases = {
        "single": [(1, 20)],
        "back-to-back": [(1, 4), (5, 20)],
        "overlapping, out of order": [(5, 20), (1, 10)],
        "nested then adjoining": [(1, 10), (3, 4), (11, 12)],
        "gap of a day": [(1, 4), (6, 20)],
        "gap after a nested one": [(1, 10), (2, 3), (12, 20)],
        "no periods": [],
    }
    row = {**_sick_leave_row(), "deleted": False}
    with engine.begin() as conn:
        meta = sa.MetaData()
        sl = sa.Table("sick_leave_certificate", meta, autoload_with=conn)
        periods = sa.Table("sick_leave_period", meta, autoload_with=conn)
        for cid, spans in cases.items():
            conn.execute(sl.insert(), {"certificate_id": cid, **row,
                                       "first_start": min((d(a) for a, _ in spans), default=None),
                                       "last_end": max((d(b) for _, b in spans), default=None)})  # fmt: skip
            for a, b in spans:
                conn.execute(periods.insert(), {"certificate_id": cid, "start": d(a), "end": d(b), "grade": 100})
    upgrade(engine)
    with engine.connect() as conn:
        flags = dict(conn.exec_driver_sql("SELECT certificate_id, gapless FROM sick_leave_certificate").all())
    expected = {cid: without_gaps(WorkCapacity(d(a), d(b), 100) for a, b in spans) for cid, spans in cases.items()}
    assert {cid: bool(flag) for cid, flag in flags.items()} == expected
    assert [cid for cid, whole in expected.items() if not whole] == [
        "gap of a day", "gap after a nested one", "no periods"
    ]  # fmt: skip
    _downgrade(engine, "0017")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("sick_leave_certificate")}
    engine.dispose()
    assert "gapless" not in columns and "last_end" in columns


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_unit_span_index_replaces_the_narrower_one_and_gives_it_back_on_the_way_down(database, request, tmp_path):
    def indexes(engine) -> dict[str, list[str]]:
        with engine.connect() as conn:
            found = sa_inspect(conn).get_indexes("sick_leave_certificate")
        return {i["name"]: list(i["column_names"]) for i in found if i["name"].startswith("ix_sick_leave_unit_")}

    at_0019, at_0018 = _read_both_ways("0019", "0018", indexes, database, request, tmp_path)
    assert at_0019 == {
        "ix_sick_leave_unit_patient": ["care_giver_id", "care_unit_id", "patient_id"],
        "ix_sick_leave_unit_signed": ["care_unit_id", "signed_at"],
        "ix_sick_leave_unit_span": [
            "care_giver_id", "care_unit_id", "last_end", "first_start", "gapless", "deleted", "patient_id",
            "certificate_id",
        ],
    }  # fmt: skip
    assert at_0018 == {
        "ix_sick_leave_unit_patient": ["care_giver_id", "care_unit_id", "patient_id"],
        "ix_sick_leave_unit_signed": ["care_unit_id", "signed_at"],
        "ix_sick_leave_unit_end": ["care_giver_id", "care_unit_id", "last_end"],
    }


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_period_end_index_is_dropped_and_comes_back_on_the_way_down(database, request, tmp_path):
    def indexes(engine) -> dict[str, list[str]]:
        with engine.connect() as conn:
            return {i["name"]: list(i["column_names"]) for i in sa_inspect(conn).get_indexes("sick_leave_period")}

    at_0020, at_0019 = _read_both_ways("0020", "0019", indexes, database, request, tmp_path)
    assert at_0020 == {"ix_sick_leave_period_certificate": ["certificate_id"]}
    assert at_0019 == {"ix_sick_leave_period_certificate": ["certificate_id"], "ix_sick_leave_period_end": ["end"]}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_outbox_reference_index_leaves_broker_events_out_from_0026_and_takes_them_back_on_the_way_down(
    database, request, tmp_path
):
    def definition(engine) -> str:
        query = (
            "SELECT sql FROM sqlite_master WHERE name = 'ix_outbox_reference'"
            if engine.dialect.name == "sqlite"
            else "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_outbox_reference'"
        )
        with engine.connect() as conn:
            return conn.exec_driver_sql(query).scalar_one()

    at_0026, at_0025 = _read_both_ways("0026", "0025", definition, database, request, tmp_path)
    assert "reference" in at_0026 and "'event'" in at_0026 and "<>" in at_0026
    assert "reference" in at_0025 and "WHERE" not in at_0025.upper()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_unread_signer_and_reply_to_indexes_are_dropped_and_come_back_on_the_way_down(database, request, tmp_path):
    def indexes(engine) -> dict[str, dict[str, list[str]]]:
        with engine.connect() as conn:
            inspector = sa_inspect(conn)
            return {
                # Named ones only: PostgreSQL also lists the index behind message_id's unique constraint.
                table: {
                    i["name"]: list(i["column_names"])
                    for i in inspector.get_indexes(table)
                    if i["name"].startswith("ix_")
                }
                for table in ("certificate_signature", "message")
            }

    at_0021, at_0020 = _read_both_ways("0021", "0020", indexes, database, request, tmp_path)
    assert at_0021 == {
        "certificate_signature": {},
        "message": {"ix_message_certificate": ["certificate_id", "state"]},
    }
    assert at_0020 == {
        "certificate_signature": {"ix_certificate_signature_signer": ["signer_hsa_id"]},
        "message": {"ix_message_certificate": ["certificate_id", "state"], "ix_message_reply_to": ["reply_to"]},
    }


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_entries_logged_before_the_persons_column_still_verify_and_a_downgrade_keeps_entries_that_need_it(
    database, request, tmp_path
):
    import datetime as dt

    import sqlalchemy as sa

    from intygsgw.domain.records import AccessEntry
    from intygsgw.storage.access_log import AccessLogRepository, verify_chain

    at = dt.datetime(2026, 12, 5, 12, 10)
    before = [
        AccessEntry(at, "SE-C", "", "", "ns", "LA", p, (f"c-{i}",), "OK") for i, p in enumerate(("191212121212", ""))
    ]
    engine = _database_at("0021", database, request, tmp_path)
    try:
        with engine.begin() as conn:
            _log_as_before_0022(conn, before)
        upgrade(engine)
        several = AccessEntry(
            at, "SE-C", "", "", "ns", "LA", "", (), "OK", (("191212121212", ("c-2",)), ("194910302487", ()))
        )
        with engine.begin() as conn:
            AccessLogRepository(conn).append([several])
        with engine.connect() as conn:
            log = AccessLogRepository(conn)
            assert verify_chain(log).ok
            assert [s.entry for s in log.entries()] == [*before, several]
        with pytest.raises(RuntimeError, match="1 access-log entries name several persons"):
            _downgrade(engine, "0021")
        with engine.connect() as conn:  # the refused downgrade left the column and the entry
            assert conn.execute(sa.text("SELECT count(*) FROM access_log WHERE persons <> ''")).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_persons_column_goes_on_the_way_down_when_no_entry_needs_it(database, request, tmp_path):
    def columns(engine):
        return {c["name"] for c in sa_inspect(engine).get_columns("access_log")}

    at_0022, at_0021 = _read_both_ways("0022", "0021", columns, database, request, tmp_path)
    assert at_0022 - at_0021 == {"persons"}


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_stored_sick_leave_rows_learn_whether_a_standing_certificate_replaces_them(database, request, tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    engine = _database_at("0022", database, request, tmp_path)
    row = {**_sick_leave_row(), "gapless": True}
    revoked = {"revoked replacer"}
    certificates = [
        "replaced", "replacer", "completed", "completer", "extended", "extender", "behind a revoked one",
        "revoked replacer", "behind one without a row", "on its own",
    ]  # fmt: skip
    relations = [
        ("replacer", "replaced", "ERSATT"),
        ("completer", "completed", "KOMPLT"),
        ("extender", "extended", "FRLANG"),  # extends: hides nothing
        ("revoked replacer", "behind a revoked one", "ERSATT"),
        ("not a sick-leave certificate", "behind one without a row", "ERSATT"),
    ]
    with engine.begin() as conn:
        meta = sa.MetaData()
        sl = sa.Table("sick_leave_certificate", meta, autoload_with=conn)
        relation = sa.Table("relation", meta, autoload_with=conn)
        for cid in certificates:
            conn.execute(sl.insert(), {"certificate_id": cid, **row, "deleted": cid in revoked})
        for from_id, to_id, code in relations:
            conn.execute(relation.insert(), {"from_id": from_id, "to_id": to_id, "code": code,
                                             "created_at": dt.datetime(2026, 12, 2)})  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        flags = dict(conn.exec_driver_sql("SELECT certificate_id, replaced FROM sick_leave_certificate").all())
    assert {cid for cid, flag in flags.items() if flag} == {"replaced", "completed"}
    assert set(flags) == set(certificates)
    _downgrade(engine, "0022")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("sick_leave_certificate")}
    engine.dispose()
    assert "replaced" not in columns and "gapless" in columns


def test_on_sqlite_the_listing_migration_regroups_the_rows_through_several_files_by_unit(tmp_path, monkeypatch):
    import datetime as dt
    import itertools
    import random

    import sqlalchemy as sa

    migration = ScriptDirectory.from_config(alembic_config()).get_revision("0024").module
    monkeypatch.setattr(migration, "_ROWS_PER_FILE", 50)  # 1,000 rows: twenty files

    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    table = sa.Table(
        "sick_leave_certificate",
        sa.MetaData(),
        *(sa.Column(name, sa.String) for name in ("certificate_id", "patient_id", "care_giver_id", "care_unit_id")),
        sa.Column("signed_at", sa.DateTime),
        sa.Column("listed_item", sa.Text),
    )
    rng = random.Random(7)
    stored = [
        (f"c{i}", f"p{rng.randrange(40)}", f"g{rng.randrange(3)}", f"u{rng.randrange(15)}", f"<i{i}/>")
        for i in range(1_000)
    ]
    signed = dt.datetime(2026, 12, 1, 10)
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(
            table.insert(),
            [dict(zip(("certificate_id", "patient_id", "care_giver_id", "care_unit_id", "listed_item"), row,
                      strict=True), signed_at=signed) for row in stored],
        )  # fmt: skip
        rows = list(migration._regrouped(conn, sa.select(table.c.care_giver_id, table.c.care_unit_id,
                    table.c.patient_id, table.c.certificate_id, table.c.signed_at, table.c.listed_item)))  # fmt: skip
    engine.dispose()

    assert sorted(r[3] for r in rows) == sorted(r[0] for r in stored)  # every row, once
    assert {r[4] for r in rows} == {"2026-12-01 10:00:00.000000"}
    runs = [key for key, _ in itertools.groupby(rows, key=lambda r: (r[0], r[1], r[2]))]
    assert len(runs) == len(set(runs))  # each patient's rows together
    units = [key for key, _ in itertools.groupby(rows, key=lambda r: (r[0], r[1]))]
    assert len(units) == len(set(units))  # and each unit whole, its patients in order
    assert all([r[2] for r in rows if r[:2] == unit] == sorted(r[2] for r in rows if r[:2] == unit) for unit in units)
    assert not list(tmp_path.glob(".intygsgw-0024-*"))  # the files are gone


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_the_listing_rows_are_built_from_the_stored_rows_as_the_gateway_builds_them(database, request, tmp_path):
    import datetime as dt
    import json

    import sqlalchemy as sa

    from intygsgw.storage.sick_leave import _ids as stored_ids
    from intygsgw.storage.sick_leave import _unpacked as stored_items
    from intygsgw.storage.sick_leave import relist

    engine = _database_at("0023", database, request, tmp_path)
    signed = dt.datetime(2026, 12, 1, 10)
    rows = [
        # (id, unit, patient, minutes after `signed`, item, deleted, replaced)
        ("later", "SE-U", "191212121212", 60, "<a/>", False, False),
        ("earlier", "SE-U", "191212121212", 0, "<b>å</b>", False, False),
        ("revoked", "SE-U", "191212121212", 5, "<r/>", True, False),
        ("replaced", "SE-U", "191212121212", 6, "<x/>", False, True),
        ("without item", "SE-U2", "191212121212", 0, None, False, False),
        ("[bracketed", "SE-U3", "191212121212", 0, "<j/>", False, False),
        ("only revoked", "SE-U", "201212121212", 0, "<q/>", True, False),
    ]
    # More rows than the migration reads at a time, three per patient, so that one patient's come
    # in two batches; and a patient with more certificates than a listing row holds.
    rows += [
        (f"p{p:04d}-{i}", "SE-U", f"1940{p:04d}0000", i, f"<p{p}.{i}/>", False, False)
        for p in range(1_700)
        for i in range(3)
    ]
    rows += [(f"many-{i:03d}", "SE-U", "194004048888", i, f"<m{i}/>", False, False) for i in range(101)]
    with engine.begin() as conn:
        sl = sa.Table("sick_leave_certificate", sa.MetaData(), autoload_with=conn)
        conn.execute(
            sl.insert(),
            [
                {**_sick_leave_row(), "certificate_id": cid, "care_unit_id": unit, "patient_id": patient,
                 "signed_at": signed + dt.timedelta(minutes=minutes), "listed_item": item, "deleted": deleted,
                 "replaced": replaced, "gapless": True}
                for cid, unit, patient, minutes, item, deleted, replaced in rows
            ],
        )  # fmt: skip
    reads: list[tuple[str, object]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT") and "listed_item" in statement:
            reads.append((statement, parameters))

    upgrade(engine)
    sa.event.remove(engine, "before_cursor_execute", capture)
    if database == "sqlite":
        # Read once from end to end: neither in the index's order (a random page read per row, from
        # disk on a store larger than memory) nor sorted by SQLite (in memory, whatever its size).
        ((read, parameters),) = reads
        with engine.connect() as conn:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + read, parameters)]
        assert plan == ["SCAN sick_leave_certificate"]

    def listings() -> dict:
        with engine.connect() as conn:
            return {
                (giver, unit, patient): (
                    None if ids is None else stored_ids(ids),
                    None if keys is None else json.loads(keys),
                    stored_items(None if items is None else bytes(items)),
                )
                for giver, unit, patient, ids, keys, items in conn.exec_driver_sql(
                    "SELECT care_giver_id, care_unit_id, patient_id, certificate_ids, item_keys, listed_items"
                    " FROM sick_leave_listing"
                )
            }

    migrated = listings()
    assert len(migrated) == 4 + 1_700
    with engine.connect() as conn:
        forms = {
            bytes(items)[:1]
            for (items,) in conn.exec_driver_sql(
                "SELECT listed_items FROM sick_leave_listing WHERE listed_items IS NOT NULL"
            )
        }
    assert forms == ({b"\x01"} if database == "postgres" else {b"<"})  # compressed on PostgreSQL only, as relist writes
    assert migrated[("SE-G", "SE-U3", "191212121212")][0] == ["[bracketed"]
    if database == "postgres":  # the items compressed with lz4, which the Debian server has
        with engine.connect() as conn:
            method = conn.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute"
                " WHERE attrelid = 'sick_leave_listing'::regclass AND attname = 'listed_items'"
            ).scalar()
        assert method == "l"
    assert migrated[("SE-G", "SE-U", "191212121212")] == (
        ["earlier", "later"],
        [["2026-12-01 10:00:00.000000", len("<b>å</b>".encode())], ["2026-12-01 11:00:00.000000", 4]],
        "<b>å</b><a/>".encode(),
    )
    assert migrated[("SE-G", "SE-U2", "191212121212")] == (["without item"], [["2026-12-01 10:00:00.000000", 0]], None)
    assert all(
        migrated[("SE-G", "SE-U", f"1940{p:04d}0000")][0] == [f"p{p:04d}-{i}" for i in range(3)]
        and migrated[("SE-G", "SE-U", f"1940{p:04d}0000")][2] == "".join(f"<p{p}.{i}/>" for i in range(3)).encode()
        for p in range(1_700)
    )
    assert migrated[("SE-G", "SE-U", "194004048888")] == (None, None, None)  # read certificate by certificate
    # What the gateway's own writes build for the same rows.
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM sick_leave_listing")
        relist(conn, [("SE-G", unit, patient) for _, unit, patient, *_ in rows])
    assert listings() == migrated
    _downgrade(engine, "0023")
    tables = set(sa_inspect(engine).get_table_names())
    engine.dispose()
    assert "sick_leave_listing" not in tables and "sick_leave_certificate" in tables


def test_on_postgresql_the_access_logs_lists_are_compressed_with_lz4_from_0025_and_with_the_default_before(request):
    def methods(engine) -> dict[str, str]:
        with engine.connect() as conn:
            return dict(
                conn.exec_driver_sql(
                    "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'access_log'::regclass"
                    " AND attname IN ('certificate_ids', 'persons')"
                ).all()
            )

    at_0025, at_0024 = _read_both_ways("0025", "0024", methods, "postgres", request, None)
    assert at_0025 == {"certificate_ids": "l", "persons": "l"}  # the Debian server is built with lz4
    assert at_0024 == {"certificate_ids": "", "persons": ""}


def test_on_postgresql_certificate_documents_are_compressed_with_lz4_from_0027_and_with_the_default_before(request):
    def method(engine) -> str:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute WHERE attrelid = 'certificate_document'::regclass"
                " AND attname = 'document'"
            ).scalar_one()

    at_0027, at_0026 = _read_both_ways("0027", "0026", method, "postgres", request, None)
    assert at_0027 == "l"  # the Debian server is built with lz4
    assert at_0026 == ""
