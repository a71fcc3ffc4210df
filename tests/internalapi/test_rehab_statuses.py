"""Rehabstöd's rehabilitation statuses over real HTTP: /internalapi/reko, the sick-leave list, erase and export."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, select

from intygsgw.storage.models import RehabStatusRow
from tests.internalapi.data import day, new_hsa, new_person, register
from tests.internalapi.support import access_entries, cli, db_url
from tests.internalapi.test_customer_termination import streamed, without_time


def dashed(person: str) -> str:
    return f"{person[:8]}-{person[8:]}"


def set_reko(api, person: str, status: str, unit: str, giver: str, at: str, **more) -> dict:
    # As Rehabstöd sends it: the patient as its list shows them, a day of the sick leave at 00:00.
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


def test_the_statuses_go_out_with_the_export_are_erased_with_the_care_provider_and_come_back(
    api, soap, gateway, tmp_path
):
    giver, unit = new_hsa("CG"), new_hsa("U")
    person, without_certificate = new_person(), new_person()
    register(soap, person, unit=unit, care_giver=giver)
    set_reko(api, person, "REKO_2", unit, giver, day(-10))
    set_reko(api, person, "REKO_3", unit, giver, day(-10), unitId="SE-MOTT-1")
    # A status can be set whatever the hub holds of the patient: it is the care provider's all the same.
    set_reko(api, without_certificate, "REKO_8", unit, giver, day(-1))
    kept_giver = new_hsa("CG")
    set_reko(api, person, "REKO_5", unit, kept_giver, day(-10))
    url = db_url(gateway)
    before = stored_statuses(url, giver)
    assert len(before) == 3

    export = streamed(api, giver)
    lines = [json.loads(line) for line in export.splitlines()]
    assert lines[0]["format"] == "intygsgw-care-provider-export/2"
    [statuses] = [line for line in lines if line["kind"] == "rehabStatuses"]
    assert [r["status"] for r in statuses["rows"]] == ["REKO_2", "REKO_3", "REKO_8"]
    assert lines[-1] == {"kind": "end", "count": 1, "rehabStatuses": 3}
    file = tmp_path / "export.jsonl"
    file.write_bytes(export)

    assert api.delete(f"/internalapi/v1/certificates/{giver}").json()["erasedCount"] == 1
    assert stored_statuses(url, giver) == []
    assert get_reko(api, person, unit, day(-10), day(20))["careProviderId"] == kept_giver
    assert get_reko(api, without_certificate, unit, day(-1), day(1)) is None
    erased = [
        e for e in access_entries(gateway, without_certificate) if e["contract"] == "internalapi:eraseCareProvider"
    ]
    assert [e["outcome"] for e in erased] == ["ERASED_STATUSES"]

    done = cli("import", "--in", str(file), "--db", url)
    assert done.returncode == 0, done.stderr
    assert "3 rehabilitation statuses" in done.stderr
    assert stored_statuses(url, giver) == before
    assert without_time(streamed(api, giver)) == without_time(export)
    again = cli("import", "--in", str(file), "--db", url)
    assert again.returncode == 0, again.stderr
    assert "0 rehabilitation statuses" in again.stderr
    assert stored_statuses(url, giver) == before


def test_an_export_whose_status_lines_were_cut_is_refused(api, soap, gateway, tmp_path):
    giver, unit, person = new_hsa("CG"), new_hsa("U"), new_person()
    register(soap, person, unit=unit, care_giver=giver)
    set_reko(api, person, "REKO_2", unit, giver, day(-10))
    lines = streamed(api, giver).splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(line for line in lines if json.loads(line)["kind"] != "rehabStatuses"))
    assert api.delete(f"/internalapi/v1/certificates/{giver}").json()["erasedCount"] == 1
    done = cli("import", "--in", str(cut), "--db", db_url(gateway))
    assert done.returncode == 2 and "holds 1 rehabilitation statuses but has 0" in done.stderr
    assert api.get(f"/internalapi/intygInfo/{giver}/count").json() == 0
