"""Rehabstöd's läkarutlåtanden over real HTTP: /internalapi/typedcertificate/... (TypedCertificateController)."""

from __future__ import annotations

from tests.internalapi.data import day, new_hsa, new_person, register, register_typed, revoke

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


def test_bad_typed_certificate_requests_are_problems(api):
    for path in ("/internalapi/typedcertificate/doctors",):
        for body in (
            {"unitIds": ["has space"]},
            {"unitIds": "U1"},
            {"unitIds": ["U1"], "fromDate": "2026-13-01"},
            {"unitIds": ["U1"], "certificateTypes": ["lu se"]},
            {"unitIds": ["U1"], "doctorIds": [""]},
        ):
            answer = api.post(path, body)
            assert answer.status_code == 400, (path, body, answer.text)
            assert answer.headers["Content-Type"] == "application/problem+json"
