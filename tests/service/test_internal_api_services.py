"""The internal API's service functions on the in-memory store: the rules without a database or a process."""

from __future__ import annotations

import dataclasses
import datetime as dt

from intygsgw import audit
from intygsgw.domain.personnummer import parse_person_id
from intygsgw.domain.states import HSVARD, INVANA, State
from intygsgw.service import care_info, care_provider, citizen
from intygsgw.service import certificates as lifecycle
from tests.service.test_lifecycle import PATIENT, register


def test_the_citizen_list_leaves_out_revoked_and_shows_who_replaces_whom(svc):
    register(svc, "old")
    register(svc, "new", relation=("ERSATT", "old"))
    register(svc, "gone")
    assert lifecycle.revoke_certificate(svc, "gone", PATIENT).code == "OK"
    listed = citizen.list_citizen_certificates(svc, parse_person_id(PATIENT))
    assert sorted(c.record.id for c in listed) == ["new", "old"]
    relations = {c.record.id: [(r.certificate_id, r.type) for r in c.relations] for c in listed}
    assert relations == {"new": [("old", citizen.REPLACES)], "old": [("new", citizen.REPLACED)]}
    assert all(c.recipient is not None and c.recipient.id == "FKASSA" for c in listed)


def test_a_revoked_replacement_hides_the_relation_but_not_the_original(svc):
    register(svc, "old")
    register(svc, "new", relation=("KOMPLT", "old"))
    lifecycle.revoke_certificate(svc, "new", PATIENT)
    [only] = citizen.list_citizen_certificates(svc, parse_person_id(PATIENT))
    assert only.record.id == "old" and only.relations == ()


def test_archiving_moves_a_certificate_out_of_the_current_list(svc):
    register(svc, "a")
    register(svc, "b")
    now = svc.clock()
    lifecycle.set_certificate_status(svc, "b", INVANA, State.DELETED.status_code, now)
    current = citizen.list_citizen_certificates(svc, parse_person_id(PATIENT))
    archived = citizen.list_citizen_certificates(svc, parse_person_id(PATIENT), citizen.CitizenFilter(archived=True))
    assert [c.record.id for c in current] == ["a"] and [c.record.id for c in archived] == ["b"]
    lifecycle.set_certificate_status(svc, "b", INVANA, State.RESTORED.status_code, svc.clock())
    assert len(citizen.list_citizen_certificates(svc, parse_person_id(PATIENT))) == 2


def test_intyg_info_events_and_missing_certificate(svc):
    register(svc, "c1")
    register(svc, "c2", relation=("FRLANG", "c1"))
    info = care_info.certificate_info(svc, "c1")
    assert info is not None
    assert [e.type for e in info.events] == [care_info.SIGNED, care_info.RECEIVED, care_info.RENEWED]
    assert care_info.certificate_info(svc, "nope") is None


def test_the_erase_goes_in_batches_logs_each_and_continues(svc):
    for i in range(7):
        register(svc, f"c{i}")
    token = audit.begin(audit.Access("op", "", "", "test:erase", ""))
    try:
        assert care_provider.erase_care_provider(svc, "SE-GIVER-1", batch=3, stop_after=1) == 3
        assert care_provider.export_counts(svc, "SE-GIVER-1") == (4, 0)
        seen = []
        assert care_provider.erase_care_provider(svc, "SE-GIVER-1", batch=3, progress=seen.append) == 4
    finally:
        audit.end(token)
    assert seen == [3, 1]
    with svc.store.reading() as uow:
        logged = [e for e in uow.access_log.t.access_log if e.outcome.startswith("ERASED:")]
    assert [e.outcome for e in logged] == ["ERASED:3", "ERASED:3", "ERASED:1"]
    assert sorted(c for e in logged for c in e.certificate_ids) == [f"c{i}" for i in range(7)]


def test_export_then_import_gives_the_certificates_back_and_skips_what_is_stored(svc):
    register(svc, "a")
    register(svc, "b", relation=("ERSATT", "a"))
    exported = list(care_provider.export_all(svc, "SE-GIVER-1", page=1))
    assert [e.certificate_id for e in exported] == ["a", "b"]
    before = lifecycle.get_certificate(svc, "b", HSVARD)
    care_provider.erase_care_provider(svc, "SE-GIVER-1")
    assert care_provider.import_certificates(svc, exported) == care_provider.ImportReport(2, 0)
    after = lifecycle.get_certificate(svc, "b", HSVARD)
    assert (after.record, after.document, after.statuses) == (before.record, before.document, before.statuses)
    assert care_provider.import_certificates(svc, exported) == care_provider.ImportReport(0, 2)


def test_the_doctor_list_orders_and_pages(svc):
    persons = {"c0": "197705232382", "c1": PATIENT, "c2": "195206172339"}
    for cid, person in persons.items():
        register(svc, cid, person=person)
    lifecycle.revoke_certificate(svc, "c0", persons["c0"])
    register(svc, "c3", person="194011306125")
    query = care_info.DoctorQuery(
        unit_ids=["SE-UNIT-1"],
        signed_from=dt.datetime(2026, 1, 1),
        signed_to=dt.datetime(2026, 12, 31),
        order_by="civicRegistrationNumber",
        ascending=True,
        page_size=2,
    )
    found = care_info.doctor_certificates(svc, query)
    assert found.total == 3  # the revoked one is left out
    assert [e.record.id for e in found.entries] == ["c1", "c3"]  # 1912…, 1940…
    later = care_info.doctor_certificates(svc, dataclasses.replace(query, start_from=2))
    assert [e.record.id for e in later.entries] == ["c2"]
