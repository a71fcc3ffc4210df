"""Rehabstöd over real HTTP: /internalapi/sickleave/active (the two-pass engine, the filters) and /filters."""

from __future__ import annotations

import uuid

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.internalapi.data import day, new_hsa, new_person, register


def active(api, unit: str, **request) -> list[dict]:
    answer = api.post("/internalapi/sickleave/active", {"careUnitId": unit, **request})
    assert answer.status_code == 200, answer.text
    return answer.json()["content"]


def wrong_control_digit(person: str) -> str:
    return person[:-1] + str((int(person[-1]) + 1) % 10)


def test_certificates_within_the_gap_make_one_sick_leave(api, soap):
    unit, giver, doctor = new_hsa("U"), new_hsa("CG"), new_hsa("D")
    person = new_person()
    early = register(
        soap, person, unit=unit, care_giver=giver, doctor=doctor, periods=[("HELT_NEDSATT", day(-30), day(-10))]
    )
    late = register(
        soap,
        person,
        unit=unit,
        care_giver=giver,
        doctor=doctor,
        periods=[("HELT_NEDSATT", day(-6), day(1)), ("HALFTEN", day(2), day(10))],
    )
    [linked] = active(api, unit, maxCertificateGap=5)
    assert linked["intyg"] == 2 and sorted(linked["intygLista"]) == sorted([early, late])
    assert linked["start"] == day(-30) and linked["slut"] == day(10)
    assert linked["dagar"] == 21 + 17
    assert linked["aktivIntygsId"] == late and linked["aktivGrad"] == 100 and linked["grader"] == [100, 50]
    assert linked["patient"]["id"] == f"{person[:8]}-{person[8:]}"
    assert linked["vardgivare"]["id"] == giver and linked["vardenhet"]["id"] == unit
    assert linked["lakare"]["id"] == doctor
    assert linked["diagnosKod"]["cleanedCode"] == "M544"
    assert [d["cleanedCode"] for d in linked["biDiagnoser"]] == ["G479"]
    assert linked["sysselsattning"] == ["Nuvarande arbete"]
    [alone] = active(api, unit, maxCertificateGap=2)
    assert alone["intygLista"] == [late] and alone["dagar"] == 17


def test_recently_ended_sick_leaves_count_only_when_asked_for(api, soap):
    unit, giver = new_hsa("U"), new_hsa("CG")
    person = new_person()
    register(soap, person, unit=unit, care_giver=giver, periods=[("HELT_NEDSATT", day(-20), day(-3))])
    assert active(api, unit) == []
    [ended] = active(api, unit, maxDaysSinceSickLeaveCompleted=5)
    assert ended["aktivGrad"] == 0 and ended["slut"] == day(-3)


def test_the_filters_of_the_list(api, soap):
    unit, giver = new_hsa("U"), new_hsa("CG")
    doctor_a, doctor_b = new_hsa("D"), new_hsa("D")
    short, long_ = new_person(), new_person()
    register(soap, short, unit=unit, care_giver=giver, doctor=doctor_a, periods=[("HELT_NEDSATT", day(-2), day(5))])
    register(soap, long_, unit=unit, care_giver=giver, doctor=doctor_b, periods=[("HELT_NEDSATT", day(-60), day(30))])
    register(soap, wrong_control_digit(new_person()), unit=unit, care_giver=giver)  # left out: not a real person

    def patients(**request) -> set[str]:
        return {c["patient"]["id"].replace("-", "") for c in active(api, unit, **request)}

    assert patients() == {short, long_}
    assert patients(doctorIds=[doctor_a]) == {short}
    assert patients(sickLeaveLengthIntervals=[{"from": 0, "to": 14}]) == {short}
    assert patients(sickLeaveLengthIntervals=[{"from": 15, "to": None}]) == {long_}
    assert patients(toSickLeaveEndDate=day(10)) == {short}
    chapter_m = {"from": {"letter": "M", "number": 0}, "to": {"letter": "M", "number": 99}}
    chapter_f = {"from": {"letter": "F", "number": 0}, "to": {"letter": "F", "number": 99}}
    assert patients(diagnosisChapters=[chapter_m]) == {short, long_}
    assert patients(diagnosisChapters=[chapter_f]) == set()
    assert patients(occupationTypeIds=["NUVARANDE_ARBETE"]) == {short, long_}
    assert patients(occupationTypeIds=["STUDIER"]) == set()
    assert patients(rekoStatusTypeIds=["REKO_1"]) == {short, long_}
    assert patients(rekoStatusTypeIds=["REKO_3"]) == set()
    assert patients(textSearch=long_[:8]) == {long_}
    age = int(day(0)[:4]) - int(short[:4])
    assert short in patients(fromPatientAge=max(age - 1, 0), toPatientAge=age)


def test_what_the_list_can_be_filtered_by(api, soap):
    unit, giver, doctor = new_hsa("U"), new_hsa("CG"), new_hsa("D")
    register(soap, new_person(), unit=unit, care_giver=giver, doctor=doctor)
    answer = api.post("/internalapi/sickleave/filters", {"careUnitId": unit})
    assert answer.status_code == 200
    filters = answer.json()
    assert filters["activeDoctors"] == [{"id": doctor, "namn": "Ingrid Nilsson Läkare"}]
    assert [c["id"] for c in filters["diagnosisChapters"]] == ["M00-M99"]
    assert filters["nbrOfSickLeaves"] == 1 and filters["hasOngoingSickLeaves"] is True
    assert filters["rekoStatusTypes"][0] == {"id": "REKO_1", "name": "-"}
    assert {"id": "STUDIER", "name": "Studier"} in filters["occupationTypes"]
    empty = api.post("/internalapi/sickleave/filters", {"careUnitId": new_hsa("U")}).json()
    assert empty["nbrOfSickLeaves"] == 0 and empty["activeDoctors"] == [] and empty["rekoStatusTypes"]


def test_bad_sick_leave_requests_are_problems(api):
    for body in (
        {},
        {"careUnitId": "has space"},
        {"careUnitId": "U1", "maxCertificateGap": -1},
        {"careUnitId": "U1", "sickLeaveLengthIntervals": [{"from": "x"}]},
    ):
        answer = api.post("/internalapi/sickleave/active", body)
        assert answer.status_code == 400, body
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert api.post("/internalapi/sickleave/filters", {"unitId": "U1"}).status_code == 400


# The chapter of a code in no ICD-10 chapter, as the reference's DiagnosisChapterService spells it and
# as Rehabstöd's own list of all chapters (DiagnosKapitelServiceImpl) holds it: blank letters, empty ids.
BLANK = {"letter": " ", "number": 0, "id": ""}
WITHOUT_VALID_CODE = {"from": BLANK, "to": BLANK, "name": "Utan giltig diagnoskod", "id": ""}


def test_the_chapter_without_a_valid_code_is_the_reference_blank_one(api, soap):
    unit, giver = new_hsa("U"), new_hsa("CG")
    valid, unplaced = new_person(), new_person()
    register(soap, valid, unit=unit, care_giver=giver)
    spec = CertificateSpec(
        certificate_id=str(uuid.uuid4()),
        person_id=unplaced,
        care_unit_id=unit,
        care_giver_id=giver,
        signed_at=f"{day(-10)}T10:00:00",
        periods=(("HELT_NEDSATT", day(-10), day(5)),),
    )
    # D90 is in no ICD-10-SE chapter.
    envelope = samples.register_certificate(spec).replace(b"<t:code>M544<", b"<t:code>D901<")
    assert b"<t:code>D901<" in envelope
    result, _ = soap.call_raw("RegisterCertificate", 3, envelope)
    assert result.result.resultCode == "OK", result.result

    filters = api.post("/internalapi/sickleave/filters", {"careUnitId": unit}).json()
    chapters = {c["id"]: c for c in filters["diagnosisChapters"]}
    assert set(chapters) == {"M00-M99", ""}
    assert chapters[""] == WITHOUT_VALID_CODE

    def patients(chapters: list[dict]) -> set[str]:
        return {c["patient"]["id"].replace("-", "") for c in active(api, unit, diagnosisChapters=chapters)}

    assert patients([WITHOUT_VALID_CODE]) == {unplaced}
    assert patients([chapters["M00-M99"]]) == {valid}
    assert patients([chapters["M00-M99"], WITHOUT_VALID_CODE]) == {valid, unplaced}
