"""Outbound signing: a route with ``sign = true`` gets the body element signed with the gateway's key.

The gateway forwards a doctor-signed certificate to the stub recipient
(SendCertificateToRecipient); the test verifies both signatures on the
bytes the stub received: the gateway's over the RegisterCertificate element
and the doctor's over the intyg inside it, which went out untouched.
"""

from __future__ import annotations

import pytest
import requests
from lxml import etree

from intygsgw.devtools.samples import (
    CertificateSpec,
    revoke_certificate,
    send_certificate_to_recipient,
    set_certificate_status,
)
from intygsgw.devtools.samples.signed import signed_intyg, signed_register_certificate
from intygsgw.devtools.stub.process import running_stub
from intygsgw.signing.verify import verify_enveloped, verify_intyg_signature
from intygsgw.signing.xml import DS
from tests.support.server import GatewayProcess
from tests.trust.conftest import cli

from .conftest import DOCTOR, key_of

REGISTER = "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21"
SEND = "/clinicalprocess/healthcond/certificate/SendCertificateToRecipient/2/rivtabp21"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
REGISTER_NS = "urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3"


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    with running_stub(tmp_path_factory.mktemp("stub-signed")) as client:
        yield client


def _gateway(workdir, keys, stub, *, sign: bool, with_key: bool = True, delivery: bool = False) -> GatewayProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    routes = workdir / "routes.toml"
    flag = "true" if sign else "false"
    routes.write_text(
        f'[[route]]\ncontract = "RegisterCertificate:3"\nlogical_address = "FKORG"\n'
        f'url = "{stub.url("/fk/register")}"\nsign = {flag}\n'
        f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "FKORG"\n'
        f'url = "{stub.url("/fk/revoke")}"\nsign = {flag}\n'
    )
    env = {
        "INTYGSGW_DELIVERY": "true" if delivery else "false",
        "INTYGSGW_ROUTES_FILE": str(routes),
        "INTYGSGW_SIGNING_CA": str(keys.ca.cert_path),
    }
    if with_key:
        env |= {
            "INTYGSGW_SIGNING_KEY": str(keys.gateway.key_path),
            "INTYGSGW_SIGNING_CERT": str(keys.gateway.cert_path),
        }
    return GatewayProcess(workdir, workers=1, extra_env=env).start()


def _post(gw, path, body) -> str:
    resp = requests.post(gw.base_url + path, data=body, headers={"Content-Type": "text/xml"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.text


def _forward(gw, stub, cid: str, keys) -> bytes:
    spec = CertificateSpec(certificate_id=cid)
    assert "<core:resultCode>OK<" in _post(gw, REGISTER, signed_register_certificate(spec, key_of(keys.rsa)))
    stub.clear()
    answer = _post(gw, SEND, send_certificate_to_recipient(cid, "FKASSA"))
    assert "<core:resultCode>OK<" in answer, answer
    [msg] = stub.wait_for(certificate_id=cid)
    return stub.body(msg["seq"])


def _body_element(envelope: bytes) -> etree._Element:
    return etree.fromstring(envelope).find(f"{{{SOAP}}}Body/{{{REGISTER_NS}}}RegisterCertificate")


def test_signed_route(keys, stub, tmp_path):
    gw = _gateway(tmp_path / "gw", keys, stub, sign=True)
    try:
        received = _forward(gw, stub, "out-signed-1", keys)
    finally:
        gw.stop()
    body = _body_element(received)
    assert body[-1].tag == f"{{{DS}}}Signature"
    gateway_verdict = verify_enveloped(body, keys.trust)
    assert gateway_verdict.valid, gateway_verdict.reason
    assert gateway_verdict.signer_hsa_id == "SE2321000016-GW01"
    # The doctor's intyg went out as it was signed, byte for byte.
    doctor_intyg = signed_intyg(CertificateSpec(certificate_id="out-signed-1"), key_of(keys.rsa))
    start = doctor_intyg.index(b"<c:intygs-id>")
    assert doctor_intyg[start : doctor_intyg.index(b"<ds:SignatureValue>")] in received
    verdict = verify_intyg_signature(body.find(f"{{{REGISTER_NS}}}intyg"), keys.trust)
    assert verdict.valid and verdict.signer_hsa_id == DOCTOR, verdict.reason
    # What the recipient got can be checked from the command line as well.
    (tmp_path / "received.xml").write_bytes(received)
    done = cli(tmp_path, "verify", "--body", "received.xml", "--ca", str(keys.ca.cert_path))
    assert done.returncode == 0 and "VALID: RegisterCertificate signed by SERIALNUMBER=SE2321000016-GW01" in done.stdout
    done = cli(tmp_path, "verify", "received.xml", "--ca", str(keys.ca.cert_path))
    assert done.returncode == 0 and "VALID: intyg signed by SERIALNUMBER=SE2321000016-1R2F" in done.stdout
    # Changing the forwarded certificate breaks the gateway's signature.
    tampered = _body_element(received.replace(b"<c:fornamn>Tolvan<", b"<c:fornamn>Tolvar<"))
    assert not verify_enveloped(tampered, keys.trust).valid


def test_unsigned_route_sends_the_stored_element_unchanged(keys, stub, tmp_path):
    gw = _gateway(tmp_path / "gw", keys, stub, sign=False)
    try:
        received = _forward(gw, stub, "out-plain-1", keys)
    finally:
        gw.stop()
    body = _body_element(received)
    assert body[-1].tag == f"{{{REGISTER_NS}}}intyg"
    assert verify_intyg_signature(body[-1], keys.trust).valid


def test_signed_route_without_a_key_fails_the_send(keys, stub, tmp_path):
    gw = _gateway(tmp_path / "gw", keys, stub, sign=True, with_key=False)
    try:
        spec = CertificateSpec(certificate_id="out-nokey-1")
        assert "<core:resultCode>OK<" in _post(gw, REGISTER, signed_register_certificate(spec, key_of(keys.ec)))
        stub.clear()
        answer = _post(gw, SEND, send_certificate_to_recipient("out-nokey-1", "FKASSA"))
        log = gw.log()
    finally:
        gw.stop()
    assert "<core:resultCode>ERROR<" in answer and "TECHNICAL_ERROR" in answer
    assert stub.messages() == []
    assert "requires signing and no signing_key is configured" in log


def test_outbox_deliveries_are_signed_too(keys, stub, tmp_path):
    # A revocation of a certificate sent to FKASSA goes out through the
    # outbox and the delivery loop, over the same signing route logic.
    revoke_ns = "urn:riv:clinicalprocess:healthcond:certificate:RevokeCertificateResponder:2"
    gw = _gateway(tmp_path / "gw", keys, stub, sign=True, delivery=True)
    try:
        cid = "out-revoke-1"
        assert "<core:resultCode>OK<" in _post(
            gw, REGISTER, signed_register_certificate(CertificateSpec(certificate_id=cid), key_of(keys.ec))
        )
        assert "<core:resultCode>OK<" in _post(
            gw,
            "/clinicalprocess/healthcond/certificate/SetCertificateStatus/2/rivtabp21",
            set_certificate_status(cid, "SENTTO", part="FKASSA"),
        )
        stub.clear()
        assert "<core:resultCode>OK<" in _post(
            gw, "/clinicalprocess/healthcond/certificate/RevokeCertificate/2/rivtabp21", revoke_certificate(cid)
        )
        [msg] = stub.wait_for(certificate_id=cid, timeout=30)
        received = stub.body(msg["seq"])
    finally:
        gw.stop()
    body = etree.fromstring(received).find(f"{{{SOAP}}}Body/{{{revoke_ns}}}RevokeCertificate")
    assert body is not None and body[-1].tag == f"{{{DS}}}Signature"
    verdict = verify_enveloped(body, keys.trust)
    assert verdict.valid and verdict.signer_hsa_id == "SE2321000016-GW01", verdict.reason
