"""Broken requests for every served contract: whatever arrives, the answer is a SOAP answer.

A seeded generator takes one valid request per contract and breaks it the ways
callers and networks do: an element dropped, repeated, renamed, moved to a
foreign namespace or emptied; odd text in a leaf (empty, 100,000 characters,
right-to-left and emoji characters, markup-like text, impossible dates and
times, huge and negative numbers); an unknown element or attribute added; the
bytes cut short or one byte changed. Every answer must be a well-formed SOAP
1.1 envelope whose body holds the contract's response (HTTP 200) or a Fault
with a code and a text (HTTP 500), and no stack trace. Afterwards the gateway
must still be healthy and register a certificate, and its log must hold no
unexpected failure: an exception that reaches the dispatcher's last resort is
a bug even though the caller got a fault.

``INTYGSGW_MUTANTS`` sets the number of mutants per contract (default 24) and
``INTYGSGW_MUTANT_SEED`` the seed;
a failure names the contract, the mutant's number and what was done to it,
and the same seed reproduces it.
"""

from __future__ import annotations

import os
import random
import uuid

import pytest
import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.registry import CONTRACTS
from tests.messages.test_message_relay_http import to_care, to_recipient
from tests.support.databases import BOTH, POSTGRESQL
from tests.support.routes import write_stub_routes
from tests.support.server import GatewayProcess
from tests.support.soapclient import HUB_ADDRESS, GatewayClient, endpoint_path

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TYPE_SYSTEM = "b64ea353-e8f6-4832-b563-fc7d46f29548"
XML = {"Content-Type": "text/xml; charset=utf-8"}
MUTANTS = int(os.environ.get("INTYGSGW_MUTANTS", "24"))
SEED = int(os.environ.get("INTYGSGW_MUTANT_SEED", "20261123"))
CID = "mutants-" + str(uuid.UUID(int=SEED))
ODD_TEXTS = (
    "",
    " ",
    "x" * 100_000,
    "\u202eright-to-left\u202c",
    "\ufeffbom",
    "\U0001f600",
    "<intyg>&amp;</intyg>",
    "'; DROP TABLE certificate; --",
    "2026-02-30",
    "2026-13-45T25:61:61",
    "2026-11-23T10:00:00.123+01:00",
    "99999999999999999999999999",
    "-1",
    "\uff10\uff11\uff12",
    "19121212-1212",
    "NaN",
    "\t\n",
)
# What the dispatcher and the WSGI app write when an exception gets past every expected path.
UNEXPECTED = (
    "unexpected failure in",
    "database failure in",
    "failed its schema",
    "access log write failed",
    "unhandled error serving",
    "Traceback",
)


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    proc = StubProcess(tmp_path_factory.mktemp("stub"), name="mutants").start()
    yield proc.client
    proc.stop()


@pytest.fixture(scope="module", params=BOTH)
def gateway(request, tmp_path_factory, stub):
    # PostgreSQL enforces column lengths and encodings that SQLite does not, so both are tried.
    db = request.getfixturevalue("postgres_database") if request.param == POSTGRESQL else None
    work = tmp_path_factory.mktemp("gw-mutants")
    routes = write_stub_routes(
        work / "routes.toml",
        stub.base_url,
        (
            "RegisterCertificate:3",
            "RevokeCertificate:2",
            "SendMessageToCare:2",
            "SendMessageToRecipient:2",
            "CertificateStatusUpdateForCare:3",
        ),
    )
    gw = GatewayProcess(work, db=db, extra_env={"INTYGSGW_ROUTES_FILE": str(routes)}).start()
    yield gw
    gw.stop()


def valid_requests(gateway) -> dict[tuple[str, int], bytes]:
    """One request per served contract that the gateway answers without error."""
    zeep_made = GatewayClient(gateway.base_url)

    def through_zeep(name: str, major: int, **kwargs) -> bytes:
        client = zeep_made.zeep_client(name, major)
        message = client.create_message(client.service, name, _soapheaders={"LogicalAddress": HUB_ADDRESS}, **kwargs)
        return etree.tostring(message, xml_declaration=True, encoding="UTF-8")

    qa = "urn:riv:clinicalprocess:healthcond:certificate:ListCertificatesForCareWithQAResponder:3"
    return {
        ("RegisterCertificate", 3): samples.register_certificate(CertificateSpec(certificate_id=CID)),
        ("GetCertificate", 2): samples.get_certificate(CID),
        ("RevokeCertificate", 2): samples.revoke_certificate(CID),
        ("SendCertificateToRecipient", 2): samples.send_certificate_to_recipient(CID),
        ("SetCertificateStatus", 2): samples.set_certificate_status(CID, "SENTTO", part="FKASSA"),
        ("ListCertificatesForCare", 3): samples.list_certificates_for_care(),
        ("ListCertificatesForCitizen", 3): samples.list_certificates_for_citizen(major=3),
        ("ListCertificatesForCitizen", 4): samples.list_certificates_for_citizen(major=4),
        ("ListRelationsForCertificate", 1): samples.list_relations_for_certificate((CID,)),
        ("GetCertificateTypeInfo", 1): samples.get_certificate_type_info(CID),
        ("SendMessageToCare", 2): to_care(str(uuid.uuid4()), CID),
        ("SendMessageToRecipient", 2): to_recipient(str(uuid.uuid4()), CID, amne="OVRIGT"),
        ("ListCertificatesForCareWithQA", 3): samples.envelope(
            f'<q:ListCertificatesForCareWithQA xmlns:q="{qa}"><q:person-id><t:root>1.2.752.129.2.1.3.1</t:root>'
            f"<t:extension>{samples.PATIENT}</t:extension></q:person-id><q:enhets-id><t:root>1.2.752.129.2.1.4.1"
            f"</t:root><t:extension>{samples.CARE_UNIT}</t:extension></q:enhets-id></q:ListCertificatesForCareWithQA>"
        ),
        ("GetRecipientsForCertificate", 1): through_zeep(
            "GetRecipientsForCertificate", 1, certificateId=CID, certificateType="lisjp"
        ),
        ("ListKnownRecipients", 1): through_zeep("ListKnownRecipients", 1),
        ("ListPossibleReceivers", 1): through_zeep(
            "ListPossibleReceivers", 1, intygTyp={"code": "LISJP", "codeSystem": TYPE_SYSTEM}
        ),
        ("ListApprovedReceivers", 1): through_zeep(
            "ListApprovedReceivers", 1, **{"intygs-id": {"root": samples.CARE_UNIT, "extension": CID}}
        ),
        ("RegisterApprovedReceivers", 1): through_zeep(
            "RegisterApprovedReceivers",
            1,
            **{
                "intyg-id": {"root": samples.CARE_UNIT, "extension": CID},
                "typAvIntyg": {"code": "LISJP", "codeSystem": TYPE_SYSTEM},
                "approvedReceivers": [{"receiverId": "FKASSA", "approvalStatus": "YES"}],
            },
        ),
        ("ListSickLeavesForCare", 1): samples.list_sick_leaves_for_care(samples.CARE_UNIT, min_days=1, max_days=400),
        ("ListActiveSickLeavesForCareUnit", 1): samples.list_active_sick_leaves_for_care_unit(
            samples.CARE_UNIT, samples.PATIENT, 3
        ),
        ("ListSickLeavesForPerson", 1): samples.list_sick_leaves_for_person(samples.PATIENT),
        # The rivtabp20 contracts: zeep puts the address in their WS-Addressing To header.
        ("SetCertificateStatus", 1): through_zeep(
            "SetCertificateStatus",
            1,
            certificateId=CID,
            nationalIdentityNumber=samples.PATIENT,
            target="FKASSA",
            status="RECEIVED",
            timestamp="2030-01-01T10:00:00",
        ),
        ("ListCertificates", 1): through_zeep("ListCertificates", 1, nationalIdentityNumber=samples.PATIENT),
    }


# ------------------------------------------------------------------ mutations


def _body_elements(root: etree._Element) -> list[etree._Element]:
    body = root.find(f"{{{SOAP_ENV}}}Body")
    return [el for el in body.iter() if isinstance(el.tag, str) and el is not body]


def _leaves(root: etree._Element) -> list[etree._Element]:
    return [el for el in _body_elements(root) if len(el) == 0]


def _inner(root: etree._Element) -> list[etree._Element]:
    """The elements below the request element, or the request element when it is empty."""
    found = _body_elements(root)
    return found[1:] or found


def drop(rng, root):
    el = rng.choice(_inner(root))
    el.getparent().remove(el)
    return f"dropped {etree.QName(el).localname}"


def repeat(rng, root):
    el = rng.choice(_inner(root))
    el.addnext(etree.fromstring(etree.tostring(el)))
    return f"repeated {etree.QName(el).localname}"


def rename(rng, root):
    el = rng.choice(_body_elements(root))
    el.tag = etree.QName(etree.QName(el).namespace, etree.QName(el).localname + "X").text
    return f"renamed {etree.QName(el).localname}"


def foreign_namespace(rng, root):
    el = rng.choice(_body_elements(root))
    el.tag = etree.QName("urn:example:foreign", etree.QName(el).localname).text
    return f"moved {etree.QName(el).localname} to a foreign namespace"


def empty(rng, root):
    el = rng.choice(_inner(root))
    for child in list(el):
        el.remove(child)
    el.text = None
    return f"emptied {etree.QName(el).localname}"


def odd_text(rng, root):
    el = rng.choice(_leaves(root))
    text = rng.choice(ODD_TEXTS)
    el.text = text
    return f"{etree.QName(el).localname} text = {text[:30]!r}"


def unknown_element(rng, root):
    el = rng.choice(_body_elements(root))
    etree.SubElement(el, etree.QName(etree.QName(el).namespace or "urn:x", "unexpected")).text = "?"
    return f"unknown element in {etree.QName(el).localname}"


def unknown_attribute(rng, root):
    el = rng.choice(_body_elements(root))
    el.set(rng.choice(("id", "foo", "{urn:example:foreign}bar")), rng.choice(ODD_TEXTS[:8]))
    return f"attribute on {etree.QName(el).localname}"


TREE_MUTATIONS = (
    drop,
    repeat,
    rename,
    foreign_namespace,
    empty,
    odd_text,
    odd_text,
    unknown_element,
    unknown_attribute,
)


def mutate(rng: random.Random, request: bytes) -> tuple[bytes, str]:
    roll = rng.random()
    if roll < 0.08:
        cut = rng.randrange(len(request))
        return request[:cut], f"cut at byte {cut}"
    if roll < 0.16:
        at = rng.randrange(len(request))
        value = rng.randrange(256)
        return request[:at] + bytes([value]) + request[at + 1 :], f"byte {at} set to {value}"
    root = etree.fromstring(request)
    steps = []
    for _ in range(rng.choice((1, 1, 2))):
        if not _body_elements(root):
            break  # the first step dropped the request element itself
        steps.append(rng.choice(TREE_MUTATIONS)(rng, root))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), "; ".join(steps)


# ---------------------------------------------------------------- invariants


def assert_soap_answer(response: requests.Response, what: str) -> None:
    assert response.status_code in (200, 500), f"{what}: HTTP {response.status_code}: {response.text[:300]}"
    assert b"Traceback" not in response.content and b'File "' not in response.content, what
    try:
        root = etree.fromstring(response.content)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"{what}: answer is not XML ({exc}): {response.content[:300]!r}") from None
    assert root.tag == f"{{{SOAP_ENV}}}Envelope", what
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None and len(body) == 1, what
    answer = body[0]
    if answer.tag == f"{{{SOAP_ENV}}}Fault":
        assert response.status_code == 500, what
        assert (answer.findtext("faultcode") or "").strip(), what
        assert (answer.findtext("faultstring") or "").strip(), what
    else:
        assert response.status_code == 200, what
        assert etree.QName(answer).localname.endswith("Response"), what


def test_every_contract_has_a_valid_request_here(gateway):
    served = {(c.name, c.major) for c in CONTRACTS}
    assert set(valid_requests(gateway)) == served


def test_broken_requests_get_soap_answers_and_leave_no_unexpected_failure(gateway):
    rng = random.Random(SEED)
    originals = valid_requests(gateway)
    for (name, major), request in originals.items():
        response = requests.post(gateway.base_url + endpoint_path(name, major), data=request, headers=XML, timeout=30)
        assert_soap_answer(response, f"{name}:{major} unchanged")
        for n in range(MUTANTS):
            body, how = mutate(rng, request)
            what = f"{name}:{major} mutant {n} ({how})"
            response = requests.post(gateway.base_url + endpoint_path(name, major), data=body, headers=XML, timeout=30)
            assert_soap_answer(response, what)
    assert requests.get(gateway.base_url + "/healthz", timeout=10).status_code == 200
    fresh = samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4())))
    ok = requests.post(gateway.base_url + endpoint_path("RegisterCertificate", 3), data=fresh, headers=XML, timeout=30)
    assert ok.status_code == 200 and b">OK<" in ok.content
    log = gateway.log_path.read_text(errors="replace")
    found = [line for line in log.splitlines() if any(mark in line for mark in UNEXPECTED)]
    assert not found, "\n".join(found[:20])
