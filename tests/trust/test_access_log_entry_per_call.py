"""A call is one access-log entry, however many persons it names (migration 0022)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from intygsgw.app import build_app
from intygsgw.audit import Access
from intygsgw.config.settings import Settings
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.storage.access_log import verify_chain
from intygsgw.storage.db import connect_sqlite

ANN, BO, CY = "191212121212", "194910302487", "197705232382"


def _access() -> Access:
    return Access("SE-CALLER", "SE-ORIG", "", "urn:x", "LA")


def test_a_call_that_named_nobody_or_one_person_is_an_entry_as_before():
    nobody = _access().entries("OK")
    assert [(e.person_id, e.certificate_ids, e.persons) for e in nobody] == [("", (), ())]
    one = _access()
    one.add(ANN, ["c-1"])
    one.add("19121212-1212", ["c-2", "c-1"])  # the same person written otherwise, a certificate twice
    assert [(e.person_id, e.certificate_ids, e.persons) for e in one.entries("OK")] == [(ANN, ("c-1", "c-2"), ())]


def test_a_call_that_named_several_persons_is_one_entry_naming_each_with_their_certificates():
    access = _access()
    access.add(BO, ["c-1"])
    access.add(ANN, [])
    access.add(None, ["unknown-1"])
    access.add(CY, ["c-2", "c-3"])
    (entry,) = access.entries("OK", dt.datetime(2026, 12, 6, 9, 0))
    assert entry.person_id == "" and entry.certificate_ids == ("unknown-1",)
    assert entry.persons == ((BO, ("c-1",)), (ANN, ()), (CY, ("c-2", "c-3")))  # in the order the call noted them
    assert entry.certificates_of(CY) == ("c-2", "c-3") and entry.certificates_of("190101010101") is None


def test_a_unit_sick_leave_list_is_one_entry_that_names_every_listed_patient(tmp_path):
    db = tmp_path / "gw.db"
    gw = build_app(Settings(db=f"sqlite:///{db}"), migrate=True)
    today = dt.date.today()
    periods = (
        ("HELT_NEDSATT", (today - dt.timedelta(days=3)).isoformat(), (today + dt.timedelta(days=9)).isoformat()),
    )
    listed = {}
    for n, person in enumerate((ANN, BO, CY)):
        cid = f"sl-{n}"
        spec = CertificateSpec(certificate_id=cid, person_id=person, signed_at=f"{today - dt.timedelta(days=3)}T10:00:00",
                               periods=periods)  # fmt: skip
        assert b"<core:resultCode>OK</core:resultCode>" in gw.dispatcher.handle(samples.register_certificate(spec)).body
        listed[person] = [cid]
    answer = gw.dispatcher.handle(samples.list_active_sick_leaves_for_care_unit(CertificateSpec().care_unit_id))
    assert answer.status == 200 and answer.body.count(b":intygsData>") == 6
    with connect_sqlite(db) as conn:
        rows = conn.execute(
            "SELECT person_id, certificate_ids, persons FROM access_log WHERE contract LIKE '%ListActiveSickLeaves%'"
        ).fetchall()
        hours = {p for (p,) in conn.execute("SELECT person_id FROM access_log_person")}
    assert len(rows) == 1
    person, ids, persons = rows[0]
    assert person == "" and ids == "[]" and json.loads(persons) == listed
    assert hours == set(listed)  # each patient can still be looked up
    with gw.dispatcher.services.store.reading() as uow:
        assert verify_chain(uow.access_log).ok
        (mine,) = [s for s in uow.access_log.entries(person_id=BO) if "ListActiveSickLeaves" in s.entry.contract]
    assert mine.entry.person_id == BO and mine.entry.certificate_ids == ("sl-1",) and mine.others == 2


def test_a_list_repeated_within_the_hour_does_not_write_its_hour_rows_again(tmp_path):
    from intygsgw.audit.writer import AccessLogWriter
    from intygsgw.storage.db import make_engine
    from intygsgw.storage.migrate import upgrade
    from intygsgw.storage.uow import Store

    db = tmp_path / "log.db"
    upgrade(make_engine(f"sqlite:///{db}"))
    now = [dt.datetime(2026, 12, 6, 9, 10)]
    writer = AccessLogWriter(Store(make_engine(f"sqlite:///{db}")), utc_now=lambda: now[0])

    def listing(*persons: str) -> Access:
        access = _access()
        for person in persons:
            access.add(person, [f"c-{person}"])
        return access

    def hour_rows() -> set[tuple[str, str]]:
        with connect_sqlite(db) as conn:
            return {(p, h[:13]) for p, h in conn.execute("SELECT person_id, hour FROM access_log_person")}

    writer.write(listing(ANN, BO), "OK")
    assert hour_rows() == {(ANN, "2026-12-06 09"), (BO, "2026-12-06 09")}
    # Rows this process saw committed are not written again within the hour: removed behind its
    # back (nothing in the gateway deletes them), they stay away; a person new to the hour is written.
    with connect_sqlite(db) as conn:
        conn.execute("DELETE FROM access_log_person")
    writer.write(listing(ANN, BO, CY), "OK")
    assert hour_rows() == {(CY, "2026-12-06 09")}
    # The next hour starts over, and so does another process (another writer).
    now[0] = dt.datetime(2026, 12, 6, 10, 5)
    writer.write(listing(ANN), "OK")
    assert (ANN, "2026-12-06 10") in hour_rows()
    AccessLogWriter(Store(make_engine(f"sqlite:///{db}")), utc_now=lambda: now[0]).write(listing(BO), "OK")
    assert (BO, "2026-12-06 10") in hour_rows()


def test_hour_rows_of_a_write_that_failed_are_not_taken_as_written(tmp_path):
    from intygsgw.audit.writer import AccessLogWriter
    from intygsgw.storage.db import make_engine
    from intygsgw.storage.migrate import upgrade
    from intygsgw.storage.uow import Store

    db = tmp_path / "log.db"
    upgrade(make_engine(f"sqlite:///{db}"))
    writer = AccessLogWriter(Store(make_engine(f"sqlite:///{db}")))
    access = _access()
    access.add(ANN, ["c-1"])
    access.add(BO, ["c-2"])
    with connect_sqlite(db) as conn:
        conn.execute("DELETE FROM access_log_head")  # the append fails, its transaction rolls back
    with pytest.raises(Exception):  # noqa: B017 - whichever error the missing head gives
        writer.write(access, "OK")
    hour = dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    assert writer.named.unknown(hour, [ANN, BO]) == [ANN, BO]
