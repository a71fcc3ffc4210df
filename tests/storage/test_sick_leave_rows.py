"""Sick-leave rows on the real databases: written with the certificate, marked deleted by a revocation."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from intygsgw.app import build_services
from intygsgw.config.settings import Settings
from intygsgw.domain.results import OK
from intygsgw.domain.sick_leave import SickLeaveCertificate, WorkCapacity
from intygsgw.service import certificates as lifecycle
from intygsgw.storage import sick_leave as sick_leave_storage
from intygsgw.storage.sick_leave import relist
from tests.service.test_sick_leave_data import command
from tests.support.databases import BOTH, database_url, sqlite_statements

PATIENT = "191212121212"


@pytest.fixture(params=BOTH)
def services(request, tmp_path):
    url = database_url(request, tmp_path, "sl.db")
    made = build_services(Settings(db=url), migrate=True)
    with made.store.writing() as uow:
        uow.connection.exec_driver_sql("DELETE FROM sick_leave_period")
        uow.connection.exec_driver_sql("DELETE FROM sick_leave_certificate")
        uow.connection.exec_driver_sql("DELETE FROM sick_leave_listing")
        uow.commit()
    yield made
    made.store.engine.dispose()


def test_registration_writes_the_rows_and_revocation_marks_them(services):
    cid = f"sl-db-{dt.datetime.now().timestamp()}"
    assert lifecycle.register_certificate(services, command(cid)) == OK
    with services.store.reading() as uow:
        [(cert, deleted)] = uow.sick_leave.of_patient(PATIENT)
    assert not deleted and cert.certificate_id == cid
    assert (cert.diagnosis, cert.secondary_diagnoses, cert.employment) == ("M544", ("G479",), ("NUVARANDE_ARBETE",))
    assert cert.periods == (
        WorkCapacity(dt.date(2026, 11, 20), dt.date(2026, 12, 3), 100),
        WorkCapacity(dt.date(2026, 12, 4), dt.date(2026, 12, 31), 50),
    )
    assert lifecycle.revoke_certificate(services, cid, PATIENT) == OK
    with services.store.reading() as uow:
        assert uow.sick_leave.of_patient(PATIENT) == []
        [(_, deleted)] = uow.sick_leave.of_patient(PATIENT, include_deleted=True)
    assert deleted


def test_the_units_selection_hides_replaced_certificates_and_other_units(services):
    stamp = dt.datetime.now().timestamp()
    old, new, other = f"sel-old-{stamp}", f"sel-new-{stamp}", f"sel-other-{stamp}"
    assert lifecycle.register_certificate(services, command(old)) == OK
    assert lifecycle.register_certificate(services, command(new, relation=("KOMPLT", old))) == OK
    assert lifecycle.register_certificate(services, command(other, unit="SE-UNIT-2")) == OK
    today, since = dt.date(2026, 12, 1), dt.date(2026, 12, 1)
    with services.store.reading() as uow:
        assert [c.certificate_id for c in uow.sick_leave.for_units("SE-GIVER-1", ["SE-UNIT-1"], today, since)] == [new]
        # Long after every period ended, nobody is active, so nothing is selected.
        assert uow.sick_leave.for_units("SE-GIVER-1", ["SE-UNIT-1"], dt.date(2027, 6, 1), dt.date(2027, 6, 1)) == []
    assert lifecycle.revoke_certificate(services, new, PATIENT) == OK
    with services.store.reading() as uow:
        assert [c.certificate_id for c in uow.sick_leave.for_units("SE-GIVER-1", ["SE-UNIT-1"], today, since)] == [old]


def test_a_certificate_service_row_needs_no_certificate_and_goes_with_its_care_provider(services):
    from intygsgw.service.care_provider import erase_care_provider

    stamp = dt.datetime.now().timestamp()
    giver, unit = f"SE-CS-GIVER-{stamp}", f"SE-CS-UNIT-{stamp}"
    row = SickLeaveCertificate(
        certificate_id=f"cs-only-{stamp}",
        patient_id=PATIENT,
        patient_name="Tolvan Tolvansson",
        care_giver_id=giver,
        care_unit_id=unit,
        care_unit_name="Enheten",
        doctor_id="SE-DOC",
        doctor_name="Doktor Ek",
        signed_at=dt.datetime(2026, 12, 1, 10, 0),
        diagnosis="M544",
        periods=(WorkCapacity(dt.date(2026, 12, 1), dt.date(2026, 12, 20), 100),),
    )
    with services.store.writing() as uow:
        uow.sick_leave.add(row)  # no certificate row: the certificate stays in the certificate-service
        uow.commit()
    with services.store.reading() as uow:
        # A unit known from such rows alone still has a care giver, so its list is not empty.
        assert uow.sick_leave.care_giver_of_unit(unit) == giver
        assert [c.certificate_id for c in uow.sick_leave.for_patient(PATIENT)] == [row.certificate_id]
    assert erase_care_provider(services, giver) == 0  # no certificates of its own
    with services.store.reading() as uow:
        assert uow.sick_leave.of_patient(PATIENT, include_deleted=True) == []
        assert uow.connection.exec_driver_sql("SELECT count(*) FROM sick_leave_period").scalar() == 0


def test_the_list_item_is_stored_with_the_row_and_a_row_without_one_lists_the_same(services):
    import dataclasses

    from intygsgw.handlers.rehab_items import render_intygs_data
    from intygsgw.service.sick_leave import unit_items

    stamp = dt.datetime.now().timestamp()
    first, second = f"item-a-{stamp}", f"item-b-{stamp}"
    for cid in (first, second):
        assert lifecycle.register_certificate(services, command(cid)) == OK
    today = dt.date(2026, 12, 1)
    with services.store.reading() as uow:
        listing = uow.sick_leave.unit_listing("SE-GIVER-1", ["SE-UNIT-1"], today, today)
        certificates = uow.sick_leave.certificates([first, second])
    assert [(patient, ids) for patient, ids, _ in listing] == [(PATIENT, [first, second])]
    assert listing[0][2] == b"".join(render_intygs_data(c).encode() for c in certificates)

    on_the_day = dataclasses.replace(services, clock=lambda: dt.datetime(2026, 12, 1, 12, 0))
    stored = unit_items(on_the_day, "SE-UNIT-1")
    # As a row written before migration 0014 has it (and its listing, built from it, then has none).
    with services.store.writing() as uow:
        uow.connection.exec_driver_sql(
            "UPDATE sick_leave_certificate SET listed_item = NULL WHERE certificate_id = %s"
            if uow.connection.dialect.name == "postgresql"
            else "UPDATE sick_leave_certificate SET listed_item = NULL WHERE certificate_id = ?",
            (first,),
        )
        relist(uow.connection, [("SE-GIVER-1", "SE-UNIT-1", PATIENT)])
        uow.commit()
    with services.store.reading() as uow:
        assert uow.sick_leave.unit_listing("SE-GIVER-1", ["SE-UNIT-1"], today, today) == [
            (PATIENT, [first, second], None)
        ]
    assert unit_items(on_the_day, "SE-UNIT-1") == stored
    assert stored == ("SE-GIVER-1", [listing[0][2]])


def test_on_postgresql_a_listing_row_keeps_its_items_compressed_and_a_row_stored_as_they_are_lists_the_same(
    services,
):
    # Migration 0024's first form stored a listing row's items as they are, and SQLite still does:
    # such rows are read as they stand.
    stamp = dt.datetime.now().timestamp()
    for n in range(3):
        assert lifecycle.register_certificate(services, command(f"packed-{n}-{stamp}", unit="SE-UNIT-PACK")) == OK
    today = dt.date(2026, 12, 1)
    with services.store.reading() as uow:
        listing = uow.sick_leave.unit_listing("SE-GIVER-1", ["SE-UNIT-PACK"], today, today)
    [(_, ids, items)] = listing
    assert len(ids) == 3 and items is not None and items.startswith(b"<")
    select_items = "SELECT listed_items FROM sick_leave_listing WHERE care_unit_id = 'SE-UNIT-PACK'"
    with services.store.writing() as uow:
        stored = bytes(uow.connection.exec_driver_sql(select_items).scalar_one())
        if uow.connection.dialect.name == "postgresql":
            assert stored.startswith(b"\x01") and len(stored) < len(items) / 2
        else:
            assert stored == items
        uow.connection.execute(
            sa.text("UPDATE sick_leave_listing SET listed_items = :items WHERE care_unit_id = 'SE-UNIT-PACK'"),
            {"items": items},
        )
        uow.commit()
    with services.store.reading() as uow:
        assert bytes(uow.connection.exec_driver_sql(select_items).scalar_one()) == items
        assert uow.sick_leave.unit_listing("SE-GIVER-1", ["SE-UNIT-PACK"], today, today) == listing


def test_on_a_postgresql_connection_that_is_not_utf8_the_listed_items_are_still_their_utf8(postgres_database):
    # The listing keeps the items as their UTF-8 bytes: a connection in another client encoding
    # gets the same bytes (the certificates' rows, text, are decoded and encoded by the driver).
    from intygsgw.handlers.rehab_items import render_intygs_data

    latin = build_services(Settings(db=f"{postgres_database}?client_encoding=LATIN1"), migrate=True)
    try:
        cid = f"latin-{dt.datetime.now().timestamp()}"
        assert lifecycle.register_certificate(latin, command(cid, unit="SE-UNIT-LATIN")) == OK
        today = dt.date(2026, 12, 1)
        with latin.store.reading() as uow:
            assert uow.connection.connection.driver_connection.info.encoding.lower() != "utf-8"
            [(_, _, items)] = uow.sick_leave.unit_listing("SE-GIVER-1", ["SE-UNIT-LATIN"], today, today)
            (certificate,) = uow.sick_leave.certificates([cid])
        assert items == render_intygs_data(certificate).encode()
        assert "Vårdenheten".encode() in items
    finally:
        latin.store.engine.dispose()


def test_a_day_in_the_gap_between_a_certificates_periods_is_no_sick_leave_and_a_gapless_one_needs_no_period(services):

    def stored(cid: str, *spans: tuple[int, int]) -> None:
        cert = SickLeaveCertificate(
            cid, PATIENT, "Tolvan", "SE-GIVER-GAP", "SE-UNIT-GAP", "Enheten", "SE-DOC-1", "Doktor",
            dt.datetime(2026, 12, 1, 10), "M544", tuple(WorkCapacity(dt.date(2026, 12, a), dt.date(2026, 12, b), 100)
                                                        for a, b in spans),
        )  # fmt: skip
        with services.store.writing() as uow:
            uow.sick_leave.add(cert)
            uow.commit()

    stored("gapped", (1, 4), (10, 20))
    stored("gapless", (1, 4), (5, 8))

    def listed(day: int) -> list[str]:
        on = dt.date(2026, 12, day)
        with services.store.reading() as uow:
            return sorted(c.certificate_id for c in uow.sick_leave.for_units("SE-GIVER-GAP", ["SE-UNIT-GAP"], on, on))

    with services.store.reading() as uow:
        flags = dict(
            uow.connection.exec_driver_sql(
                "SELECT certificate_id, gapless FROM sick_leave_certificate WHERE care_unit_id = 'SE-UNIT-GAP'"
            ).all()
        )
    assert {cid: bool(flag) for cid, flag in flags.items()} == {"gapped": False, "gapless": True}
    # One patient: both certificates are listed once either is current, and neither on the 9th.
    assert listed(6) == ["gapless", "gapped"]
    assert listed(9) == []
    assert listed(12) == ["gapless", "gapped"]


def test_a_units_patients_on_sick_leave_are_found_from_the_span_index_without_reading_a_row(tmp_path):
    # The plan of a freshly migrated SQLite store (no statistics, as a new deployment has): the
    # active patients' subquery must read ix_sick_leave_unit_span alone, not walk the unit's rows,
    # and each of them be looked up in the listing by its key.
    from intygsgw.storage.sick_leave import _listing_statement

    made = build_services(Settings(db=f"sqlite:///{tmp_path / 'plan.db'}"), migrate=True)
    try:
        compiled = _listing_statement(1, "sqlite")._for(made.store.engine.dialect)
        # Bound as the statement binds them (its own date processing), in its order.
        arguments = compiled.arguments(
            {"giver": "SE-GIVER", "unit0": "SE-UNIT", "today": dt.date(2026, 12, 6), "since": dt.date(2026, 12, 1)}
        )
        with made.store.reading() as uow:
            plan = [row[3] for row in uow.connection.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.sql, arguments)]
    finally:
        made.store.engine.dispose()
    span_steps = [step for step in plan if "ix_sick_leave_unit_span" in step]
    assert span_steps and all(
        step.startswith("SEARCH sick_leave_certificate USING COVERING INDEX") for step in span_steps
    )
    assert not any("USE TEMP B-TREE FOR DISTINCT" in step for step in plan)
    assert any(
        step.startswith("SEARCH sick_leave_listing USING INDEX ix_sick_leave_listing_patient (care_giver_id=?")
        for step in plan
    ), plan


def test_on_postgresql_the_listing_and_the_selection_read_patient_by_patient_whatever_the_statistics_say(
    postgres_database,
):
    # PostgreSQL estimates a unit's rows from its care giver and its unit as if they were
    # independent (at 2 million certificates, 10 rows where there were 4,000) and, trusting that,
    # read all of a unit's listing rows against all its active patients: 1.1 s. Here the statistics
    # are taken before the unit has a row, so that they say it has none.
    from intygsgw.storage.sick_leave import _listing_statement, _units_statement

    made = build_services(Settings(db=postgres_database), migrate=True)
    patients = [f"1970{n:08d}" for n in range(300)]
    try:
        with made.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("sick_leave_certificate", "sick_leave_listing"):
                conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
                conn.exec_driver_sql(f"ANALYZE {table}")
        with made.store.writing() as uow:
            for n, patient in enumerate(patients):
                uow.sick_leave.add(
                    SickLeaveCertificate(
                        f"stale-{n}", patient, "Namn", "SE-GIVER-STALE", "SE-UNIT-STALE", "Enheten", "SE-DOC-1",
                        "Doktor", dt.datetime(2026, 12, 1, 10), "M544",
                        (WorkCapacity(dt.date(2026, 12, 1), dt.date(2026, 12, 31), 100),),
                    )
                )  # fmt: skip
            relist(uow.connection, [("SE-GIVER-STALE", "SE-UNIT-STALE", patient) for patient in patients])
            uow.commit()
        today = dt.date(2026, 12, 6)
        with made.store.reading() as uow:
            listing = uow.sick_leave.unit_listing("SE-GIVER-STALE", ["SE-UNIT-STALE"], today, today)
            selected = uow.sick_leave.for_units("SE-GIVER-STALE", ["SE-UNIT-STALE"], today, today)
            values = {"giver": "SE-GIVER-STALE", "unit0": "SE-UNIT-STALE", "today": today, "since": today}
            plans = {}
            for name, statement in (("listing", _listing_statement), ("selection", _units_statement)):
                compiled = statement(1, "postgresql")._for(made.store.engine.dialect)
                explain = "EXPLAIN (FORMAT JSON) " + compiled.sql
                [(plans[name],)] = uow.connection.exec_driver_sql(explain, compiled.arguments(values)).all()
    finally:
        made.store.engine.dispose()
    assert sorted(patient for patient, _, _ in listing) == patients
    assert sorted(c.patient_id for c in selected) == patients

    def nodes(node: dict):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    # Each read of the unit's rows is for one active patient (on tables this small, by an index or
    # not as the planner likes), not all of them joined against the patients by a join filter.
    for name, table in (("listing", "sick_leave_listing"), ("selection", "sick_leave_certificate")):
        plan = list(nodes(plans[name][0]["Plan"]))
        per_patient = [
            n
            for n in plan
            if n.get("Relation Name") == table
            and "(patient_id)::text = (sick_leave_certificate" in n.get("Index Cond", "") + n.get("Filter", "")
        ]
        assert per_patient and not any("patient_id" in n.get("Join Filter", "") for n in plan), (name, plan)


def test_a_listing_row_is_rebuilt_from_its_patients_rows_alone_not_from_its_units(tmp_path):
    # Every sick-leave registration reads its patient's rows on the unit for the listing. Ordered
    # in SQL under a LIMIT, SQLite chose the unit's signing-time index for the order and walked all
    # of the unit's certificates: a registration's cost grew with the unit.
    from intygsgw.storage.sick_leave import _LISTED_OF_PATIENT

    made = build_services(Settings(db=f"sqlite:///{tmp_path / 'plan.db'}"), migrate=True)
    try:
        compiled = _LISTED_OF_PATIENT._for(made.store.engine.dialect)
        arguments = compiled.arguments({"giver": "G", "unit": "U", "patient": PATIENT, "limit": 101, "offset": 0})
        with made.store.reading() as uow:
            plan = [row[3] for row in uow.connection.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.sql, arguments)]
    finally:
        made.store.engine.dispose()
    assert plan == [
        "SEARCH sick_leave_certificate USING INDEX ix_sick_leave_unit_patient "
        "(care_giver_id=? AND care_unit_id=? AND patient_id=?)"
    ]


def _leave(cid: str, unit: str, minutes: int) -> SickLeaveCertificate:
    return SickLeaveCertificate(
        cid, PATIENT, "Tolvan", "SE-GIVER-L", unit, "Enheten", "SE-DOC-1", "Doktor",
        dt.datetime(2026, 12, 1, 10) + dt.timedelta(minutes=minutes), "M544",
        (WorkCapacity(dt.date(2026, 12, 1), dt.date(2026, 12, 20), 100),),
    )  # fmt: skip


def _listed(services, *units: str) -> list:
    today = dt.date(2026, 12, 5)
    with services.store.reading() as uow:
        return uow.sick_leave.unit_listing("SE-GIVER-L", list(units), today, today)


def test_a_patient_on_a_unit_and_its_sub_unit_is_listed_once_in_signing_order(services):
    with services.store.writing() as uow:
        for cid, unit, minutes in (("d", "SE-U2", 3), ("a", "SE-U1", 0), ("c", "SE-U1", 2), ("b", "SE-U2", 1)):
            uow.sick_leave.add(_leave(cid, unit, minutes), f"<{cid}/>")
        uow.commit()
    assert _listed(services, "SE-U1", "SE-U2") == [(PATIENT, ["a", "b", "c", "d"], b"<a/><b/><c/><d/>")]
    assert _listed(services, "SE-U2") == [(PATIENT, ["b", "d"], b"<b/><d/>")]


def test_a_patient_with_more_certificates_on_a_unit_than_a_listing_row_holds_is_read_certificate_by_certificate(
    services, monkeypatch
):
    monkeypatch.setattr(sick_leave_storage, "LISTED_AT_MOST", 2)

    def written(step) -> None:
        with services.store.writing() as uow:
            step(uow.sick_leave)
            uow.commit()

    def kept() -> list[str] | None:
        with services.store.reading() as uow:
            [ids] = uow.connection.exec_driver_sql(
                "SELECT certificate_ids FROM sick_leave_listing WHERE care_unit_id = 'SE-U1'"
            ).one()
        return None if ids is None else sick_leave_storage._ids(ids)

    for cid, minutes in (("a", 0), ("b", 1)):
        written(lambda rows, cid=cid, minutes=minutes: rows.add(_leave(cid, "SE-U1", minutes), f"<{cid}/>"))
    assert kept() == ["a", "b"]
    written(lambda rows: rows.add(_leave("c", "SE-U1", 2), "<c/>"))
    written(lambda rows: rows.add(_leave("x", "SE-U2", 1), "<x/>"))
    assert kept() is None
    assert _listed(services, "SE-U1", "SE-U2") == [(PATIENT, ["a", "b", "x", "c"], b"<a/><b/><x/><c/>")]
    # Down to two again it stays read certificate by certificate, and says the same as the rows.
    written(lambda rows: rows.mark_deleted("b"))
    assert kept() is None
    assert _listed(services, "SE-U1") == [(PATIENT, ["a", "c"], b"<a/><c/>")]
    written(lambda rows: rows.mark_deleted("a"))
    written(lambda rows: rows.delete("c"))
    assert _listed(services, "SE-U1", "SE-U2") == [(PATIENT, ["x"], b"<x/>")]
    assert _listed(services, "SE-U1") == []


def test_a_certificate_added_for_a_patient_read_certificate_by_certificate_reads_the_listing_once(
    services, monkeypatch
):
    # The listing row's state comes with the certificate's listing keys: one statement, and on
    # PostgreSQL one round trip, not a second question for the state alone.
    monkeypatch.setattr(sick_leave_storage, "LISTED_AT_MOST", 1)
    with services.store.writing() as uow:
        for cid, minutes in (("a", 0), ("b", 1)):
            uow.sick_leave.add(_leave(cid, "SE-U1", minutes), f"<{cid}/>")
        uow.commit()
    sqlite = services.store.engine.dialect.name == "sqlite"
    executed = sqlite_statements(services.store.engine) if sqlite else []
    with services.store.writing() as uow:
        executed.clear()
        uow.sick_leave.add(_leave("c", "SE-U1", 2), "<c/>")
        asked = [sql for sql in executed if "sick_leave_listing" in sql]
        uow.commit()
    if sqlite:
        assert len(asked) == 1, asked
        assert "LEFT OUTER JOIN sick_leave_listing" in asked[0]
    assert _listed(services, "SE-U1") == [(PATIENT, ["a", "b", "c"], b"<a/><b/><c/>")]


def test_ids_that_the_separator_would_split_are_listed_whole(services):
    # A certificate-service certificate's id does not come through XML, which cannot hold U+001F.
    with services.store.writing() as uow:
        uow.sick_leave.add(_leave("a\x1fb", "SE-U1", 0), "<ab/>")
        uow.sick_leave.add(_leave("c", "SE-U1", 1), "<c/>")
        uow.sick_leave.add(_leave("[d", "SE-U2", 0), "<d/>")
        uow.commit()
    assert _listed(services, "SE-U1") == [(PATIENT, ["a\x1fb", "c"], b"<ab/><c/>")]
    assert _listed(services, "SE-U2") == [(PATIENT, ["[d"], b"<d/>")]
    assert _listed(services, "SE-U1", "SE-U2") == [(PATIENT, ["[d", "a\x1fb", "c"], b"<d/><ab/><c/>")]
