"""The recipient contracts over HTTP (hub-behaviour §1.10), called by zeep from the served WSDL.

GetRecipientsForCertificate 1 (1.1), ListKnownRecipients 1, ListPossibleReceivers 1,
ListApprovedReceivers 1 and RegisterApprovedReceivers 1, on SQLite and PostgreSQL,
with the shipped recipient registry. Every answer that is not a fault is checked
against the published responder schema by the client; for the three receiver
contracts whose published schemas do not compile as shipped, against a copy
with only the missing import added (tests/support/published.py). That zeep
builds working clients for them from the served WSDL shows the project's
schemas compile where the published ones do not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
import requests
import zeep.exceptions
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.paths import REPO_ROOT
from tests.support.soapclient import HUB_ADDRESS, endpoint_path

TYPE_SYSTEM = "b64ea353-e8f6-4832-b563-fc7d46f29548"
EVERY_RECIPIENT = {"FKASSA", "TRANSP", "SKV", "SOS", "AF", "HSVARD", "INVANA"}


def new_id() -> str:
    return str(uuid.uuid4())


def register(client, certificate_id: str) -> None:
    result, _ = client.call_raw(
        "RegisterCertificate", 3, samples.register_certificate(CertificateSpec(certificate_id=certificate_id))
    )
    assert result.result.resultCode == "OK"


def recipients_for(client, certificate_id: str, certificate_type: str = "lisjp"):
    result, _ = client.call(
        "GetRecipientsForCertificate", 1, certificateId=certificate_id, certificateType=certificate_type
    )
    assert result.result.resultCode == "OK"
    return [(r.id, r.name, r.type, r.trusted) for r in result.recipient]


def approve(client, certificate_id: str, type_code: str, choices: list[tuple[str, str]]):
    result, _ = client.call(
        "RegisterApprovedReceivers",
        1,
        **{
            "intyg-id": {"root": samples.CARE_UNIT, "extension": certificate_id},
            "typAvIntyg": {"code": type_code, "codeSystem": TYPE_SYSTEM},
            "approvedReceivers": [{"receiverId": rid, "approvalStatus": status} for rid, status in choices],
        },
    )
    return result.result


def approved(client, certificate_id: str) -> list[tuple[str, str, str, bool, str]]:
    result, _ = client.call(
        "ListApprovedReceivers", 1, **{"intygs-id": {"root": samples.CARE_UNIT, "extension": certificate_id}}
    )
    return sorted(
        (r.receiverId, r.receiverName, r.receiverType, r.trusted, r.approvalStatus) for r in result.receiverList or []
    )


def possible(client, code: str) -> list[str]:
    result, _ = client.call("ListPossibleReceivers", 1, intygTyp={"code": code, "codeSystem": TYPE_SYSTEM})
    return [r.receiverId for r in result.receiverList or []]


def fault_text(excinfo) -> str:
    return excinfo.value.message


# --------------------------------------------------------------------------
# ListKnownRecipients, ListPossibleReceivers
# --------------------------------------------------------------------------


def test_known_recipients_are_the_whole_registry(client):
    result, _raw = client.call("ListKnownRecipients", 1)
    assert result.result.resultCode == "OK"
    by_id = {r.id: (r.name, r.trusted) for r in result.recipient}
    assert set(by_id) == EVERY_RECIPIENT
    assert by_id["FKASSA"] == ("Försäkringskassan", True)
    assert by_id["TRANSP"] == ("Transportstyrelsen", True)


def test_possible_receivers_of_a_type_never_include_care_or_the_citizen(client):
    assert possible(client, "lisjp") == ["FKASSA"]
    assert possible(client, "LISJP") == ["FKASSA"]  # the external code gives the same answer
    assert possible(client, "db") == ["SKV"]
    assert possible(client, "ag7804") == []  # AG certificates are never sent anywhere
    assert possible(client, "no-such-type") == []
    result, _ = client.call("ListPossibleReceivers", 1, intygTyp={"code": "doi", "codeSystem": TYPE_SYSTEM})
    [sos] = result.receiverList
    assert (sos.receiverId, sos.receiverName, sos.receiverType, sos.trusted) == (
        "SOS",
        "Socialstyrelsen",
        "DIREKTMOTTAGARE",
        True,
    )


def test_possible_receivers_without_a_type_is_a_fault(client):
    with pytest.raises(zeep.exceptions.Fault) as excinfo:
        client.call("ListPossibleReceivers", 1, intygTyp={"code": " ", "codeSystem": TYPE_SYSTEM})
    assert fault_text(excinfo) == "Request to ListPossibleReceivers is missing required parameter 'intygTyp'"


# --------------------------------------------------------------------------
# GetRecipientsForCertificate
# --------------------------------------------------------------------------


def test_without_approvals_the_main_recipients_of_the_stored_type_are_returned(client):
    cid = new_id()
    register(client, cid)
    expected = [("FKASSA", "Försäkringskassan", "HUVUDMOTTAGARE", True)]
    assert recipients_for(client, cid) == expected
    # The request's type is not used, only the stored one; the id is trimmed.
    assert recipients_for(client, f"  {cid} ", certificate_type="db") == expected


def test_unknown_certificate_without_approvals_has_no_recipients(client):
    # The reference catches this one itself and answers an ERROR result, not a
    # fault, although the contract has no fault transformer. That answer has no
    # recipient, which the published schema requires, so a strict client (zeep)
    # refuses it as it would the reference's: the answer is read here with lxml.
    cid = new_id()
    zc = client.zeep_client("GetRecipientsForCertificate", 1)
    request = zc.create_message(
        zc.service,
        "GetRecipientsForCertificate",
        certificateId=cid,
        certificateType="lisjp",
        _soapheaders={"LogicalAddress": client.logical_address},
    )
    resp = requests.post(
        client.base_url + endpoint_path("GetRecipientsForCertificate", 1),
        data=etree.tostring(request),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    answer = etree.fromstring(resp.content)[-1][0]
    assert etree.QName(answer).localname == "GetRecipientsForCertificateResponse"
    c1 = "urn:riv:clinicalprocess:healthcond:certificate:1"
    assert [etree.QName(e).localname for e in answer] == ["result"]
    assert [(etree.QName(e).namespace, e.text) for e in answer[0]] == [
        (c1, "ERROR"),
        (c1, f"No recipients found for certificate id: {cid}"),
        (c1, "APPLICATION_ERROR"),
    ]


def test_approved_receivers_replace_the_default(client):
    cid = new_id()
    # The choice may be registered before the certificate arrives.
    assert approve(client, cid, "db", [("SKV", "YES")]).resultCode == "OK"
    assert recipients_for(client, cid) == [("SKV", "Skatteverket", "DIREKTMOTTAGARE", True)]


def test_an_approval_that_approves_nobody_falls_back_to_the_main_recipients(client):
    cid = new_id()
    register(client, cid)
    approve(client, cid, "lisjp", [("FKASSA", "NO")])
    assert recipients_for(client, cid) == [("FKASSA", "Försäkringskassan", "HUVUDMOTTAGARE", True)]


# --------------------------------------------------------------------------
# RegisterApprovedReceivers, ListApprovedReceivers
# --------------------------------------------------------------------------


def test_register_stores_one_row_per_receiver_of_the_type(client):
    cid = new_id()
    result = approve(client, cid, "LISJP", [("FKASSA", "NO"), ("SKV", "YES")])
    assert (result.resultCode, result.resultText, result.errorId) == (
        "OK",
        f"Successfully registered 2 receivers for certificate '{cid}'",
        None,
    )
    # SKV does not receive lisjp, so only FKASSA is stored, as the request says.
    assert approved(client, cid) == [("FKASSA", "Försäkringskassan", "HUVUDMOTTAGARE", True, "NO")]


def test_an_unmentioned_receiver_is_approved_only_if_it_is_a_main_recipient(client):
    main, direct = new_id(), new_id()
    assert (
        approve(client, main, "lisjp", []).resultText == f"Successfully registered 0 receivers for certificate '{main}'"
    )
    assert approved(client, main) == [("FKASSA", "Försäkringskassan", "HUVUDMOTTAGARE", True, "YES")]
    approve(client, direct, "db", [])
    assert approved(client, direct) == [("SKV", "Skatteverket", "DIREKTMOTTAGARE", True, "NO")]


def test_a_new_registration_replaces_the_old_one(client):
    cid = new_id()
    approve(client, cid, "lisjp", [("FKASSA", "NO")])
    approve(client, cid, "lisjp", [("FKASSA", "YES")])
    assert approved(client, cid) == [("FKASSA", "Försäkringskassan", "HUVUDMOTTAGARE", True, "YES")]


@pytest.mark.parametrize(
    "certificate_id, type_code, choices, text",
    [
        ("", "lisjp", [], "Request to registerApprovedReceiver is missing required parameter 'intygs-id'"),
        ("X", " ", [], "Request to registerApprovedReceiver is missing required parameter 'typAvIntyg'"),
        (
            "X",
            "lisjp",
            [("FKASSA", "YES"), ("  ", "YES")],
            "Request to registerApprovedReceiver contained receiverId that was null or empty.",
        ),
        (
            "X",
            "lisjp",
            [("FKASSA", "YES"), ("NOPE", "YES")],
            "Request to registerApprovedReceiver contained unknown receiverId 'NOPE'",
        ),
    ],
)
def test_register_refusals_are_errors_without_an_error_id_and_change_nothing(
    client, certificate_id, type_code, choices, text
):
    cid = f"{certificate_id}{new_id()}" if certificate_id else ""
    if cid:
        approve(client, cid, "lisjp", [("FKASSA", "NO")])
    result = approve(client, cid, type_code, choices)
    assert (result.resultCode, result.resultText, result.errorId) == ("ERROR", text, None)
    if cid:
        assert approved(client, cid) == [("FKASSA", "Försäkringskassan", "HUVUDMOTTAGARE", True, "NO")]


def test_list_approved_for_an_unknown_certificate_is_empty_and_without_an_id_a_fault(client):
    assert approved(client, new_id()) == []
    with pytest.raises(zeep.exceptions.Fault) as excinfo:
        approved(client, "")
    assert fault_text(excinfo) == "Request to ListApprovedReceivers is missing required parameter 'intygs-id'"


def test_a_schema_violation_is_a_client_fault_naming_the_unmarshalling_error(gateway):
    body = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
        b'<LogicalAddress xmlns="urn:riv:itintegration:registry:1">'
        + HUB_ADDRESS.encode()
        + b"</LogicalAddress></s:Header><s:Body>"
        b'<RegisterApprovedReceivers xmlns="urn:riv:clinicalprocess:healthcond:certificate:'
        b'RegisterApprovedReceivers:1"><approvedReceivers/></RegisterApprovedReceivers></s:Body></s:Envelope>'
    )
    resp = requests.post(
        gateway.url(endpoint_path("RegisterApprovedReceivers", 1)),
        data=body,
        headers={"Content-Type": "text/xml; charset=UTF-8"},
        timeout=10,
    )
    assert resp.status_code == 500
    assert b"Client" in resp.content and b"Unmarshalling Error" in resp.content


def test_approvals_are_in_the_access_log_under_the_patient(client, gateway):
    cid = new_id()
    register(client, cid)
    approve(client, cid, "lisjp", [("FKASSA", "YES")])
    approved(client, cid)
    args = [sys.executable, "-m", "intygsgw.cli", "audit", "export", "--person", samples.PATIENT]
    if gateway.db:
        args += ["--db", gateway.db]
    done = subprocess.run(
        args,
        cwd=gateway.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines() if cid in line]
    contracts = [(e["contract"].rsplit(":", 2)[-2], e["outcome"]) for e in entries]
    assert ("RegisterApprovedReceivers", "OK") in contracts and ("ListApprovedReceivers", "OK") in contracts
