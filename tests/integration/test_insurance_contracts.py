"""The legacy insurance-process contracts (rivtabp20): SetCertificateStatus 1 and ListCertificates 1.

Called by zeep from the served WSDL with the logical address in the
WS-Addressing To header, on SQLite and PostgreSQL. The expected texts and
codes are the reference hub's (hub-behaviour §1.1, §1.7, §1.12); every
non-fault answer is checked against the published schema by the client.
"""

from __future__ import annotations

import hashlib

import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.interactions import LIST_CERTIFICATES_1, SET_CERTIFICATE_STATUS_1
from tests.integration.test_lifecycle_contracts import get, new_id, register, revoke, set_status, statuses
from tests.support.published import assert_valid_answer

HR = "urn:riv:insuranceprocess:healthreporting:2"
META = "urn:riv:insuranceprocess:certificate:1"
WSA = "http://www.w3.org/2005/08/addressing"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL = "http://schemas.xmlsoap.org/wsdl/"


def set_status_v1(client, cid: str, pnr: str, target: str, status: str, at: str | None = "2030-02-01T09:00:00"):
    request = {"certificateId": cid, "nationalIdentityNumber": pnr, "target": target, "status": status}
    if at is not None:
        request["timestamp"] = at
    result, _ = client.call("SetCertificateStatus", 1, **request)
    return result.result


def list_v1(client, pnr: str, types: list[str] | None = None, from_date=None, to_date=None):
    request: dict = {"nationalIdentityNumber": pnr}
    if types:
        request["certificateType"] = types
    if from_date:
        request["fromDate"] = from_date
    if to_date:
        request["toDate"] = to_date
    result, raw = client.call("ListCertificates", 1, **request)
    return result, raw


def listed(raw: etree._Element) -> list[str]:
    return [m.findtext(f"{{{META}}}certificateId") for m in raw.findall(f"{{{LIST_CERTIFICATES_1.namespace}}}meta")]


def meta_of(raw: etree._Element, cid: str) -> etree._Element:
    [meta] = [
        m
        for m in raw.findall(f"{{{LIST_CERTIFICATES_1.namespace}}}meta")
        if m.findtext(f"{{{META}}}certificateId") == cid
    ]
    return meta


def v1_statuses(meta: etree._Element) -> list[tuple[str, str, str]]:
    return [
        (s.findtext(f"{{{META}}}target"), s.findtext(f"{{{META}}}type"), s.findtext(f"{{{META}}}timestamp"))
        for s in meta.iter(f"{{{META}}}status")
    ]


def result_of(raw: etree._Element) -> tuple[str | None, ...]:
    result = raw.find(f"{{{etree.QName(raw).namespace}}}result")
    return tuple(result.findtext(f"{{{HR}}}{n}") for n in ("resultCode", "errorId", "errorText", "infoText"))


def post_raw(gateway, interaction, body: str, header: str | None = "5565594230") -> tuple[int, etree._Element]:
    head = f'<soap:Header><wsa:To xmlns:wsa="{WSA}">{header}</wsa:To></soap:Header>' if header else ""
    envelope = f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP}">{head}<soap:Body>{body}</soap:Body></soap:Envelope>'
    response = requests.post(
        gateway.base_url + interaction.path,
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": interaction.soap_action},
        timeout=30,
    )
    answer = etree.fromstring(response.content).find(f"{{{SOAP}}}Body")[0]
    return response.status_code, answer


# --------------------------------------------------------------------------
# Endpoint and WSDL
# --------------------------------------------------------------------------


def test_wsdls_are_rivtabp20_with_the_to_header(gateway):
    for interaction in (SET_CERTIFICATE_STATUS_1, LIST_CERTIFICATES_1):
        assert interaction.path == f"/insuranceprocess/healthreporting/{interaction.name}/1/rivtabp20"
        wsdl = etree.fromstring(requests.get(gateway.base_url + interaction.path + "?wsdl", timeout=30).content)
        assert wsdl.get("targetNamespace") == f"urn:riv:insuranceprocess:healthreporting:{interaction.name}:1:rivtabp20"
        request = wsdl.find(f"{{{WSDL}}}message[@name='{interaction.name}Request']")
        parts = {p.get("name"): p.get("element") for p in request.iter(f"{{{WSDL}}}part")}
        header_prefix, header = parts["LogicalAddress"].split(":")
        assert (wsdl.nsmap[header_prefix], header) == (WSA, "To")
        assert parts["parameters"].endswith(f":{interaction.name}Request")
        action = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}operation").get("soapAction")
        assert action == f"urn:riv:insuranceprocess:healthreporting:{interaction.name}Responder:1:{interaction.name}"
        imported = {
            i.get("namespace"): i.get("schemaLocation") for i in wsdl.iter("{http://www.w3.org/2001/XMLSchema}import")
        }
        assert requests.get(imported[WSA], timeout=30).status_code == 200


# --------------------------------------------------------------------------
# SetCertificateStatus 1
# --------------------------------------------------------------------------


def test_set_status_fk_means_fkassa_and_shows_as_sent_in_version_2(client):
    pnr = "195304082384"
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid, person_id=pnr))
    result = set_status_v1(client, cid, pnr, "FK", "SENT", at="2030-02-01T09:00:00")
    assert (result.resultCode, result.errorId, result.errorText, result.infoText) == ("OK", None, None, None)
    assert ("FKASSA", "SENTTO") in statuses(get(client, cid, "FKASSA"))
    _, raw = list_v1(client, pnr)
    assert v1_statuses(meta_of(raw, cid))[0] == ("FKASSA", "SENT", "2030-02-01T09:00:00")


def test_set_status_handling_states_are_listed_in_version_1_only(client):
    pnr = "196811122385"
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid, person_id=pnr))
    assert set_status_v1(client, cid, pnr, "FKASSA", "IN_PROGRESS", at="2030-02-02T08:00:00").resultCode == "OK"
    assert set_status_v1(client, cid, pnr, "FKASSA", "PROCESSED", at="2030-02-03T08:00:00").resultCode == "OK"
    _, raw = list_v1(client, pnr)
    assert [s[:2] for s in v1_statuses(meta_of(raw, cid))] == [
        ("FKASSA", "PROCESSED"),
        ("FKASSA", "IN_PROGRESS"),
        ("HSVARD", "RECEIVED"),
    ]
    # KV_STATUS has no code for them: version 2 answers without them, never with an invalid status.
    assert statuses(get(client, cid, "INVANA")) == [("HSVARD", "RECEIV")]


def test_set_status_cancelled_revokes_it_for_version_2(client):
    pnr = "197210302387"
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid, person_id=pnr))
    assert set_status_v1(client, cid, pnr, "FKASSA", "CANCELLED").resultCode == "OK"
    assert statuses(get(client, cid, "HSVARD"))[0] == ("FKASSA", "CANCEL")
    # Revoked now: the type-filtered list leaves it out, the unfiltered one keeps it.
    assert cid not in listed(list_v1(client, pnr, ["lisjp"])[1])
    assert cid in listed(list_v1(client, pnr)[1])


def test_set_status_without_timestamp_stores_the_time_of_the_call(client):
    pnr = "198512242383"
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid, person_id=pnr))
    assert set_status_v1(client, cid, pnr, "FKASSA", "RECEIVED", at=None).resultCode == "OK"
    received = [s for s in v1_statuses(meta_of(list_v1(client, pnr)[1], cid)) if s[0] == "FKASSA"]
    assert len(received) == 1 and received[0][1] == "RECEIVED" and received[0][2][:2] == "20"


def test_set_status_refusals_have_the_reference_texts(client):
    pnr = "195904012386"
    cid = new_id()
    unknown = set_status_v1(client, cid, pnr, "FKASSA", "SENT")
    assert (unknown.resultCode, unknown.errorId, unknown.errorText) == (
        "ERROR",
        "VALIDATION_ERROR",
        f"Unknown certificate ID: {cid}",
    )
    register(client, CertificateSpec(certificate_id=cid, person_id=pnr))
    bad_target = set_status_v1(client, cid, pnr, "NOSUCH", "SENT")
    assert (bad_target.resultCode, bad_target.errorId, bad_target.errorText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "No recipient found for recipient id: NOSUCH",
    )
    other = "191212121212"
    mismatch = set_status_v1(client, cid, other, "FKASSA", "SENT")
    assert (mismatch.resultCode, mismatch.errorId, mismatch.errorText) == (
        "ERROR",
        "VALIDATION_ERROR",
        f"Certificate '{cid}' does not exist for user '{hashlib.sha256(other.encode()).hexdigest()}'",
    )
    unparseable = set_status_v1(client, cid, "not-a-pnr", "FKASSA", "SENT")
    assert (unparseable.resultCode, unparseable.errorId, unparseable.errorText) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Could not parse passed personnummer",
    )
    # None of the refusals changed anything.
    assert statuses(get(client, cid, "HSVARD")) == [("HSVARD", "RECEIV")]


def test_set_status_schema_violation_is_a_validation_error_answer(gateway):
    body = (
        f'<SetCertificateStatusRequest xmlns="{SET_CERTIFICATE_STATUS_1.namespace}">'
        "<certificateId>x</certificateId><nationalIdentityNumber>191212121212</nationalIdentityNumber>"
        "<target>FKASSA</target><status>SENTTO</status></SetCertificateStatusRequest>"
    )
    status, answer = post_raw(gateway, SET_CERTIFICATE_STATUS_1, body)
    assert status == 200
    assert_valid_answer("SetCertificateStatus", 1, answer)
    code, error_id, text, info = result_of(answer)
    assert (code, error_id, info) == ("ERROR", "VALIDATION_ERROR", None)
    assert text.startswith("Unmarshalling Error:") and "SENTTO" in text


def test_set_status_without_to_header_is_a_validation_error_answer(gateway):
    body = (
        f'<SetCertificateStatusRequest xmlns="{SET_CERTIFICATE_STATUS_1.namespace}">'
        "<certificateId>x</certificateId><nationalIdentityNumber>191212121212</nationalIdentityNumber>"
        "<target>FKASSA</target><status>SENT</status></SetCertificateStatusRequest>"
    )
    status, answer = post_raw(gateway, SET_CERTIFICATE_STATUS_1, body, header=None)
    assert status == 200
    assert result_of(answer) == (
        "ERROR",
        "VALIDATION_ERROR",
        "The WS-Addressing To header (http://www.w3.org/2005/08/addressing) is missing or empty",
        None,
    )


# --------------------------------------------------------------------------
# ListCertificates 1
# --------------------------------------------------------------------------


def test_list_without_types_includes_archived_and_revoked_with_types_excludes_them(client):
    pnr = "194402142389"
    active, archived, revoked = new_id(), new_id(), new_id()
    for cid, signed in (
        (active, "2026-01-10T10:00:00"),
        (archived, "2026-01-11T10:00:00"),
        (revoked, "2026-01-12T10:00:00"),
    ):
        register(client, CertificateSpec(certificate_id=cid, person_id=pnr, signed_at=signed))
    assert set_status(client, archived, "DELETE").resultCode == "OK"
    assert revoke(client, revoked, pnr).resultCode == "OK"

    result, raw = list_v1(client, pnr)
    assert (result.result.resultCode, result.result.errorId) == ("OK", None)
    assert listed(raw) == [active, archived, revoked]  # signed date ascending
    meta = meta_of(raw, archived)
    assert [
        meta.findtext(f"{{{META}}}{n}")
        for n in ("certificateType", "issuerName", "facilityName", "signDate", "available")
    ] == [
        "lisjp",
        "Ingrid Nilsson Läkare",
        "Vårdcentralen Linden",
        "2026-01-11",
        "false",
    ]
    # Archiving is the citizen's and has no version 1 status.
    assert [s[:2] for s in v1_statuses(meta)] == [("HSVARD", "RECEIVED")]
    assert meta_of(raw, active).findtext(f"{{{META}}}available") == "true"
    assert [s[:2] for s in v1_statuses(meta_of(raw, revoked))] == [("HSVARD", "CANCELLED"), ("HSVARD", "RECEIVED")]

    # Types are compared lower-cased, as given.
    for types in (["lisjp"], ["LISJP"], ["lisjp", "ag7804"]):
        assert listed(list_v1(client, pnr, types)[1]) == [active]
    assert listed(list_v1(client, pnr, ["ag7804"])[1]) == []


def test_list_date_window_is_from_midnight_to_the_end_of_the_last_day(client):
    pnr = "196607302384"
    first, last, after, before = new_id(), new_id(), new_id(), new_id()
    for cid, signed in (
        (before, "2026-02-28T23:59:59"),
        (first, "2026-03-01T00:00:00"),
        (last, "2026-03-31T23:59:59"),
        (after, "2026-04-01T00:00:00"),
    ):
        register(client, CertificateSpec(certificate_id=cid, person_id=pnr, signed_at=signed))
    assert listed(list_v1(client, pnr, from_date="2026-03-01", to_date="2026-03-31")[1]) == [first, last]
    assert listed(list_v1(client, pnr, from_date="2026-03-02")[1]) == [last, after]
    assert listed(list_v1(client, pnr, to_date="2026-03-01")[1]) == [before, first]
    assert listed(list_v1(client, pnr, ["lisjp"], "2026-03-01", "2026-03-31")[1]) == [first, last]


def test_list_for_a_person_without_certificates_is_an_empty_ok(client):
    result, raw = list_v1(client, "190101012382")
    assert (result.result.resultCode, listed(raw)) == ("OK", [])


def test_list_unparseable_person_is_an_application_error_answer(client):
    result, _ = list_v1(client, "19121212")
    assert (result.result.resultCode, result.result.errorId, result.result.errorText) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Could not parse passed personnummer",
    )
    assert result.meta == []


def test_list_bad_date_is_a_validation_error_answer(gateway):
    body = (
        f'<ListCertificatesRequest xmlns="{LIST_CERTIFICATES_1.namespace}">'
        f"<nationalIdentityNumber>{samples.PATIENT}</nationalIdentityNumber><fromDate>2026-02-30</fromDate>"
        "</ListCertificatesRequest>"
    )
    status, answer = post_raw(gateway, LIST_CERTIFICATES_1, body)
    assert status == 200
    assert_valid_answer("ListCertificates", 1, answer)
    assert result_of(answer) == (
        "ERROR",
        "VALIDATION_ERROR",
        "Unmarshalling Error: '2026-02-30' is not a date (YYYY-MM-DD)",
        None,
    )
