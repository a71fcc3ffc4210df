"""``intygsgw keys create``, ``sign`` and ``verify`` as a newcomer runs them, then a gateway on those keys."""

from __future__ import annotations

import requests
from cryptography import x509
from cryptography.x509.oid import NameOID

from intygsgw.devtools.samples import CertificateSpec, intyg_document
from intygsgw.devtools.samples.signed import register_with_intyg
from tests.support.pki import TestCA
from tests.support.server import GatewayProcess
from tests.trust.conftest import cli

REGISTER = "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21"


def _serial(path) -> str:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value


def test_keys_sign_verify_and_serve(tmp_path):
    done = cli(tmp_path, "keys", "create", "--dir", "k", "--client-hsa-id", "SE2321000016-NEW1")
    assert done.returncode == 0, done.stderr
    k = tmp_path / "k"
    assert _serial(k / "client.crt") == "SE2321000016-NEW1"
    assert _serial(k / "signer.crt") == "SE2321000016-1R2F"
    assert (k / "signer.key").stat().st_mode & 0o077 == 0

    (tmp_path / "intyg.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + intyg_document(CertificateSpec(certificate_id="cli-1")) + b"\n"
    )
    done = cli(tmp_path, "sign", "intyg.xml", "--key", "k/signer.key", "--cert", "k/signer.crt", "--out", "signed.xml")
    assert done.returncode == 0, done.stderr
    done = cli(tmp_path, "verify", "signed.xml", "--ca", "k/development_ca.crt")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("VALID: intyg signed by SERIALNUMBER=SE2321000016-1R2F,")
    assert "certificate id: cli-1" in done.stdout

    signed = (tmp_path / "signed.xml").read_bytes()
    (tmp_path / "bad.xml").write_bytes(signed.replace(b"Tolvan<", b"Tolvar<"))
    done = cli(tmp_path, "verify", "bad.xml", "--ca", "k/development_ca.crt")
    assert done.returncode == 1 and "INVALID: intyg: the signed content was changed" in done.stdout
    done = cli(tmp_path, "verify", "intyg.xml", "--ca", "k/development_ca.crt")
    assert done.returncode == 1 and "not signed" in done.stdout
    assert cli(tmp_path, "verify", "signed.xml", env={"INTYGSGW_SIGNING_CA": ""}).returncode == 2

    # The whole request verifies too, and the same keys serve mutual TLS with
    # a signature required.
    start = signed.index(b"<r:intyg")
    request = register_with_intyg(signed[start:].rstrip())
    (tmp_path / "request.xml").write_bytes(request)
    assert cli(tmp_path, "verify", "request.xml", "--ca", "k/development_ca.crt").returncode == 0
    auth = tmp_path / "authorizations.toml"
    auth.write_text('[[authorization]]\nconsumer = "SE2321000016-NEW1"\ncontract = "*"\nlogical_address = "*"\n')
    gw = GatewayProcess(
        tmp_path / "gw",
        extra_env={
            "INTYGSGW_DELIVERY": "false",
            "INTYGSGW_SIGNING_CA": str(k / "development_ca.crt"),
            "INTYGSGW_SIGNATURE_POLICY": "require",
        },
        extra_args=[
            "--tls-cert",
            str(k / "server.crt"),
            "--tls-key",
            str(k / "server.key"),
            "--client-ca",
            str(k / "development_ca.crt"),
            "--authorizations",
            str(auth),
        ],
        https={"cert": (str(k / "client.crt"), str(k / "client.key")), "verify": str(k / "development_ca.crt")},
    )
    gw.start()
    try:
        answer = requests.post(
            gw.base_url + REGISTER, data=request, headers={"Content-Type": "text/xml"}, timeout=30, **gw.https
        )
        unsigned = requests.post(
            gw.base_url + REGISTER,
            data=register_with_intyg(intyg_document(CertificateSpec(certificate_id="cli-2"))),
            headers={"Content-Type": "text/xml"},
            timeout=30,
            **gw.https,
        )
    finally:
        gw.stop()
    assert "<core:resultCode>OK</core:resultCode>" in answer.text, answer.text
    assert "is not signed" in unsigned.text


def test_sign_refuses_a_key_and_certificate_that_do_not_belong_together(tmp_path):
    assert cli(tmp_path, "keys", "create", "--dir", "k").returncode == 0
    (tmp_path / "intyg.xml").write_bytes(intyg_document(CertificateSpec()))
    done = cli(tmp_path, "sign", "intyg.xml", "--key", "k/signer.key", "--cert", "k/client.crt")
    assert done.returncode == 2 and "is not the certificate of the key" in done.stderr


def test_serve_refuses_signature_settings_it_cannot_honour(tmp_path):
    cases = [
        ({"INTYGSGW_SIGNATURE_POLICY": "require"}, "no signing_ca bundle is configured"),
        ({"INTYGSGW_SIGNATURE_POLICY": "sometimes"}, "require, verify-if-present or off"),
        (
            {"INTYGSGW_SIGNATURE_POLICY": "off", "INTYGSGW_SIGNATURE_POLICIES": "lisjp=require"},
            "no signing_ca bundle is configured",
        ),
        ({"INTYGSGW_SIGNING_CA": str(tmp_path / "missing.pem")}, "cannot read CA bundle"),
        ({"INTYGSGW_SIGNING_KEY": str(tmp_path / "missing.key")}, "signing_key and signing_cert go together"),
        # A misspelt type would otherwise stay at the default policy.
        (
            {
                "INTYGSGW_SIGNATURE_POLICIES": "lisjp=require, lsjp=require",
                "INTYGSGW_SIGNING_CA": str(TestCA(tmp_path / "ca").cert_path),
            },
            "signature_policies names unknown certificate type(s) lsjp; known: ",
        ),
    ]
    for env, message in cases:
        done = cli(tmp_path, "serve", "--port", "1", env=env)
        assert done.returncode == 2, (env, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (env, done.stderr)
