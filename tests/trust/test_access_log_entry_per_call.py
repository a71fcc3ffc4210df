"""A call is one access-log entry, however many persons it names (migration 0022)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from intygsgw.app import build_app
from intygsgw.audit import Access
from intygsgw.config.settings import Settings
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.storage.access_log import verify_chain

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
    with sqlite3.connect(db) as conn:
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
