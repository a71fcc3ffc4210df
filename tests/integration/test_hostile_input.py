"""Hostile and malformed requests get a clear SOAP fault, quickly, and the server stays up.

These go straight over HTTP with ``requests`` because a SOAP library would
refuse to send most of them. The request timeout is a hang guard, not a
speed check.
"""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.server import GatewayProcess
from tests.support.soapclient import endpoint_path

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
REGISTER_PATH = endpoint_path("RegisterCertificate", 3)
GET_PATH = endpoint_path("GetCertificate", 2)
HANG_GUARD = 30


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gw = GatewayProcess(
        tmp_path_factory.mktemp("gw-hostile"),
        workers=1,
        extra_env={"INTYGSGW_DELIVERY": "false", "INTYGSGW_MAX_BODY_BYTES": str(1024 * 1024)},
    ).start()
    yield gw
    gw.stop()


def post(gateway, body: bytes, path: str = REGISTER_PATH, headers: dict | None = None) -> requests.Response:
    return requests.post(
        gateway.base_url + path,
        data=body,
        timeout=HANG_GUARD,
        headers=headers or {"Content-Type": "text/xml; charset=UTF-8"},
    )


def fault_of(response: requests.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text[:500]
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def assert_still_serving(gateway) -> None:
    assert requests.get(gateway.base_url + "/healthz", timeout=HANG_GUARD).status_code == 200
    cid = str(uuid.uuid4())
    ok = post(gateway, samples.register_certificate(CertificateSpec(certificate_id=cid)))
    assert ok.status_code == 200 and b">OK<" in ok.content


def wrap(
    body: str,
    header: str = '<h:LogicalAddress xmlns:h="urn:riv:itintegration:registry:1">5565594230</h:LogicalAddress>',
) -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Header>{header}</soapenv:Header>'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


class ListenerThatMustNotBeCalled:
    """A loopback port that records any connection: proof the parser stays offline."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.hits = 0
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/evil.dtd"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_xxe_external_entity_is_refused_and_never_read(gateway):
    listener = ListenerThatMustNotBeCalled()
    try:
        body = (
            f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY file SYSTEM "file:///etc/passwd">'
            f'<!ENTITY net SYSTEM "{listener.url}">]>' + wrap("<x>&file;&net;</x>")
        ).encode()
        response = post(gateway, body)
    finally:
        listener.close()
    assert response.status_code == 500
    code, text = fault_of(response)
    assert code.endswith("Client") and "DOCTYPE" in text
    assert b"root:" not in response.content
    assert listener.hits == 0
    assert_still_serving(gateway)


def test_external_dtd_is_not_fetched(gateway):
    listener = ListenerThatMustNotBeCalled()
    try:
        body = (f'<?xml version="1.0"?><!DOCTYPE x SYSTEM "{listener.url}">' + wrap("<x/>")).encode()
        response = post(gateway, body)
    finally:
        listener.close()
    assert fault_of(response)[0].endswith("Client")
    assert listener.hits == 0


def test_entity_bomb_is_refused(gateway):
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 12)
    )
    body = (f'<?xml version="1.0"?><!DOCTYPE x [{entities}]>' + wrap("<x>&a11;</x>")).encode()
    response = post(gateway, body)
    assert response.status_code == 500
    assert fault_of(response)[0].endswith("Client")
    assert len(response.content) < 4096
    assert_still_serving(gateway)


def test_xinclude_is_refused(gateway):
    body = wrap(
        '<x xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/></x>'
    ).encode()
    response = post(gateway, body)
    code, text = fault_of(response)
    assert code.endswith("Client") and "XInclude" in text
    assert b"root:" not in response.content


def test_body_over_the_limit_gets_413(gateway):
    body = wrap("<x>" + "a" * (1024 * 1024 + 10) + "</x>").encode()
    response = post(gateway, body)
    assert response.status_code == 413
    code, text = fault_of(response)
    assert code.endswith("Client") and "exceeds the limit of 1048576 bytes" in text
    assert_still_serving(gateway)


def test_non_xml_and_empty_bodies(gateway):
    for body in (b"this is not xml", b"", b"\x00\xff\xfe garbage", b"<unclosed>"):
        response = post(gateway, body)
        assert response.status_code == 500
        code, text = fault_of(response)
        assert code.endswith("Client") and text.startswith("Malformed request")


def test_soap_12_envelope_is_a_version_mismatch(gateway):
    body = b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><x/></env:Body></env:Envelope>'
    response = post(gateway, body, headers={"Content-Type": "application/soap+xml"})
    code, text = fault_of(response)
    assert code.endswith("VersionMismatch") and "SOAP 1.2" in text


def test_unknown_body_element(gateway):
    response = post(gateway, wrap('<u:Nothing xmlns:u="urn:example:unknown"/>').encode())
    code, text = fault_of(response)
    assert code.endswith("Client") and "{urn:example:unknown}Nothing" in text


def test_missing_logical_address(gateway):
    envelope = samples.get_certificate("x").replace(b"<add:LogicalAddress>5565594230</add:LogicalAddress>", b"")
    response = post(gateway, envelope, GET_PATH)
    code, text = fault_of(response)
    assert code.endswith("Client") and "LogicalAddress" in text


def test_deep_nesting_is_refused(gateway):
    depth = 100_000
    body = wrap("<a>" * depth + "</a>" * depth).encode()
    response = post(gateway, body)
    assert fault_of(response)[0].endswith("Client")
    assert_still_serving(gateway)


def test_latin1_request_is_read_with_its_declared_encoding(gateway):
    cid = str(uuid.uuid4())
    utf8 = samples.register_certificate(CertificateSpec(certificate_id=cid, care_unit_name="Vårdcentralen Åby"))
    latin1 = utf8.decode("utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("iso-8859-1")
    response = post(gateway, latin1, headers={"Content-Type": "text/xml; charset=ISO-8859-1"})
    assert response.status_code == 200 and b">OK<" in response.content
    got = post(gateway, samples.get_certificate(cid), GET_PATH)
    assert "Vårdcentralen Åby".encode() in got.content


@pytest.mark.parametrize("declaration", ["", '<?xml version="1.0"?>'])
def test_latin1_request_without_an_encoding_declaration_is_read_with_its_http_charset(gateway, declaration):
    cid = str(uuid.uuid4())
    utf8 = samples.register_certificate(CertificateSpec(certificate_id=cid, care_unit_name="Vårdcentralen Åby"))
    text = utf8.decode("utf-8").replace('<?xml version="1.0" encoding="UTF-8"?>', declaration)
    assert "encoding=" not in text[:100]
    response = post(gateway, text.encode("iso-8859-1"), headers={"Content-Type": 'text/xml; charset="ISO-8859-1"'})
    assert response.status_code == 200 and b">OK<" in response.content, response.text
    got = post(gateway, samples.get_certificate(cid), GET_PATH)
    assert "Vårdcentralen Åby".encode() in got.content


@pytest.mark.parametrize(
    "charset, reason",
    [
        ("x-no-such-charset", "the encoding 'x-no-such-charset' in the Content-Type is not accepted"),
        ("punycode", "the encoding 'punycode' in the Content-Type is not accepted"),
        ("utf-16", "the encoding 'utf-16' in the Content-Type is not accepted"),
        ("windows-1252", "the body is not valid windows-1252 as the Content-Type says"),  # 0x81 is unassigned there
    ],
)
def test_a_charset_the_body_cannot_be_read_in_is_a_client_fault(gateway, charset, reason):
    body = samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4())))
    body = body.replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"").replace(b"Linden", b"Linden\x81")
    response = post(gateway, body, headers={"Content-Type": f"text/xml; charset={charset}"})
    assert response.status_code == 500
    fault = etree.fromstring(response.content).find(f".//{{{SOAP_ENV}}}Fault")
    assert fault.findtext("faultcode").endswith("Client") and reason in fault.findtext("faultstring")


@pytest.mark.parametrize("declared", ["UTF-7", "UTF-16", "ISO-2022-JP", "Shift_JIS"])
def test_encodings_whose_bytes_can_spell_a_tag_the_parser_never_saw_are_refused(gateway, declared):
    # In these encodings a comment's bytes can read as the payload's tags,
    # and the stored bytes are cut out of the raw request by its tags.
    text = samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4()))).decode("utf-8")
    body = text.replace('encoding="UTF-8"', f'encoding="{declared}"').encode(
        declared.replace("_", "-"), errors="xmlcharrefreplace"
    )
    response = post(gateway, body, headers={"Content-Type": "text/xml"})
    assert response.status_code == 500, response.text[:300]
    fault = etree.fromstring(response.content).find(f".//{{{SOAP_ENV}}}Fault")
    assert fault.findtext("faultcode").endswith("Client")
    assert "is not accepted; send UTF-8" in fault.findtext("faultstring")


@pytest.mark.parametrize("soap_action", [None, '""', '"urn:wrong:action"', "RegisterCertificate"])
def test_missing_or_wrong_soap_action_is_tolerated(gateway, soap_action):
    headers = {"Content-Type": "text/xml; charset=UTF-8"}
    if soap_action is not None:
        headers["SOAPAction"] = soap_action
    body = samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4())))
    response = post(gateway, body, headers=headers)
    assert response.status_code == 200 and b">OK<" in response.content


def test_every_wsdl_is_served_with_resolvable_imports(gateway):
    from intygsgw.registry import CONTRACTS

    for contract in CONTRACTS:
        wsdl = requests.get(f"{gateway.base_url}{contract.path}?wsdl", timeout=HANG_GUARD)
        assert wsdl.status_code == 200, contract.path
        doc = etree.fromstring(wsdl.content)
        address = doc.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address").get("location")
        assert address == gateway.base_url + contract.path
        for imp in doc.iter("{http://www.w3.org/2001/XMLSchema}import"):
            location = imp.get("schemaLocation")
            assert location.startswith(gateway.base_url + "/schemas/")
            assert requests.get(location, timeout=HANG_GUARD).status_code == 200, location


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain; charset=UTF-8", "application/xml"])
def test_a_request_not_sent_as_text_xml_is_refused_unread_and_writes_nothing(gateway, content_type):
    cid = f"content-type-{uuid.uuid4()}"
    headers = {"Content-Type": content_type} if content_type else {"Content-Type": ""}
    response = post(gateway, samples.register_certificate(CertificateSpec(certificate_id=cid)), headers=headers)
    assert response.status_code == 415
    code, text = fault_of(response)
    assert code.endswith("Client") and "SOAP 1.1, sent as text/xml" in text
    after = post(gateway, samples.get_certificate(cid), GET_PATH)
    assert "does not exist" in fault_of(after)[1]


def test_text_xml_with_any_charset_parameter_is_served(gateway):
    cid = f"content-type-{uuid.uuid4()}"
    response = post(
        gateway,
        samples.register_certificate(CertificateSpec(certificate_id=cid)),
        headers={"Content-Type": 'TEXT/XML; charset="utf-8"'},
    )
    assert response.status_code == 200 and b">OK<" in response.content
