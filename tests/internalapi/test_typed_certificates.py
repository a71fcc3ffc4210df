"""Rehabstöd's läkarutlåtanden over real HTTP: /internalapi/typedcertificate/... (TypedCertificateController)."""

from __future__ import annotations

import requests

from tests.internalapi.data import day, new_hsa, new_person, register, register_employer, register_typed, revoke
from tests.internalapi.support import access_entries

LU_TYPES = ["luse", "luae_na", "luae_fs"]


def doctors(api, **request) -> list[str]:
    answer = api.post("/internalapi/typedcertificate/doctors", request)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_doctors_who_signed_the_units_certificates_of_the_types(api, soap):
    unit, other_unit, giver = new_hsa("U"), new_hsa("U"), new_hsa("CG")
    first, second, lisjp_only, revoked_only, elsewhere = (new_hsa("D") for _ in range(5))
    person = new_person()
    register_typed(soap, person, "LUSE", unit=unit, care_giver=giver, doctor=first, signed=f"{day(-20)}T09:00:00")
    register_typed(soap, person, "LUAE_NA", unit=unit, care_giver=giver, doctor=second)
    register_typed(soap, person, "LUSE", unit=unit, care_giver=giver, doctor=first)
    register(soap, person, unit=unit, care_giver=giver, doctor=lisjp_only)
    revoke(soap, register_typed(soap, person, "LUAE_FS", unit=unit, care_giver=giver, doctor=revoked_only), person)
    register_typed(soap, person, "LUSE", unit=other_unit, care_giver=giver, doctor=elsewhere)

    assert doctors(api, unitIds=[unit], certificateTypes=LU_TYPES) == [first, second]
    assert doctors(api, unitIds=[unit, other_unit], certificateTypes=["luse"]) == [first, elsewhere]
    assert set(doctors(api, unitIds=[unit])) == {first, second, lisjp_only}
    # Whole days: signed on fromDate counts, and so does the whole of toDate.
    assert set(doctors(api, unitIds=[unit], certificateTypes=LU_TYPES, fromDate=day(-10))) == {first, second}
    assert doctors(api, unitIds=[unit], certificateTypes=LU_TYPES, fromDate=day(-9)) == []
    assert doctors(api, unitIds=[unit], certificateTypes=LU_TYPES, toDate=day(-20)) == [first]
    assert doctors(api, unitIds=[unit], certificateTypes=LU_TYPES, toDate=day(-21)) == []
    # Types are matched as given, as the reference's query matches them.
    assert doctors(api, unitIds=[unit], certificateTypes=["LUSE"]) == []


def test_no_or_unknown_units_have_no_doctors(api, soap):
    unit = new_hsa("U")
    register_typed(soap, new_person(), unit=unit)
    assert doctors(api, unitIds=[new_hsa("U")], certificateTypes=LU_TYPES) == []
    assert doctors(api, unitIds=[], certificateTypes=LU_TYPES) == []
    assert doctors(api, certificateTypes=LU_TYPES) == []


def diagnosed(api, of: str, **request) -> list[dict]:
    answer = api.post(f"/internalapi/typedcertificate/diagnosed/{of}", request)
    assert answer.status_code == 200, answer.text
    return answer.json()


def dashed(person: str) -> str:
    return f"{person[:8]}-{person[8:]}"


def test_a_units_diagnosed_certificates_carry_what_rehabstod_shows(api, soap, gateway):
    unit, other_unit, giver, doctor, other_doctor = (
        new_hsa("U"),
        new_hsa("U"),
        new_hsa("CG"),
        new_hsa("D"),
        new_hsa("D"),
    )
    person, other = new_person(), new_person()
    older = register_typed(
        soap,
        person,
        "LUAE_NA",
        unit=unit,
        care_giver=giver,
        doctor=doctor,
        signed=f"{day(-30)}T08:15:00",
        diagnoses=("F321", "M545", "G439"),
    )
    newer = register_typed(soap, other, "LUSE", unit=unit, care_giver=giver, doctor=other_doctor, diagnoses=("J20",))
    register(soap, person, unit=unit, care_giver=giver, doctor=doctor)  # lisjp: not asked for
    revoke(soap, register_typed(soap, person, "LUAE_FS", unit=unit, care_giver=giver, doctor=doctor), person)
    elsewhere = register_typed(soap, person, "LUAE_FS", unit=other_unit, care_giver=giver, doctor=doctor)

    listed = diagnosed(api, "unit", unitIds=[unit], certificateTypes=LU_TYPES, fromDate=day(-365))
    assert [c["certificateId"] for c in listed] == [older, newer]  # oldest signed first
    assert listed[0] == {
        "certificateId": older,
        "certificateType": "luae_na",
        "signingDateTime": f"{day(-30)}T08:15:00",
        "personId": dashed(person),
        "patientFullName": None,
        "personalHsaId": doctor,
        "personalFullName": "Ingrid Nilsson Läkare",
        "careUnitId": unit,
        "careUnitName": "Vårdcentralen Linden",
        "careProviderId": giver,
        "deleted": False,
        "testCertificate": False,
        "diagnoseCode": "F321",
        "secondaryDiagnoseCodes": ["M545", "G439"],
    }
    assert listed[1]["diagnoseCode"] == "J20" and listed[1]["secondaryDiagnoseCodes"] is None
    assert listed[1]["personId"] == dashed(other) and listed[1]["personalHsaId"] == other_doctor

    def ids(**request) -> list[str]:
        return [c["certificateId"] for c in diagnosed(api, "unit", **{"certificateTypes": LU_TYPES, **request})]

    assert ids(unitIds=[unit], doctorIds=[other_doctor]) == [newer]
    assert ids(unitIds=[unit], certificateTypes=["LUSE"]) == [newer]  # any case, as the reference's query
    assert ids(unitIds=[unit, other_unit], certificateTypes=["luae_fs"]) == [elsewhere]
    assert ids(unitIds=[unit], toDate=day(-30)) == [older]
    assert ids(unitIds=[unit], fromDate=day(-29)) == [newer]
    assert ids(unitIds=[new_hsa("U")]) == [] and ids(unitIds=[]) == [] and ids() == []

    logged = [
        e for e in access_entries(gateway, other) if e["contract"] == "internalapi:listDiagnosedCertificatesForUnits"
    ]
    assert any(e["certificate_ids"] == [newer] for e in logged)


def test_a_persons_diagnosed_certificates_are_their_lakarutlatanden(api, soap, gateway):
    unit, other_unit, giver = new_hsa("U"), new_hsa("U"), new_hsa("CG")
    person = new_person()
    first = register_typed(soap, person, "LUSE", unit=unit, care_giver=giver, signed=f"{day(-40)}T09:00:00")
    second = register_typed(soap, person, "LUAE_FS", unit=other_unit, care_giver=giver, diagnoses=("M545", "F321"))
    register(soap, person, unit=unit, care_giver=giver)  # lisjp: not a läkarutlåtande
    revoke(soap, register_typed(soap, person, "LUSE", unit=unit, care_giver=giver), person)
    register_typed(soap, new_person(), "LUSE", unit=unit, care_giver=giver)  # someone else

    listed = diagnosed(api, "person", personId=person, certificateTypes=LU_TYPES, fromDate=day(-365))
    assert [c["certificateId"] for c in listed] == [first, second]
    assert listed[1]["diagnoseCode"] == "M545" and listed[1]["secondaryDiagnoseCodes"] == ["F321"]
    assert listed[1]["careUnitId"] == other_unit and listed[1]["personId"] == dashed(person)

    def ids(**request) -> list[str]:
        return [c["certificateId"] for c in diagnosed(api, "person", **{"personId": person, **request})]

    assert ids(certificateTypes=LU_TYPES, unitIds=[unit]) == [first]
    assert ids(certificateTypes=["luse"]) == [first]
    assert ids() == [first, second]  # no types: every läkarutlåtande, the lisjp still left out
    assert ids(certificateTypes=["lisjp"]) == []
    assert ids(personId=dashed(person), fromDate=day(-39)) == [second]
    assert ids(personId=new_person()) == []
    assert ids(personId="not a person") == []

    logged = [
        e for e in access_entries(gateway, person) if e["contract"] == "internalapi:listDiagnosedCertificatesForPerson"
    ]
    assert any(set(e["certificate_ids"]) == {first, second} for e in logged)


def sick_leave(api, **request) -> list[dict]:
    answer = api.post("/internalapi/typedcertificate/sickleave/person", request)
    assert answer.status_code == 200, answer.text
    return answer.json()


AG_TYPES = ["ag114", "ag7804"]


def test_a_persons_certificates_to_the_employer_carry_their_work_capacity(api, soap, gateway):
    unit, other_unit, giver, doctor, other_doctor = (
        new_hsa("U"),
        new_hsa("U"),
        new_hsa("CG"),
        new_hsa("D"),
        new_hsa("D"),
    )
    person = new_person()
    ag7804 = register_employer(
        soap,
        person,
        "AG7804",
        periods=[("HELT_NEDSATT", day(-12), day(-3)), ("HALFTEN", day(-2), day(14))],
        occupations=["NUVARANDE_ARBETE", "STUDIER"],
        diagnoses=("M545", "G439"),
        unit=unit,
        care_giver=giver,
        doctor=doctor,
        signed=f"{day(-12)}T11:30:00",
    )
    ag114 = register_employer(
        soap,
        person,
        "AG114",
        periods=[("50.0", day(-5), day(9))],
        occupations=["NUVARANDE_ARBETE"],
        diagnoses=("J20",),
        unit=other_unit,
        care_giver=giver,
        doctor=other_doctor,
    )
    register(soap, person, unit=unit, care_giver=giver, doctor=doctor)  # lisjp: not to the employer
    revoked = register_employer(
        soap, person, "AG114", periods=[("100.0", day(-1), day(3))], occupations=["NUVARANDE_ARBETE"], unit=unit
    )
    revoke(soap, revoked, person)

    listed = sick_leave(api, personId=person, certificateTypes=AG_TYPES, fromDate=day(-365))
    assert [c["certificateId"] for c in listed] == [ag7804, ag114]  # oldest signed first
    first = listed[0]
    assert first == {
        "certificateId": ag7804,
        "certificateType": "ag7804",
        "signingDateTime": f"{day(-12)}T11:30:00",
        "personId": dashed(person),
        "patientFullName": "Tolvan Tolvansson",
        "personalHsaId": doctor,
        "personalFullName": "Ingrid Nilsson Läkare",
        "careUnitId": unit,
        "careUnitName": "Vårdcentralen Linden",
        "careProviderId": giver,
        "deleted": False,
        "testCertificate": False,
        "diagnoseCode": "M545",
        "secondaryDiagnoseCodes": ["G439"],
        "workCapacityList": [
            {"startDate": day(-12), "endDate": day(-3), "reduction": 100},
            {"startDate": day(-2), "endDate": day(14), "reduction": 50},
        ],
        "occupation": "Nuvarande arbete,Studier",
    }
    second = listed[1]
    assert second["workCapacityList"] == [{"startDate": day(-5), "endDate": day(9), "reduction": 50}]
    assert second["occupation"] == "Nuvarande arbete" and second["diagnoseCode"] == "J20"
    assert second["secondaryDiagnoseCodes"] is None and second["patientFullName"] == "Tolvan Tolvansson"
    assert second["careUnitId"] == other_unit and second["personalHsaId"] == other_doctor

    def ids(**request) -> list[str]:
        return [c["certificateId"] for c in sick_leave(api, **{"personId": person, **request})]

    assert ids(certificateTypes=AG_TYPES, unitIds=[other_unit]) == [ag114]
    assert ids(certificateTypes=AG_TYPES, doctorIds=[doctor]) == [ag7804]
    assert ids(certificateTypes=["AG7804"]) == [ag7804]
    assert ids() == [ag7804, ag114]  # no types: both, the lisjp still left out
    assert ids(certificateTypes=["lisjp"]) == []
    assert ids(fromDate=day(-11)) == [ag114] and ids(toDate=day(-11)) == [ag7804]
    assert ids(personId=new_person()) == [] and ids(personId="19") == [] and ids(personId="") == []

    logged = [
        e for e in access_entries(gateway, person) if e["contract"] == "internalapi:listSickLeaveCertificatesForPerson"
    ]
    assert any(set(e["certificate_ids"]) == {ag7804, ag114} for e in logged)


def test_rehabstods_requests_reach_them_under_the_reference_context(api, soap, gateway):
    # Rehabstöd posts every field of its TypedCertificateRequest, the unset ones as null, to
    # /inera-certificate/internalapi/typedcertificate/... with fromDate three years back.
    unit, doctor, person = new_hsa("U"), new_hsa("D"), new_person()
    lu = register_typed(soap, person, unit=unit, doctor=doctor)
    ag = register_employer(
        soap, person, "AG114", periods=[("100.0", day(-3), day(4))], occupations=["NUVARANDE_ARBETE"], unit=unit
    )
    base = {"unitIds": None, "personId": None, "certificateTypes": LU_TYPES, "fromDate": day(-3 * 365)}
    for path, body, expected in [
        ("doctors", {**base, "unitIds": [unit], "toDate": None}, [doctor]),
        ("diagnosed/unit", {**base, "unitIds": [unit], "toDate": None, "doctorIds": None}, [lu]),
        ("diagnosed/person", {**base, "unitIds": [unit], "personId": person, "toDate": None}, [lu]),
        (
            "sickleave/person",
            {**base, "unitIds": [unit], "personId": person, "certificateTypes": AG_TYPES, "doctorIds": []},
            [ag],
        ),
    ]:
        plain = api.post(f"/internalapi/typedcertificate/{path}", body)
        prefixed = requests.post(
            f"{gateway.internal_url}/inera-certificate/internalapi/typedcertificate/{path}", json=body, timeout=30
        )
        assert plain.status_code == prefixed.status_code == 200, (path, prefixed.text)
        assert prefixed.json() == plain.json()
        assert [c if isinstance(c, str) else c["certificateId"] for c in plain.json()] == expected, path


def test_bad_typed_certificate_requests_are_problems(api):
    for path in (
        "/internalapi/typedcertificate/doctors",
        "/internalapi/typedcertificate/diagnosed/unit",
        "/internalapi/typedcertificate/diagnosed/person",
        "/internalapi/typedcertificate/sickleave/person",
    ):
        for body in (
            {"unitIds": ["has space"]},
            {"unitIds": "U1"},
            {"unitIds": ["U1"], "fromDate": "2026-13-01"},
            {"unitIds": ["U1"], "certificateTypes": ["lu se"]},
            {"unitIds": ["U1"], "doctorIds": [""]},
            {"personId": "1" * 33},
        ):
            answer = api.post(path, body)
            assert answer.status_code == 400, (path, body, answer.text)
            assert answer.headers["Content-Type"] == "application/problem+json"
