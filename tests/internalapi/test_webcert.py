"""Webcert over real HTTP: messages, a certificate's history, a care provider's count, a doctor's list."""

from __future__ import annotations

import uuid

import requests

from intygsgw.devtools.samples import CARE_UNIT
from tests.internalapi.data import day, new_hsa, new_person, register, revoke, set_status
from tests.messages.test_message_relay_http import PATH, XML, to_care


def relay_to_care(gateway, message_id: str, cid: str, person: str) -> None:
    answer = requests.post(
        gateway.base_url + PATH.format("SendMessageToCare"),
        data=to_care(message_id, cid, person=person),
        headers=XML,
        timeout=30,
    )
    assert answer.status_code == 200 and b">OK<" in answer.content, answer.text


def test_a_certificates_stored_messages_are_listed_oldest_first(api, soap, gateway):
    person = new_person()
    cid = register(soap, person, unit=CARE_UNIT)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    relay_to_care(gateway, first, cid, person)
    relay_to_care(gateway, second, cid, person)

    answer = api.get(f"/internalapi/message/{cid}")
    assert answer.status_code == 200
    messages = answer.json()
    assert [m["messageId"] for m in messages] == [first, second]
    assert {m["certificateId"] for m in messages} == {cid}
    assert messages[0]["subject"] == "KOMPLT"
    assert messages[0]["logicalAddress"] == CARE_UNIT
    assert "SendMessageToCare" in messages[0]["messageContent"] and first in messages[0]["messageContent"]
    assert api.get(f"/internalapi/message/{uuid.uuid4()}").json() == []


def test_intyg_info_tells_the_certificates_history(api, soap, stub):
    person = new_person()
    cid = register(soap, person, signed=f"{day(-30)}T08:30:00")
    sent = api.post("/internalapi/citizen/send", {"certificateId": cid, "patientId": person, "recipient": "FKASSA"})
    assert sent.status_code == 200
    replacement = register(soap, person, relation=("ERSATT", cid))
    revoke(soap, cid, person)

    info = api.get(f"/internalapi/intygInfo/{cid}").json()
    assert info["intygId"] == cid and info["intygType"] == "lisjp" and info["intygVersion"] == "1.3"
    assert info["signedDate"] == f"{day(-30)}T08:30:00"
    assert info["sentToRecipient"] is not None and info["receivedDate"] is not None
    assert info["careGiverHsaId"] and info["careUnitHsaId"] and info["signedByHsaId"]
    assert info["testCertificate"] is False
    assert info["numberOfRecipients"] == 1
    kinds = [e["type"] for e in info["events"]]
    assert kinds[0] == "IS004" and {"IS005", "IS006", "IS009", "IS008"} <= set(kinds)
    replaced = next(e for e in info["events"] if e["type"] == "IS008")
    assert replaced["data"] == {"intygsId": replacement}
    assert next(e for e in info["events"] if e["type"] == "IS006")["data"] == {"intygsmottagare": "FKASSA"}


def test_the_count_is_per_care_provider(api, soap):
    provider = new_hsa("CG")
    assert api.get(f"/internalapi/intygInfo/{provider}/count").json() == 0
    for _ in range(3):
        register(soap, new_person(), care_giver=provider)
    assert api.get(f"/internalapi/intygInfo/{provider}/count").json() == 3


def test_a_doctors_list_on_the_units_sorted_and_paged(api, soap):
    unit, other_unit, doctor = new_hsa("U"), new_hsa("U"), new_hsa("D")
    a_person, b_person = new_person(), new_person()
    oldest = register(soap, a_person, unit=unit, doctor=doctor, signed=f"{day(-20)}T08:00:00")
    middle = register(soap, b_person, unit=unit, doctor=doctor, signed=f"{day(-10)}T08:00:00")
    newest = register(soap, a_person, unit=unit, doctor=doctor, signed=f"{day(-2)}T08:00:00")
    register(soap, a_person, unit=unit, doctor=new_hsa("D"))  # another doctor
    register(soap, a_person, unit=other_unit, doctor=doctor)  # another unit
    revoked = register(soap, a_person, unit=unit, doctor=doctor)
    revoke(soap, revoked, a_person)
    old = register(soap, a_person, unit=unit, doctor=doctor, signed="2020-01-01T08:00:00")  # outside the window

    def page(**request):
        answer = api.post(
            "/internalapi/certificatelist/certificates/doctor",
            {"unitIds": [unit], "hsaId": doctor, "pageSize": 10, **request},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    everything = page()
    assert everything["totalCount"] == 3 and everything["errorFromIT"] is False
    assert [c["certificateId"] for c in everything["certificates"]] == [newest, middle, oldest]
    entry = everything["certificates"][0]
    assert entry["civicRegistrationNumber"] == a_person
    assert entry["certificateType"] == "lisjp" and entry["certificateTypeName"] == "Läkarintyg för sjukpenning"
    assert entry["sent"] is False and entry["testIndicator"] is False

    ascending = page(orderBy="signedDate", orderAscending=True)
    assert [c["certificateId"] for c in ascending["certificates"]] == [oldest, middle, newest]
    second_page = page(orderBy="signedDate", orderAscending=True, startFrom=1, pageSize=1)
    assert [c["certificateId"] for c in second_page["certificates"]] == [middle]
    assert second_page["totalCount"] == 3
    of_one = page(civicRegistrationNumber=b_person)
    assert [c["certificateId"] for c in of_one["certificates"]] == [middle]
    with_old = page(fromDate="2019-12-01T00:00:00", toDate=f"{day(0)}T00:00:00")
    assert old in [c["certificateId"] for c in with_old["certificates"]]
    assert page(unitIds=[])["certificates"] == []


def test_a_doctors_list_by_status_ascending_puts_the_sent_first(api, soap):
    # The reference's ascending status order is sent first (its comparator compares the second
    # entry's sent with the first's); within a status the newest signed comes first.
    unit, doctor = new_hsa("U"), new_hsa("D")
    old_sent = register(soap, new_person(), unit=unit, doctor=doctor, signed=f"{day(-20)}T08:00:00")
    old_unsent = register(soap, new_person(), unit=unit, doctor=doctor, signed=f"{day(-15)}T08:00:00")
    new_sent = register(soap, new_person(), unit=unit, doctor=doctor, signed=f"{day(-10)}T08:00:00")
    new_unsent = register(soap, new_person(), unit=unit, doctor=doctor, signed=f"{day(-5)}T08:00:00")
    for cid in (old_sent, new_sent):
        set_status(soap, cid, "SENTTO", part="FKASSA")

    def by_status(ascending: bool) -> list[tuple[str, bool]]:
        answer = api.post(
            "/internalapi/certificatelist/certificates/doctor",
            {"unitIds": [unit], "hsaId": doctor, "pageSize": -1, "orderBy": "status", "orderAscending": ascending},
        )
        assert answer.status_code == 200, answer.text
        return [(c["certificateId"], c["sent"]) for c in answer.json()["certificates"]]

    assert by_status(True) == [(new_sent, True), (old_sent, True), (new_unsent, False), (old_unsent, False)]
    assert by_status(False) == [(new_unsent, False), (old_unsent, False), (new_sent, True), (old_sent, True)]


def test_a_doctors_list_refuses_an_unknown_order_and_a_bad_person(api):
    answer = api.post("/internalapi/certificatelist/certificates/doctor", {"unitIds": ["U1"], "orderBy": "shoeSize"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "orderBy"
    answer = api.post(
        "/internalapi/certificatelist/certificates/doctor", {"unitIds": ["U1"], "civicRegistrationNumber": "abc"}
    )
    assert answer.status_code == 400
    answer = api.post("/internalapi/certificatelist/certificates/doctor", {"unitIds": ["U1"], "startFrom": -1})
    assert answer.status_code == 400


def test_a_doctors_list_as_webcert_asks_for_it_without_a_patient_and_unpaged(api, soap):
    # Webcert's signed-certificates list (ListSignedCertificatesFacadeServiceImpl) asks for every
    # certificate (pageSize -1, startFrom 0) and pages after merging; with no patient filter chosen
    # it sends the patient as an empty string. Its signed-from defaults to now minus three months,
    # written by Jackson with nanoseconds.
    unit, doctor = new_hsa("U"), new_hsa("D")
    first = register(soap, new_person(), unit=unit, doctor=doctor, signed=f"{day(-9)}T08:00:00")
    second = register(soap, new_person(), unit=unit, doctor=doctor, signed=f"{day(-3)}T08:00:00")
    answer = api.post(
        "/internalapi/certificatelist/certificates/doctor",
        {
            "civicRegistrationNumber": "",
            "hsaId": doctor,
            "unitIds": [unit],
            "fromDate": f"{day(-90)}T21:48:12.123456789",
            "toDate": None,
            "startFrom": 0,
            "pageSize": -1,
            "orderBy": "signedDate",
            "orderAscending": False,
            "types": ["lisjp"],
        },
    )
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert [c["certificateId"] for c in listed["certificates"]] == [second, first]
    assert listed["totalCount"] == 2
