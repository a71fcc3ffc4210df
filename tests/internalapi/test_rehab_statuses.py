"""Rehabstöd's rehabilitation statuses over real HTTP: /internalapi/reko and the sick-leave list."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from intygsgw.storage.models import RehabStatusRow
from tests.internalapi.data import day, new_hsa, new_person, register
from tests.internalapi.support import access_entries, db_url


def dashed(person: str) -> str:
    return f"{person[:8]}-{person[8:]}"


def set_reko(api, person: str, status: str, unit: str, giver: str, at: str, **more) -> dict:
    # As Rehabstöd sends it: the patient as its list shows them, the sick leave's start day at 00:00.
    body = {
        "patientId": dashed(person),
        "statusId": status,
        "careProviderId": giver,
        "careUnitId": unit,
        "unitId": None,
        "staffId": "SE-REHAB-1",
        "staffName": "Rut Rehab",
        "sickLeaveTimestamp": f"{at}T00:00:00",
        **more,
    }
    answer = api.post("/internalapi/reko", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def get_reko(api, person: str, unit: str, start: str, end: str):
    body = {"patientId": dashed(person), "startDate": start, "endDate": end, "careUnitId": unit}
    answer = api.post("/internalapi/reko/patient", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(api, unit: str, **request) -> dict[str, dict | None]:
    answer = api.post("/internalapi/sickleave/active", {"careUnitId": unit, **request})
    assert answer.status_code == 200, answer.text
    return {c["patient"]["id"].replace("-", ""): c["rekoStatus"] for c in answer.json()["content"]}


def test_a_status_is_stored_returned_and_shown_in_the_sick_leave_list(api, soap):
    unit, giver = new_hsa("U"), new_hsa("CG")
    person, other = new_person(), new_person()
    register(soap, person, unit=unit, care_giver=giver)  # day(-10) to day(20)
    register(soap, other, unit=unit, care_giver=giver)

    created = set_reko(api, person, "REKO_3", unit, giver, day(-10), unitId="SE-MOTT-1")
    assert created["status"] == {"id": "REKO_3", "name": "Aktiv"}
    assert created["patientId"] == dashed(person)
    assert (created["careProviderId"], created["careUnitId"], created["unitId"]) == (giver, unit, "SE-MOTT-1")
    assert (created["staffId"], created["staffName"]) == ("SE-REHAB-1", "Rut Rehab")
    assert created["sickLeaveTimestamp"] == f"{day(-10)}T00:00:00"
    assert created["registrationTimestamp"][:10] == day(0)

    assert get_reko(api, person, unit, day(-10), day(20)) == created
    assert get_reko(api, other, unit, day(-10), day(20)) is None

    statuses = listed(api, unit)
    assert statuses[person] == created
    assert statuses[other] is None


def test_the_list_shows_the_status_set_last_within_the_sick_leave_on_that_care_unit(api, soap):
    unit, giver = new_hsa("U"), new_hsa("CG")
    person = new_person()
    register(soap, person, unit=unit, care_giver=giver)  # day(-10) to day(20)
    set_reko(api, person, "REKO_2", unit, giver, day(-10))
    set_reko(api, person, "REKO_4", unit, giver, day(-10))
    set_reko(api, person, "REKO_6", unit, giver, day(-40))  # an earlier sick leave's
    set_reko(api, person, "REKO_7", new_hsa("U"), giver, day(-10))  # another care unit's

    assert listed(api, unit)[person]["status"] == {"id": "REKO_4", "name": "Uppföljning"}
    assert get_reko(api, person, unit, day(-10), day(20))["status"]["id"] == "REKO_4"
    assert get_reko(api, person, unit, day(-50), day(-30))["status"]["id"] == "REKO_6"
    # The end day counts whole, the day after it does not.
    assert get_reko(api, person, unit, day(-50), day(-40))["status"]["id"] == "REKO_6"
    assert get_reko(api, person, unit, day(-50), day(-41)) is None


def test_the_list_filters_and_searches_by_the_stored_status(api, soap):
    unit, giver = new_hsa("U"), new_hsa("CG")
    active, untouched, reset = new_person(), new_person(), new_person()
    for person in (active, untouched, reset):
        register(soap, person, unit=unit, care_giver=giver)
    set_reko(api, active, "REKO_3", unit, giver, day(-10))
    set_reko(api, reset, "REKO_5", unit, giver, day(-10))
    set_reko(api, reset, "REKO_1", unit, giver, day(-10))  # set back to "none"

    assert set(listed(api, unit, rekoStatusTypeIds=["REKO_3"])) == {active}
    assert set(listed(api, unit, rekoStatusTypeIds=["REKO_1"])) == {untouched, reset}
    assert set(listed(api, unit, rekoStatusTypeIds=["REKO_5"])) == set()
    assert set(listed(api, unit, rekoStatusTypeIds=["REKO_3", "REKO_1"])) == {active, untouched, reset}
    assert set(listed(api, unit, textSearch="aktiv")) == {active}
    assert set(listed(api, unit, textSearch="ingen")) == {untouched}


def test_setting_and_reading_a_status_is_in_the_access_log(api, soap, gateway):
    unit, giver = new_hsa("U"), new_hsa("CG")
    person = new_person()
    set_reko(api, person, "REKO_2", unit, giver, day(-3))
    get_reko(api, person, unit, day(-3), day(3))
    entries = access_entries(gateway, person)
    assert [(e["contract"], e["outcome"]) for e in entries] == [
        ("internalapi:createRekoStatus", "OK"),
        ("internalapi:getRekoStatus", "OK"),
    ]


def test_bad_status_requests_are_problems_and_store_nothing(api, gateway):
    unit, giver, person = new_hsa("U"), new_hsa("CG"), new_person()
    good = {
        "patientId": dashed(person),
        "statusId": "REKO_2",
        "careProviderId": giver,
        "careUnitId": unit,
        "staffId": "SE-REHAB-1",
        "staffName": "Rut Rehab",
        "sickLeaveTimestamp": f"{day(0)}T00:00:00",
    }
    for change in (
        {"statusId": "REKO_9"},
        {"patientId": "not a person"},
        {"careUnitId": None},
        {"staffName": ""},
        {"sickLeaveTimestamp": "yesterday"},
    ):
        answer = api.post("/internalapi/reko", {**good, **change})
        assert answer.status_code == 400, (change, answer.text)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert api.post("/internalapi/reko/patient", {"patientId": dashed(person), "careUnitId": unit}).status_code == 400
    assert stored_statuses(db_url(gateway), giver) == []


def stored_statuses(url: str, giver: str) -> list[tuple]:
    engine = create_engine(url)
    t = RehabStatusRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(*[c for c in t.columns if c.key != "id"]).where(t.c.care_provider_id == giver).order_by(t.c.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]
