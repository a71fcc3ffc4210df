"""Behind a TLS-terminating proxy: the forwarded certificate counts only from a trusted proxy."""

from __future__ import annotations

import urllib.parse

import pytest
import requests

from intygsgw.devtools.samples import CertificateSpec, get_certificate, register_certificate
from tests.support.server import GatewayProcess

from .conftest import AUTHORIZED, write_authorizations

REGISTER = "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21"
GET = "/clinicalprocess/healthcond/certificate/GetCertificate/2/rivtabp21"


def _gateway(workdir, pki, proxies: str, env: dict | None = None) -> GatewayProcess:
    authorizations = write_authorizations(workdir / "authorizations.toml")
    return GatewayProcess(
        workdir,
        workers=1,
        extra_env={
            "INTYGSGW_DELIVERY": "false",
            "INTYGSGW_TRUSTED_PROXIES": proxies,
            "INTYGSGW_CLIENT_CA": str(pki.ca.cert_path),
            "INTYGSGW_AUTHORIZATION_FILE": str(authorizations),
            **(env or {}),
        },
    ).start()


@pytest.fixture(scope="module")
def proxied(pki, tmp_path_factory):
    # The test process is the proxy: it connects from 127.0.0.1. The
    # environment also carries a look-alike of the header, which must not count.
    gw = _gateway(
        tmp_path_factory.mktemp("gw-proxy"), pki, "127.0.0.0/8, ::1", env={"HTTP_X_VP_AUTH_CERT": pki.authorized.pem}
    )
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def untrusting(pki, tmp_path_factory):
    gw = _gateway(tmp_path_factory.mktemp("gw-untrusting"), pki, "10.1.2.3")
    yield gw
    gw.stop()


def _folded(pem: str) -> str:
    return pem.strip().replace("\n", " ")


def post(gw, path, body, cert_header: str | None):
    headers = {"Content-Type": "text/xml; charset=UTF-8"}
    if cert_header is not None:
        headers["x-vp-auth-cert"] = cert_header
    return requests.post(gw.base_url + path, data=body, headers=headers, timeout=30)


def test_forwarded_certificate_identifies_the_caller(proxied, pki):
    # nginx forwards $ssl_client_escaped_cert: URL-encoded PEM.
    forwarded = urllib.parse.quote(pki.authorized.pem)
    r = post(proxied, REGISTER, register_certificate(CertificateSpec(certificate_id="proxy-1")), forwarded)
    assert r.status_code == 200 and "<core:resultCode>OK</core:resultCode>" in r.text
    # PEM folded onto one line, as some proxies send it.
    assert post(proxied, GET, get_certificate("proxy-1"), _folded(pki.authorized.pem)).status_code == 200


@pytest.mark.parametrize("which", ["missing", "stranger", "wrong_ca", "expired", "garbage"])
def test_forwarded_certificate_that_does_not_authorize(proxied, pki, which):
    header = {
        "missing": None,
        "stranger": _folded(pki.stranger.pem),
        "wrong_ca": _folded(pki.wrong_ca.pem),
        "expired": _folded(pki.expired.pem),
        "garbage": "-----BEGIN CERTIFICATE-----AAAA-----END CERTIFICATE-----",
    }[which]
    r = post(proxied, GET, get_certificate("proxy-1"), header)
    assert r.status_code == 500
    expected = "VP007" if which == "stranger" else "VP002"
    assert expected in r.text, r.text


def test_header_from_an_untrusted_peer_is_ignored(untrusting, pki):
    r = post(
        untrusting,
        REGISTER,
        register_certificate(CertificateSpec(certificate_id="proxy-2")),
        _folded(pki.authorized.pem),
    )
    assert r.status_code == 500 and "VP002" in r.text
    assert AUTHORIZED not in r.text


def test_a_forwarded_certificate_stops_counting_when_it_expires(pki):
    # The parse and the issuer check are cached per header value; the validity
    # window must still be looked at on every request.
    import datetime as dt
    import time

    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from intygsgw.devtools.devpki import subject_name
    from intygsgw.trust.identity import ProxyTrust

    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    short = pki.ca.issue(
        "client-short-lived",
        subject_name("System short-lived", AUTHORIZED),
        usage=usage,
        eku=ExtendedKeyUsageOID.CLIENT_AUTH,
        not_after=expires,
    )
    trust = ProxyTrust("127.0.0.1/32", "x-vp-auth-cert", str(pki.ca.cert_path))
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_VP_AUTH_CERT": urllib.parse.quote(short.pem)}
    assert trust.caller(environ).hsa_id == AUTHORIZED
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.1)
    assert trust.caller(environ) is None
