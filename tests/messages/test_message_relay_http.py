"""SendMessageToCare 2 / SendMessageToRecipient 2 over HTTP: a real gateway relaying to a stub process."""

from __future__ import annotations

import threading
from xml.sax.saxutils import escape

import requests
from lxml import etree

from intygsgw.devtools.samples import (
    CARE_UNIT,
    PATIENT,
    CertificateSpec,
    envelope,
    register_certificate,
    send_certificate_to_recipient,
)
from intygsgw.devtools.samples.requests import _hos_personal

RESP = "urn:riv:clinicalprocess:healthcond:certificate:{}Responder:2"
CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"
PATH = "/clinicalprocess/healthcond/certificate/{}/2/rivtabp21"
XML = {"Content-Type": "text/xml; charset=utf-8"}


def post(gw, name: str, body: bytes) -> etree._Element:
    resp = requests.post(gw.base_url + PATH.format(name), data=body, headers=XML, timeout=30)
    assert resp.status_code == 200, resp.text
    return etree.fromstring(resp.content).find(f".//{{{RESP.format(name)}}}result")


def result(el) -> tuple:
    return tuple(el.findtext(f"{{{CORE}}}{t}") for t in ("resultCode", "errorId", "resultText"))


def register(gw, cid: str) -> None:
    resp = requests.post(
        gw.base_url + "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21",
        data=register_certificate(CertificateSpec(certificate_id=cid)),
        headers=XML,
        timeout=30,
    )
    assert b"<ns0:resultCode>OK" in resp.content or b">OK<" in resp.content, resp.text


def to_care(
    mid: str,
    cid: str,
    amne: str = "KOMPLT",
    svar_pa: str | None = None,
    part: str = "FKASSA",
    person: str = PATIENT,
    paminnelse: str | None = None,
    tail: str = "",
) -> bytes:
    """``tail``: elements after skickatAv (komplettering, sistaDatumForSvar)."""
    ns = RESP.format("SendMessageToCare")
    svar = (f"<m:paminnelseMeddelande-id>{escape(paminnelse)}</m:paminnelseMeddelande-id>" if paminnelse else "") + (
        f"<m:svarPa><c:meddelande-id>{escape(svar_pa)}</c:meddelande-id></m:svarPa>" if svar_pa else ""
    )
    return envelope(
        f'<m:SendMessageToCare xmlns:m="{ns}"><m:meddelande-id>{escape(mid)}</m:meddelande-id>'
        f"<m:skickatTidpunkt>2026-11-23T09:00:00</m:skickatTidpunkt>"
        f"<m:intygs-id><t:root>{CARE_UNIT}</t:root><t:extension>{escape(cid)}</t:extension></m:intygs-id>"
        f"<m:patientPerson-id><t:root>1.2.752.129.2.1.3.1</t:root><t:extension>{person}</t:extension></m:patientPerson-id>"
        f"<m:logiskAdressMottagare>{CARE_UNIT}</m:logiskAdressMottagare>"
        f"<m:amne><t:code>{amne}</t:code><t:codeSystem>ffa59d8f-8d7e-46ae-ac9e-31804e8e8499</t:codeSystem></m:amne>"
        f"<m:meddelande>Fråga om intyget</m:meddelande>{svar}"
        f"<m:skickatAv><m:part><t:code>{part}</t:code><t:codeSystem>769bb12b-bd9f-4203-a5cd-fd14f2eb3b80</t:codeSystem>"
        f"</m:part></m:skickatAv>{tail}</m:SendMessageToCare>"
    )


def to_recipient(
    mid: str,
    cid: str,
    amne: str = "KOMPLT",
    svar_pa: str | None = None,
    paminnelse: str | None = None,
    person: str = PATIENT,
    tail: str = "",
) -> bytes:
    ns = RESP.format("SendMessageToRecipient")
    svar = (f"<m:paminnelseMeddelande-id>{escape(paminnelse)}</m:paminnelseMeddelande-id>" if paminnelse else "") + (
        f"<m:svarPa><c:meddelande-id>{escape(svar_pa)}</c:meddelande-id></m:svarPa>" if svar_pa else ""
    )
    return envelope(
        f'<m:SendMessageToRecipient xmlns:m="{ns}"><m:meddelande-id>{escape(mid)}</m:meddelande-id>'
        f"<m:skickatTidpunkt>2026-11-23T10:00:00</m:skickatTidpunkt>"
        f"<m:intygs-id><t:root>{CARE_UNIT}</t:root><t:extension>{escape(cid)}</t:extension></m:intygs-id>"
        f"<m:patientPerson-id><t:root>1.2.752.129.2.1.3.1</t:root><t:extension>{person}</t:extension></m:patientPerson-id>"
        f"<m:logiskAdressMottagare>FKASSA</m:logiskAdressMottagare>"
        f"<m:amne><t:code>{amne}</t:code><t:codeSystem>ffa59d8f-8d7e-46ae-ac9e-31804e8e8499</t:codeSystem></m:amne>"
        f"<m:meddelande>Svar</m:meddelande>{svar}"
        f"{_hos_personal('m:skickatAv')}{tail}"
        f"</m:SendMessageToRecipient>"
    )


def test_question_to_care_is_relayed_once_and_a_duplicate_is_refused(gateway, stub):
    register(gateway, "msg-cert-1")
    stub.clear()
    assert result(post(gateway, "SendMessageToCare", to_care("q-1", "msg-cert-1"))) == ("OK", None, None)
    [got] = stub.wait_for(1)
    assert b"q-1" in stub.body(got["seq"])
    code, error_id, text = result(post(gateway, "SendMessageToCare", to_care("q-1", "msg-cert-1")))
    assert (code, error_id) == ("ERROR", "VALIDATION_ERROR")
    assert text == (
        "Validation of SendMessageToCare failed for message with question id q-1 and certificate id "
        "msg-cert-1. [MEDDELANDE_ID_NOT_UNIQUE_ERROR, Meddelande-id is not a GUID]"
    )
    assert len(stub.messages()) == 1


def test_validation_failures_reach_the_caller_with_the_reference_text(gateway, stub):
    register(gateway, "msg-cert-2")
    code, error_id, text = result(
        post(gateway, "SendMessageToCare", to_care("q-2", "msg-cert-2", part="NOPE", person="195206172339"))
    )
    assert (code, error_id) == ("ERROR", "VALIDATION_ERROR")
    assert text.endswith("[SkickatAv part code NOPE is not valid, CIVIC_REGISTRATION_NUMBER_INCONSISTENCY_ERROR]")
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("r-2", "msg-cert-2"))) == (
        "ERROR",
        "VALIDATION_ERROR",
        "[Certificate is not sent to recipient]",
    )
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("r-2", "no-such-cert"))) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Intyg does not exist",
    )
    # An empty paminnelseMeddelande-id is present, not absent.
    empty_reminder = to_recipient("r-3", "msg-cert-2", "KONTKT").replace(
        b"<m:meddelande>Svar</m:meddelande>", b"<m:meddelande>Svar</m:meddelande><m:paminnelseMeddelande-id/>"
    )
    assert b"<m:paminnelseMeddelande-id/>" in empty_reminder
    assert result(post(gateway, "SendMessageToRecipient", empty_reminder)) == (
        "ERROR",
        "VALIDATION_ERROR",
        "[paminnelseMeddelandeId should only be present if amne is PAMINN, Certificate is not sent to recipient]",
    )


def test_downstream_error_is_returned_and_nothing_is_stored(gateway, stub):
    register(gateway, "msg-cert-3")
    stub.add_rule(result_code="ERROR", error_id="APPLICATION_ERROR", result_text="Webcert says no", times=1)
    assert result(post(gateway, "SendMessageToCare", to_care("q-3", "msg-cert-3"))) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Webcert says no",
    )
    # Nothing stored: the same id goes through on the retry.
    assert result(post(gateway, "SendMessageToCare", to_care("q-3", "msg-cert-3"))) == ("OK", None, None)


def test_a_relay_without_a_soap_answer_is_an_application_error_that_names_no_internal_address(gateway, stub):
    register(gateway, "msg-cert-relay-fails")
    stub.add_rule(action="fault", fault_string="Webcert is busy", times=1)
    assert result(post(gateway, "SendMessageToCare", to_care("q-relay-fails", "msg-cert-relay-fails"))) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Webcert is busy",
    )
    stub.add_rule(action="http", status=503, times=1)
    assert result(post(gateway, "SendMessageToCare", to_care("q-relay-fails", "msg-cert-relay-fails"))) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Could not send Message.",
    )
    assert result(post(gateway, "SendMessageToCare", to_care("q-relay-fails", "msg-cert-relay-fails"))) == (
        "OK",
        None,
        None,
    )


def test_answer_from_care_after_sending_is_relayed_and_must_match_the_question(gateway, stub):
    register(gateway, "msg-cert-4")
    sent = requests.post(
        gateway.base_url + "/clinicalprocess/healthcond/certificate/SendCertificateToRecipient/2/rivtabp21",
        data=send_certificate_to_recipient("msg-cert-4"),
        headers=XML,
        timeout=30,
    )
    assert b">OK<" in sent.content, sent.text
    assert result(post(gateway, "SendMessageToCare", to_care("q-4", "msg-cert-4", amne="KONTKT"))) == ("OK", None, None)
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("a-4", "msg-cert-4", "OVRIGT", "q-4"))) == (
        "ERROR",
        "VALIDATION_ERROR",
        "[Svar amne is not consistent with question]",
    )
    stub.clear()
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("a-4", "msg-cert-4", "KONTKT", "q-4"))) == (
        "OK",
        None,
        None,
    )
    [got] = stub.wait_for(1)
    assert b"a-4" in stub.body(got["seq"])


def test_concurrent_duplicates_are_relayed_exactly_once(gateway, stub):
    register(gateway, "msg-cert-5")
    stub.clear()
    stub.add_rule(delay_ms=300, times=20)  # keep the first relay in flight while the others arrive
    codes = []

    def send():
        codes.append(result(post(gateway, "SendMessageToCare", to_care("q-5", "msg-cert-5")))[0])

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stub.clear_rules()
    assert sorted(codes) == ["ERROR"] * 5 + ["OK"]
    assert len(stub.messages()) == 1


QA = "urn:riv:clinicalprocess:healthcond:certificate:ListCertificatesForCareWithQAResponder:3"


def list_with_qa(gw, units=(CARE_UNIT,)) -> etree._Element:
    ids = "".join(
        f"<q:enhets-id><t:root>1.2.752.129.2.1.4.1</t:root><t:extension>{u}</t:extension></q:enhets-id>" for u in units
    )
    body = envelope(
        f'<q:ListCertificatesForCareWithQA xmlns:q="{QA}"><q:person-id><t:root>1.2.752.129.2.1.3.1'
        f"</t:root><t:extension>{PATIENT}</t:extension></q:person-id>{ids}"
        f"</q:ListCertificatesForCareWithQA>"
    )
    resp = requests.post(
        gw.base_url + "/clinicalprocess/healthcond/certificate/ListCertificatesForCareWithQA/3/rivtabp21",
        data=body,
        headers=XML,
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return etree.fromstring(resp.content).find(f".//{{{QA}}}ListCertificatesForCareWithQAResponse")


def item_for(response: etree._Element, cid: str) -> etree._Element:
    for item in response.iter(f"{{{QA}}}item"):
        if item.findtext(f"{{{QA}}}intyg/{{{CORE}}}intygs-id/{{{TYPES}}}extension") == cid:
            return item
    raise AssertionError(f"{cid} not listed")


def counts(item, tag) -> tuple:
    el = item.find(f"{{{QA}}}{tag}")
    return tuple(int(el.findtext(f"{{{CORE}}}{t}")) for t in ("totalt", "ejBesvarade", "besvarade", "hanterade"))


def events(item) -> list[tuple]:
    return [
        (h.findtext(f"{{{CORE}}}handelsekod/{{{TYPES}}}code"), h.findtext(f"{{{CORE}}}amne/{{{TYPES}}}code"))
        for h in item.iter(f"{{{QA}}}handelse")
    ]


def test_stored_messages_are_counted_and_listed_as_events(gateway, stub):
    from tests.support.published import assert_valid_answer

    register(gateway, "qa-cert-1")
    sent = requests.post(
        gateway.base_url + "/clinicalprocess/healthcond/certificate/SendCertificateToRecipient/2/rivtabp21",
        data=send_certificate_to_recipient("qa-cert-1"),
        headers=XML,
        timeout=30,
    )
    assert b">OK<" in sent.content, sent.text
    for mid, amne in (("qa-q1", "KOMPLT"), ("qa-q2", "AVSTMN")):
        assert result(post(gateway, "SendMessageToCare", to_care(mid, "qa-cert-1", amne)))[0] == "OK"
    assert (
        result(post(gateway, "SendMessageToRecipient", to_recipient("qa-a1", "qa-cert-1", "KOMPLT", "qa-q1")))[0]
        == "OK"
    )
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("qa-f1", "qa-cert-1", "KONTKT")))[0] == "OK"
    stub.add_rule(result_code="ERROR", times=1)
    assert result(post(gateway, "SendMessageToCare", to_care("qa-refused", "qa-cert-1", "OVRIGT")))[0] == "ERROR"

    response = list_with_qa(gateway)
    assert_valid_answer("ListCertificatesForCareWithQA", 3, response)
    item = item_for(response, "qa-cert-1")
    assert counts(item, "mottagnaFragor") == (2, 1, 0, 1)  # questions from FK: one answered, so handled, by care
    assert counts(item, "skickadeFragor") == (1, 1, 0, 0)  # the care unit's own question
    assert sorted(events(item), key=str) == sorted(
        [("SKICKA", None), ("NYFRFM", "KOMPLT"), ("NYFRFM", "AVSTMN"), ("HANFRFM", "KOMPLT"), ("NYFRFV", "KONTKT")],
        key=str,
    )
    # Another unit sees none of it.
    assert list_with_qa(gateway, ("SE2321000016-OTHER",)).findall(f".//{{{QA}}}item") == []


def test_relayed_messages_are_in_the_patient_access_log(gateway, stub):
    from tests.trust.conftest import exported

    register(gateway, "msg-cert-audit")
    assert result(post(gateway, "SendMessageToCare", to_care("q-audit", "msg-cert-audit"))) == ("OK", None, None)
    entries = [e for e in exported(gateway.workdir, "--person", PATIENT) if "msg-cert-audit" in e["certificate_ids"]]
    contracts = [e["contract"] for e in entries]
    assert any("SendMessageToCare" in c for c in contracts), contracts
    assert any("RegisterCertificate" in c for c in contracts), contracts
