"""Outbound mutual TLS per route: PEM or PKCS#12 client certificates, a CA bundle per route.

The receiver is a real gateway serving mutual TLS with a test CA (as
tests/trust does). A revocation of a certificate it does not hold comes back
as its ERROR result, which proves the whole round trip went through the
handshake; without an accepted client certificate or with the wrong CA
bundle, the call never gets that far.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from lxml import etree

from intygsgw.devtools.samples import revoke_certificate
from intygsgw.interactions import REVOKE_CERTIFICATE_2
from intygsgw.outbound.routing import RouteFileError, parse_routes
from intygsgw.outbound.sender import Outbound
from intygsgw.outbound.tls_files import pkcs12_to_pem_files
from tests.support.server import GatewayProcess
from tests.trust.conftest import pki, write_authorizations  # noqa: F401  (pki is a fixture)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture(scope="module")
def receiver(pki, tmp_path_factory):  # noqa: F811
    workdir = tmp_path_factory.mktemp("tls-receiver")
    gw = GatewayProcess(
        workdir,
        extra_env={"INTYGSGW_DELIVERY": "false"},
        extra_args=[
            "--tls-cert",
            str(pki.server.cert_path),
            "--tls-key",
            str(pki.server.key_path),
            "--client-ca",
            str(pki.ca.cert_path),
            "--authorizations",
            str(write_authorizations(workdir / "authorizations.toml")),
        ],
        https={"cert": pki.authorized.pair, "verify": str(pki.ca.cert_path)},
    ).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def bundle(pki, tmp_path_factory):  # noqa: F811
    """The authorized client's certificate and key as a password-protected PKCS#12 file."""
    path = tmp_path_factory.mktemp("p12") / "client.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"client",
            pki.authorized.key,
            pki.authorized.cert,
            [pki.ca.issued.cert],
            BestAvailableEncryption(b"hemligt"),
        )
    )
    return path


def revocation_payload(cid: str) -> bytes:
    body = etree.fromstring(revoke_certificate(cid)).find(f"{{{SOAP}}}Body")[0]
    return etree.tostring(body)


def call_with(receiver, tls: str):
    routes = parse_routes(f'''
[[route]]
contract = "RevokeCertificate:2"
logical_address = "*"
url = "{receiver.base_url}/clinicalprocess/healthcond/certificate/RevokeCertificate/2/rivtabp21"
connect_timeout = 5
read_timeout = 10
{tls}''')
    return Outbound(lambda: routes).send(REVOKE_CERTIFICATE_2.namespace, "5565594230", revocation_payload("tls-out-1"))


def expect_round_trip(outcome):
    assert outcome.kind == "result", outcome.describe()
    assert (outcome.result_code, outcome.error_id, outcome.text) == (
        "ERROR",
        "APPLICATION_ERROR",
        "Certificate tls-out-1 does not exist for patient.",
    )


def test_pem_client_certificate_and_ca_bundle(receiver, pki):  # noqa: F811
    cert, key = pki.authorized.pair
    expect_round_trip(
        call_with(
            receiver, f'tls = {{ client_cert = "{cert}", client_key = "{key}", ca_bundle = "{pki.ca.cert_path}" }}'
        )
    )


def test_pkcs12_client_certificate(receiver, pki, bundle):  # noqa: F811
    expect_round_trip(
        call_with(
            receiver, f'tls = {{ pkcs12 = "{bundle}", pkcs12_password = "hemligt", ca_bundle = "{pki.ca.cert_path}" }}'
        )
    )


def test_pkcs12_is_converted_into_private_files(bundle):
    cert_file, key_file = pkcs12_to_pem_files(str(bundle), "hemligt")
    assert pkcs12_to_pem_files(str(bundle), "hemligt") == (cert_file, key_file)  # once per bundle
    for path in (cert_file, key_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(key_file)).st_mode) == 0o700
    assert Path(cert_file).read_text().count("BEGIN CERTIFICATE") == 2  # the chain travels with it


def test_without_a_client_certificate_the_handshake_fails(receiver, pki):  # noqa: F811
    outcome = call_with(receiver, f'tls = {{ ca_bundle = "{pki.ca.cert_path}" }}')
    assert outcome.kind == "connect" and outcome.retryable


def test_a_server_not_signed_by_the_routes_ca_is_refused(receiver, pki):  # noqa: F811
    cert, key = pki.authorized.pair
    outcome = call_with(
        receiver, f'tls = {{ client_cert = "{cert}", client_key = "{key}", ca_bundle = "{pki.other_ca.cert_path}" }}'
    )
    assert outcome.kind == "connect" and "CERTIFICATE_VERIFY_FAILED" in outcome.text


@pytest.mark.parametrize(
    "tls, complaint",
    [
        ('tls = { pkcs12 = "/nonexistent/client.p12" }', "tls.pkcs12: no such file '/nonexistent/client.p12'"),
        ('tls = { pkcs12 = "{bundle}", pkcs12_password = "fel" }', "tls.pkcs12: PKCS#12 file"),
        ('tls = { client_key = "{bundle}" }', "tls.client_key needs tls.client_cert"),
        ('tls = { pkcs12 = "{bundle}", client_cert = "{bundle}" }', "give tls.pkcs12 or tls.client_cert"),
    ],
)
def test_bad_tls_settings_reject_the_routes_file(bundle, tls, complaint):
    text = '[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\nurl = "https://x"\n' + tls.replace(
        "{bundle}", str(bundle)
    )
    with pytest.raises(RouteFileError) as excinfo:
        parse_routes(text, "routes.toml")
    assert str(excinfo.value).startswith("routes.toml: route #1 (line 1): ")
    assert complaint in str(excinfo.value)
