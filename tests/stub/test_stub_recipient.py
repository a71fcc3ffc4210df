"""The stub recipient, run as a real process on loopback and spoken to over HTTP."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import requests
from lxml import etree

from intygsgw.devtools.stub.client import StubError
from intygsgw.devtools.stub.process import StubProcess
from tests.support.paths import CERT_DOMAIN, published

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
CERT = "urn:riv:clinicalprocess:healthcond:certificate"
CORE = f"{CERT}:3"
TYPES = f"{CERT}:types:3"
XML = {"Content-Type": "text/xml; charset=UTF-8"}

CONTRACTS = {
    "RegisterCertificate": 3,
    "RevokeCertificate": 2,
    "SendMessageToRecipient": 2,
    "SendMessageToCare": 2,
    "CertificateStatusUpdateForCare": 3,
}


def _intygs_id(prefix: str, cert_id: str) -> str:
    return (
        f"<{prefix}:intygs-id><t:root>SE5565594230-B31</t:root>"
        f"<t:extension>{cert_id}</t:extension></{prefix}:intygs-id>"
    )


def envelope(
    contract: str = "RegisterCertificate",
    cert_id: str = "cert-1",
    address: str | None = "FKORG",
    message_id: str = "msg-1",
) -> bytes:
    """A small request in the shape the gateway sends (not schema-complete: the stub does not validate)."""
    major = CONTRACTS[contract]
    if contract in ("RegisterCertificate", "CertificateStatusUpdateForCare"):
        # The certificate's own id comes first; a relation's id must not be mistaken for it.
        content = (
            f"<ns:intyg>{_intygs_id('core', cert_id)}<core:relation><core:typ><t:code>ERSATT</t:code>"
            f"</core:typ>{_intygs_id('core', 'older-' + cert_id)}</core:relation></ns:intyg>"
        )
    elif contract == "RevokeCertificate":
        content = (
            f"<ns:meddelande>Fel patient</ns:meddelande><ns:skickatTidpunkt>2024-05-02T10:00:00"
            f"</ns:skickatTidpunkt>{_intygs_id('ns', cert_id)}"
        )
    else:
        content = (
            f"<ns:meddelande-id>{message_id}</ns:meddelande-id><ns:skickatTidpunkt>2024-05-02T10:00:00"
            f"</ns:skickatTidpunkt>{_intygs_id('ns', cert_id)}"
        )
    header = (
        (
            '<soap:Header><riv:LogicalAddress xmlns:riv="urn:riv:itintegration:registry:1">'
            f"{address}</riv:LogicalAddress></soap:Header>"
        )
        if address is not None
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:core="{CORE}" xmlns:t="{TYPES}">{header}<soap:Body>'
        f'<ns:{contract} xmlns:ns="{CERT}:{contract}Responder:{major}">{content}</ns:{contract}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def answer_element(resp: requests.Response) -> etree._Element:
    root = etree.fromstring(resp.content)
    assert root.tag == f"{{{SOAP}}}Envelope"
    body = root.find(f"{{{SOAP}}}Body")
    assert body is not None and len(body) == 1
    return body[0]


def result_of(resp: requests.Response, contract: str = "RegisterCertificate") -> dict:
    ns = f"{CERT}:{contract}Responder:{CONTRACTS[contract]}"
    element = answer_element(resp)
    assert element.tag == f"{{{ns}}}{contract}Response"
    result = element.find(f"{{{ns}}}result")
    assert result is not None, resp.text
    return {etree.QName(child).localname: child.text for child in result if etree.QName(child).namespace == CORE}


def fault_of(resp: requests.Response) -> tuple[str, str]:
    fault = answer_element(resp)
    assert fault.tag == f"{{{SOAP}}}Fault"
    return fault.findtext("faultcode"), fault.findtext("faultstring")


@pytest.fixture(scope="module")
def stub_process(tmp_path_factory):
    proc = StubProcess(tmp_path_factory.mktemp("stub"), name="FKASSA").start()
    yield proc
    proc.stop()


@pytest.fixture
def stub(stub_process):
    stub_process.client.reset()
    yield stub_process.client
    assert stub_process.alive(), stub_process.log()


def post(
    stub, body: bytes, path: str = "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21", **kwargs
) -> requests.Response:
    headers = {**XML, **kwargs.pop("headers", {})}
    return requests.post(stub.url(path), data=body, headers=headers, timeout=kwargs.pop("timeout", 10), **kwargs)


def test_register_certificate_is_answered_ok_and_recorded_as_received(stub):
    body = envelope(cert_id="9f02dd2f-b3f2", address="FKORG")
    resp = post(
        stub,
        body,
        headers={
            "SOAPAction": f'"{CERT}:RegisterCertificateResponder:3:RegisterCertificate"',
            "x-skltp-correlation-id": "corr-42",
            "x-rivta-original-serviceconsumer-hsaid": "SE2321000016-ABCD",
        },
    )

    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert result_of(resp) == {"resultCode": "OK"}

    [msg] = stub.messages()
    assert msg["contract"] == "RegisterCertificate" and msg["major"] == 3
    assert msg["certificate_id"] == "9f02dd2f-b3f2"
    assert msg["logical_address"] == "FKORG"
    assert msg["path"] == "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21"
    assert msg["headers"]["x-skltp-correlation-id"] == "corr-42"
    assert msg["headers"]["x-rivta-original-serviceconsumer-hsaid"] == "SE2321000016-ABCD"
    assert msg["headers"]["soapaction"].endswith(':RegisterCertificateResponder:3:RegisterCertificate"')
    assert msg["parsed"] is True and msg["error"] is None
    assert (msg["outcome"], msg["http_status"], msg["rule"]) == ("OK", 200, None)
    assert msg["size"] == len(body)
    assert "body" not in msg  # listings stay small

    full = stub.message(msg["seq"])
    assert base64.b64decode(full["body_base64"]) == body
    assert full["body"] == body.decode()
    assert stub.body(msg["seq"]) == body


@pytest.mark.parametrize("contract", CONTRACTS)
def test_each_contract_gets_its_own_response_on_any_path(stub, contract):
    resp = post(stub, envelope(contract, cert_id=f"id-{contract}", message_id="m-77"), path="/anywhere/at/all")

    assert resp.status_code == 200
    assert result_of(resp, contract) == {"resultCode": "OK"}
    [msg] = stub.messages()
    assert (msg["contract"], msg["major"]) == (contract, CONTRACTS[contract])
    assert msg["certificate_id"] == f"id-{contract}"
    assert msg["message_id"] == ("m-77" if contract.startswith("SendMessage") else None)
    assert msg["path"] == "/anywhere/at/all"


_SCHEMAS = {
    "RegisterCertificate": "RegisterCertificateInteraction/RegisterCertificateResponder_3.1.xsd",
    "RevokeCertificate": "RevokeCertificateInteraction/RevokeCertificateResponder_2.1.xsd",
    "SendMessageToRecipient": "SendMessageToRecipientInteraction/SendMessageToRecipientResponder_2.1.xsd",
    "SendMessageToCare": "SendMessageToCareInteraction/SendMessageToCareResponder_2.0.xsd",
    "CertificateStatusUpdateForCare": "CertificateStatusUpdateForCareInteraction/CertificateStatusUpdateForCareResponder_3.2.xsd",
}


@pytest.mark.usefixtures("published_contracts")
def test_answers_validate_against_the_published_responder_schemas(stub):
    interactions = published(CERT_DOMAIN / "interactions")
    stub.add_rules(
        [
            {"certificate_id": "info", "result_code": "INFO", "result_text": "Certificate already exists"},
            {
                "certificate_id": "error",
                "result_code": "ERROR",
                "error_id": "VALIDATION_ERROR",
                "result_text": "Bad & <wrong>",
            },
        ]
    )
    for contract, xsd in _SCHEMAS.items():
        schema = etree.XMLSchema(etree.parse(str(interactions / xsd)))
        for cert_id, code in (("ok", "OK"), ("info", "INFO"), ("error", "ERROR")):
            resp = post(stub, envelope(contract, cert_id=cert_id))
            element = answer_element(resp)
            assert schema.validate(etree.ElementTree(element)), (contract, code, schema.error_log)
            assert result_of(resp, contract)["resultCode"] == code
    assert result_of(post(stub, envelope(cert_id="error")))["resultText"] == "Bad & <wrong>"


def test_listing_filters_by_contract_certificate_address_outcome_and_since(stub):
    stub.add_rule(certificate_id="c-3", result_code="ERROR")
    post(stub, envelope("RegisterCertificate", cert_id="c-1", address="FKORG"))
    post(stub, envelope("RevokeCertificate", cert_id="c-1", address="FKORG"))
    post(stub, envelope("RegisterCertificate", cert_id="c-3", address="TSORG"))
    first, second, third = stub.messages()

    assert [m["seq"] for m in stub.messages(contract="RegisterCertificate")] == [first["seq"], third["seq"]]
    assert [m["seq"] for m in stub.messages(contract="RevokeCertificate:2")] == [second["seq"]]
    assert stub.messages(contract="RevokeCertificate:9") == []
    assert [m["seq"] for m in stub.messages(certificate_id="c-1")] == [first["seq"], second["seq"]]
    assert [m["seq"] for m in stub.messages(logical_address="tsorg")] == [third["seq"]]
    assert [m["seq"] for m in stub.messages(outcome="ERROR")] == [third["seq"]]
    assert [m["seq"] for m in stub.messages(since=first["seq"])] == [second["seq"], third["seq"]]
    assert [m["seq"] for m in stub.messages(since=first["seq"], limit=1)] == [second["seq"]]
    # Empty filters are no filters (a query string like ?contract=&since=).
    resp = requests.get(stub.base_url + "/_stub/messages?contract=&certificate_id=&since=", timeout=10)
    assert len(resp.json()) == 3

    assert stub.clear() == 3
    assert stub.messages() == []
    post(stub, envelope(cert_id="c-4"))
    [after] = stub.messages()
    assert after["seq"] == third["seq"] + 1  # numbers keep growing, so `since` stays a safe cursor
    with pytest.raises(StubError, match="404"):
        stub.message(first["seq"])


def test_an_error_rule_with_times_fires_that_often_then_expires(stub):
    rule = stub.add_rule(
        contract="RegisterCertificate",
        certificate_id="c-err",
        result_code="ERROR",
        error_id="TECHNICAL_ERROR",
        result_text="Try again later",
        times=1,
    )
    assert rule["remaining"] == 1

    assert result_of(post(stub, envelope(cert_id="other")))["resultCode"] == "OK"  # not matched, not spent
    assert result_of(post(stub, envelope("RevokeCertificate", cert_id="c-err")), "RevokeCertificate") == {
        "resultCode": "OK"
    }  # another contract
    assert result_of(post(stub, envelope(cert_id="c-err"))) == {
        "resultCode": "ERROR",
        "errorId": "TECHNICAL_ERROR",
        "resultText": "Try again later",
    }
    assert stub.rules() == []
    assert result_of(post(stub, envelope(cert_id="c-err")))["resultCode"] == "OK"

    assert [(m["certificate_id"], m["outcome"], m["rule"]) for m in stub.messages()] == [
        ("other", "OK", None),
        ("c-err", "OK", None),
        ("c-err", "ERROR", rule["id"]),
        ("c-err", "OK", None),
    ]


def test_the_first_matching_rule_wins_and_addresses_ignore_case(stub):
    info, error = stub.add_rules(
        [
            {"logical_address": "fkorg", "result_code": "INFO", "result_text": "Certificate already exists"},
            {"result_code": "ERROR", "error_id": "APPLICATION_ERROR", "result_text": "No"},
        ]
    )
    assert result_of(post(stub, envelope(address="FKORG"))) == {
        "resultCode": "INFO",
        "resultText": "Certificate already exists",
    }
    assert result_of(post(stub, envelope(address="TSORG")))["errorId"] == "APPLICATION_ERROR"
    assert result_of(post(stub, envelope(address="FkOrg")))["resultCode"] == "INFO"
    assert [(r["id"], r["fired"], r["remaining"]) for r in stub.rules()] == [
        (info["id"], 2, None),
        (error["id"], 1, None),
    ]


def test_a_fault_rule_answers_a_soap_fault_on_http_500(stub):
    stub.add_rule(contract="RegisterCertificate:3", fault_string="Producer is having a bad day", times=1)
    stub.add_rule(contract="RevokeCertificate", action="fault", fault_code="soap:Client", fault_string="Nope")

    resp = post(stub, envelope())
    assert resp.status_code == 500
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert fault_of(resp) == ("soap:Server", "Producer is having a bad day")
    revoke = post(stub, envelope("RevokeCertificate"))
    assert (revoke.status_code, fault_of(revoke)) == (500, ("soap:Client", "Nope"))
    assert [(m["outcome"], m["http_status"]) for m in stub.messages()] == [("fault", 500), ("fault", 500)]


def test_an_http_rule_answers_without_soap(stub):
    stub.add_rule(status=503, body="upstream maintenance\n", times=1)
    stub.add_rule(action="http", status=200, body="<html>login</html>", content_type="text/html")

    resp = post(stub, envelope())
    assert (resp.status_code, resp.text) == (503, "upstream maintenance\n")
    assert resp.headers["Content-Type"].startswith("text/plain")
    html = post(stub, envelope())
    assert (html.status_code, html.text, html.headers["Content-Type"]) == (200, "<html>login</html>", "text/html")
    assert [(m["outcome"], m["http_status"]) for m in stub.messages()] == [("http", 503), ("http", 200)]


def test_a_close_rule_drops_the_connection_and_the_stub_keeps_serving(stub):
    rule = stub.add_rule(certificate_id="c-drop", action="close", times=1)

    with pytest.raises(requests.exceptions.RequestException) as caught:
        post(stub, envelope(cert_id="c-drop"))
    assert not isinstance(caught.value, requests.exceptions.Timeout)
    assert stub.health()["status"] == "up"
    assert result_of(post(stub, envelope(cert_id="c-drop")))["resultCode"] == "OK"
    assert [(m["outcome"], m["http_status"], m["rule"]) for m in stub.messages()] == [
        ("close", None, rule["id"]),
        ("OK", 200, None),
    ]


def test_a_delay_rule_answers_late(stub):
    stub.add_rule(certificate_id="c-slow", delay_ms=800, times=2)

    with pytest.raises(requests.exceptions.ReadTimeout):
        post(stub, envelope(cert_id="c-slow"), timeout=(5, 0.2))
    started = time.monotonic()
    resp = post(stub, envelope(cert_id="c-slow"))
    assert time.monotonic() - started >= 0.8  # a lower bound: sleeping never ends early
    assert result_of(resp)["resultCode"] == "OK"
    # Recorded on arrival, before the wait: a caller that gave up still shows up.
    assert [m["outcome"] for m in stub.messages(certificate_id="c-slow")] == ["OK", "OK"]
    assert stub.rules() == []


def test_down_answers_503_to_every_soap_request_until_up(stub):
    stub.add_rule(result_code="ERROR", times=1)
    stub.down()

    resp = post(stub, envelope())
    assert resp.status_code == 503
    assert "down" in resp.text and resp.headers["Content-Type"].startswith("text/plain")
    assert post(stub, b"not even xml").status_code == 503
    assert stub.health() == {"status": "down", "name": "FKASSA", "messages": 2, "rules": 1}
    assert [r["remaining"] for r in stub.rules()] == [1]  # an outage does not spend rules

    stub.up()
    assert result_of(post(stub, envelope()))["resultCode"] == "ERROR"
    assert result_of(post(stub, envelope()))["resultCode"] == "OK"
    assert [m["outcome"] for m in stub.messages()] == ["down", "down", "ERROR", "OK"]


def test_malformed_xml_gets_a_soap_fault_is_recorded_and_the_stub_stays_up(stub):
    resp = post(stub, b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>")
    assert resp.status_code == 500
    code, text = fault_of(resp)
    assert code == "soap:Client" and "not well-formed" in text

    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    resp = post(stub, bomb)
    assert resp.status_code == 500 and "DOCTYPE" in fault_of(resp)[1]

    assert result_of(post(stub, envelope()))["resultCode"] == "OK"
    broken, doctype, good = stub.messages()
    assert (broken["parsed"], broken["outcome"], broken["contract"]) == (False, "fault", None)
    assert "not well-formed" in broken["error"]
    assert doctype["parsed"] is False
    assert (good["parsed"], good["outcome"]) == (True, "OK")
    assert stub.body(broken["seq"]).endswith(b"<soap:Body>")


def test_a_missing_logical_address_or_an_unserved_element_is_a_client_fault(stub):
    stub.add_rule(result_code="ERROR")  # rules only apply to answerable requests

    resp = post(stub, envelope(address=None))
    assert resp.status_code == 500
    assert fault_of(resp)[0] == "soap:Client" and "LogicalAddress" in fault_of(resp)[1]

    other = envelope().replace(b"RegisterCertificateResponder:3", b"RegisterCertificateResponder:1")
    resp = post(stub, other)
    assert resp.status_code == 500 and "does not serve" in fault_of(resp)[1]

    missing, unserved = stub.messages()
    assert (missing["parsed"], missing["logical_address"], missing["certificate_id"]) == (True, None, "cert-1")
    assert (missing["contract"], missing["outcome"]) == ("RegisterCertificate", "fault")
    assert unserved["contract"] is None
    assert unserved["element"] == f"{{{CERT}:RegisterCertificateResponder:1}}RegisterCertificate"
    assert [r["fired"] for r in stub.rules()] == [0]


@pytest.mark.parametrize(
    "rule, complaint",
    [
        ({"result_code": "MAYBE"}, "result_code"),
        ({"result_code": "ERROR", "error_id": "OOPS"}, "error_id"),
        ({"contract": "RegisterCertificat"}, "not served"),
        ({"colour": "red"}, "unknown key"),
        ({"action": "result", "status": 503}, "unknown key"),
        ({"action": "explode"}, "unknown action"),
        ({"times": 0}, "times"),
        ({"delay_ms": "soon"}, "delay_ms"),
        ([{"result_code": "OK"}, {"fault_code": "Sometimes"}], "rule 2"),
    ],
)
def test_bad_rules_are_refused_whole(stub, rule, complaint):
    resp = requests.post(stub.base_url + "/_stub/rules", json=rule, timeout=10)
    assert resp.status_code == 400
    assert complaint in resp.json()["error"]
    assert stub.rules() == []


def test_the_api_refuses_what_it_does_not_serve(stub):
    assert requests.post(stub.base_url + "/_stub/rules", data=b"{not json", timeout=10).status_code == 400
    assert requests.get(stub.base_url + "/_stub/nothing", timeout=10).status_code == 404
    assert requests.get(stub.base_url + "/_stub/down", timeout=10).status_code == 405
    assert requests.get(stub.base_url + "/_stub/messages/abc", timeout=10).status_code == 404
    assert requests.get(stub.base_url + "/_stub/messages?since=x", timeout=10).status_code == 400
    assert requests.get(stub.base_url + "/_stub/messages?limit=0", timeout=10).status_code == 400
    assert requests.get(stub.url("/some/soap/path"), timeout=10).status_code == 405
    assert stub.messages() == []


def test_concurrent_requests_are_each_recorded_once(stub):
    threads, per_thread = 4, 150
    failures = []

    def send(worker: int) -> None:
        with requests.Session() as http:
            for i in range(per_thread):
                resp = http.post(stub.url(), data=envelope(cert_id=f"w{worker}-{i}"), headers=XML, timeout=10)
                if resp.status_code != 200 or b">OK<" not in resp.content:
                    failures.append(resp.text)

    workers = [threading.Thread(target=send, args=(n,)) for n in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    print(
        f"\nstub recipient: {threads * per_thread / elapsed:.0f} requests/s "
        f"({threads} client threads, plain OK answers, loopback)"
    )

    assert failures == []
    messages = stub.messages()
    seqs = [m["seq"] for m in messages]
    assert len(seqs) == threads * per_thread
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert len({m["certificate_id"] for m in messages}) == threads * per_thread


def test_rules_file_store_file_and_bounded_memory(tmp_path):
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(
        json.dumps(
            [
                {"contract": "RegisterCertificate", "certificate_id": "c-2", "result_code": "ERROR", "times": 1},
                {"logical_address": "TSORG", "status": 503},
            ]
        )
    )
    store_file = tmp_path / "received.jsonl"
    proc = StubProcess(
        tmp_path, name="TRANSP", rules_file=rules_file, store_file=store_file, extra_args=["--keep", "3"]
    ).start()
    try:
        stub = proc.client
        assert [r["action"] for r in stub.rules()] == ["result", "http"]
        bodies = [envelope(cert_id=f"c-{n}") for n in range(1, 6)]
        codes = [result_of(post(stub, b))["resultCode"] for b in bodies]
        assert codes == ["OK", "ERROR", "OK", "OK", "OK"]
        assert post(stub, envelope(address="tsorg")).status_code == 503

        assert [m["seq"] for m in stub.messages()] == [4, 5, 6]  # only the newest three are kept
        lines = [json.loads(line) for line in store_file.read_text().splitlines()]
        assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]  # the file keeps everything
        assert [base64.b64decode(line["body_base64"]) for line in lines[:5]] == bodies
        assert lines[1]["outcome"] == "ERROR" and lines[1]["certificate_id"] == "c-2"
        assert stub.health()["name"] == "TRANSP"
    finally:
        proc.stop()


def test_a_bad_rules_file_stops_the_start_with_a_clear_message(tmp_path):
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps({"result_code": "SOMETIMES"}))
    with pytest.raises(RuntimeError, match="result_code must be one of"):
        StubProcess(tmp_path, rules_file=rules_file).start()
