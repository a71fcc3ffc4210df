"""Mutual TLS on loopback with certificates made by the test: who gets in, who may call what."""

from __future__ import annotations

import time

import pytest
import requests

from intygsgw.devtools.samples import CertificateSpec, get_certificate, register_certificate
from intygsgw.devtools.samples.certificates import PATIENT
from intygsgw.storage.db import connect_sqlite
from tests.support.server import GatewayProcess

from .conftest import AUTHORIZED, READER, STRANGER, cli, exported, write_authorizations

REGISTER = "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21"
GET = "/clinicalprocess/healthcond/certificate/GetCertificate/2/rivtabp21"


@pytest.fixture(scope="module")
def tls_gateway(pki, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gw-tls")
    gw = start_tls_gateway(pki, workdir, write_authorizations(workdir / "authorizations.toml"))
    yield gw
    gw.stop()


def start_tls_gateway(pki, workdir, authorizations) -> GatewayProcess:
    """Two workers serving mutual TLS with the test CA; the authorized client is the default."""
    gw = GatewayProcess(
        workdir,
        workers=2,
        extra_env={"INTYGSGW_DELIVERY": "false"},
        extra_args=[
            "--tls-cert",
            str(pki.server.cert_path),
            "--tls-key",
            str(pki.server.key_path),
            "--client-ca",
            str(pki.ca.cert_path),
            "--authorizations",
            str(authorizations),
        ],
        https={"cert": pki.authorized.pair, "verify": str(pki.ca.cert_path)},
    ).start()
    gw.authorizations = authorizations
    return gw


def post(gw, path, body, client, headers=None):
    return requests.post(
        gw.base_url + path,
        data=body,
        cert=client.pair,
        verify=str(gw.https["verify"]),
        headers={"Content-Type": "text/xml; charset=UTF-8", **(headers or {})},
        timeout=30,
    )


def stored_ids(gw) -> set[str]:
    with connect_sqlite(gw.workdir / "intygsgw.db") as db:
        return {r[0] for r in db.execute("SELECT id FROM certificate")}


def test_authorized_caller_registers_and_reads(tls_gateway, pki):
    cid = "tls-authorized-1"
    r = post(tls_gateway, REGISTER, register_certificate(CertificateSpec(certificate_id=cid)), pki.authorized)
    assert r.status_code == 200 and "<core:resultCode>OK</core:resultCode>" in r.text
    r = post(tls_gateway, GET, get_certificate(cid), pki.authorized)
    assert r.status_code == 200 and cid in r.text


def test_contract_specific_authorization(tls_gateway, pki):
    cid = "tls-reader-1"
    post(tls_gateway, REGISTER, register_certificate(CertificateSpec(certificate_id=cid)), pki.authorized)
    # READER may read at the hub's address…
    assert post(tls_gateway, GET, get_certificate(cid), pki.reader).status_code == 200
    # …but not at another address, and may not register.
    r = post(tls_gateway, GET, get_certificate(cid, logical_address="SE0000000000-OTHER"), pki.reader)
    assert r.status_code == 500 and "VP007" in r.text and READER in r.text
    r = post(tls_gateway, REGISTER, register_certificate(CertificateSpec(certificate_id="tls-reader-2")), pki.reader)
    assert r.status_code == 500 and "VP007" in r.text and "RegisterCertificateResponder:3" in r.text
    assert "tls-reader-2" not in stored_ids(tls_gateway)


def test_unauthorized_caller_is_refused_and_nothing_is_written(tls_gateway, pki):
    # STRANGER's only authorization expired in 2021.
    cid = "tls-stranger-1"
    r = post(tls_gateway, REGISTER, register_certificate(CertificateSpec(certificate_id=cid)), pki.stranger)
    assert r.status_code == 500
    assert "<faultcode>soap:Server</faultcode>" in r.text
    assert (
        f"VP007 [intygsgw] Authorization missing for serviceconsumer: {STRANGER}, receiver: 5565594230, "
        "service contract: urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3"
    ) in r.text
    assert cid not in stored_ids(tls_gateway)
    assert not [e for e in exported(tls_gateway.workdir, "--from", "2000-01-01") if e["caller"] == STRANGER]


def test_certificate_without_serialnumber_gets_vp002(tls_gateway, pki):
    r = post(tls_gateway, GET, get_certificate("tls-authorized-1"), pki.no_serial)
    assert r.status_code == 500 and "<faultcode>soap:Client</faultcode>" in r.text and "VP002" in r.text


@pytest.mark.parametrize("who", ["none", "wrong_ca", "expired"])
def test_handshake_refuses_clients_without_a_valid_certificate(tls_gateway, pki, who):
    cert = {"none": None, "wrong_ca": pki.wrong_ca.pair, "expired": pki.expired.pair}[who]
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.post(
            tls_gateway.base_url + GET,
            data=get_certificate("tls-authorized-1"),
            cert=cert,
            verify=str(pki.ca.cert_path),
            timeout=10,
        )


def test_plain_http_is_not_served_on_the_tls_port(tls_gateway):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(tls_gateway.base_url.replace("https", "http") + GET, data=b"<x/>", timeout=5)


def test_access_log_after_real_calls(tls_gateway, pki):
    cid = "tls-audit-1"
    headers = {
        "x-rivta-original-serviceconsumer-hsaid": "SE2321000016-ORIG",
        "x-rivta-acting-on-behalf-of-hsaid": "SE2321000016-BEHALF",
    }
    post(tls_gateway, REGISTER, register_certificate(CertificateSpec(certificate_id=cid)), pki.authorized, headers)
    post(tls_gateway, REGISTER, register_certificate(CertificateSpec(certificate_id=cid)), pki.authorized, headers)
    post(tls_gateway, GET, get_certificate(cid), pki.reader)
    post(tls_gateway, GET, get_certificate("tls-no-such-certificate"), pki.authorized)
    entries = [e for e in exported(tls_gateway.workdir, "--person", PATIENT) if "tls-audit-1" in e["certificate_ids"]]
    assert [(e["caller"], e["contract"].rsplit(":", 2)[-2], e["outcome"]) for e in entries] == [
        (AUTHORIZED, "RegisterCertificateResponder", "OK"),
        (AUTHORIZED, "RegisterCertificateResponder", "INFO"),
        (READER, "GetCertificateResponder", "OK"),
    ]
    first = entries[0]
    assert first["original_consumer"] == "SE2321000016-ORIG"
    assert first["acting_on_behalf"] == "SE2321000016-BEHALF"
    assert first["person_id"] == PATIENT and first["logical_address"] == "5565594230"
    assert entries[2]["original_consumer"] == ""
    missing = [
        e
        for e in exported(tls_gateway.workdir, "--from", "2000-01-01")
        if e["certificate_ids"] == ["tls-no-such-certificate"]
    ]
    assert len(missing) == 1 and missing[0]["outcome"] == "FAULT" and missing[0]["person_id"] == ""
    # The application log never carries the person id in clear.
    assert PATIENT not in (tls_gateway.workdir / "gateway.log").read_text(errors="replace")


def test_concurrent_calls_on_two_workers_keep_one_chain(tls_gateway, pki):
    from concurrent.futures import ThreadPoolExecutor

    bodies = [register_certificate(CertificateSpec(certificate_id=f"tls-chain-{i}")) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: post(tls_gateway, REGISTER, b, pki.authorized), bodies))
        reads = list(
            pool.map(lambda i: post(tls_gateway, GET, get_certificate(f"tls-chain-{i}"), pki.reader), range(40))
        )
    assert all(a.status_code == 200 and "<core:resultCode>OK<" in a.text for a in answers)
    assert all(r.status_code == 200 for r in reads)
    done = cli(tls_gateway.workdir, "audit", "verify")
    assert done.returncode == 0 and "access log intact" in done.stdout, done.stdout
    logged = [
        e
        for e in exported(tls_gateway.workdir, "--person", PATIENT)
        if e["certificate_ids"][0].startswith("tls-chain-")
    ]
    assert len(logged) == 80


def test_authorization_file_is_reloaded(tls_gateway, pki):
    # The new consumer's certificate is issued by the trusted CA; the file
    # grants it GetCertificate, and the running gateway picks that up.
    late = pki.ca.client("SE2321000016-A009")
    assert "VP007" in post(tls_gateway, GET, get_certificate("tls-authorized-1"), late).text
    write_authorizations(
        tls_gateway.authorizations,
        """
[[authorization]]
consumer = "SE2321000016-A009"
contract = "GetCertificate:2"
logical_address = "*"
""",
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        r = post(tls_gateway, GET, get_certificate("tls-authorized-1"), late)
        if r.status_code == 200:
            break
        time.sleep(0.3)
    assert r.status_code == 200 and "tls-authorized-1" in r.text


def test_sigterm_under_mutual_tls_finishes_in_flight_requests(pki, tmp_path):
    # With TLS the gateway runs under another server (gunicorn), whose shutdown must keep the same promise.
    from tests.integration.test_concurrency_and_shutdown import assert_stored_after_restart, sigterm_mid_traffic

    workdir = tmp_path / "gw"
    gw = start_tls_gateway(pki, workdir, write_authorizations(tmp_path / "authorizations.toml"))
    answered = sigterm_mid_traffic(gw, cert=pki.authorized.pair, verify=str(pki.ca.cert_path))
    assert_stored_after_restart(workdir, answered)
