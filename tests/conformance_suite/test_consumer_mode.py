"""Consumer mode: a stand-in hub a journal system's client is pointed at.

The client here is plain HTTP with the project's sample requests: a recorded
scenario answers the first registration with TECHNICAL_ERROR, the embedded
hub answers the rest truthfully, and a request against the schema is
reported as the client's fault.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.interactions import GET_CERTIFICATE_2, REGISTER_CERTIFICATE_3
from tests.support.paths import REPO_ROOT

CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scenario_answer_then_the_hubs_and_an_invalid_request_reported(tmp_path):
    scenario = tmp_path / "flaky.toml"
    scenario.write_text(
        '[[answer]]\ncontract = "RegisterCertificate:3"\ntimes = 1\nresult = "ERROR"\n'
        'error_id = "TECHNICAL_ERROR"\ntext = "Try again"\n',
        encoding="utf-8",
    )
    port = free_port()
    junit = tmp_path / "consumer.xml"
    args = ["consumer", "--port", str(port), "--scenario", str(scenario), "--junit", str(junit)]
    scratch = tmp_path / "tmp"  # where the stand-in keeps its own hub's database for the run
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "intygsgw.cli.conformance", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # up once the stand-in answers a WSDL, which comes from the embedded hub
            try:
                if requests.get(base + REGISTER_CERTIFICATE_3.path + "?wsdl", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the stand-in hub did not start"
            time.sleep(0.3)

        def post(path: str, body: bytes) -> etree._Element:
            return etree.fromstring(requests.post(base + path, data=body, timeout=30).content)

        register = samples.register_certificate(CertificateSpec("consumer-cert-1"))
        first = post(REGISTER_CERTIFICATE_3.path, register)
        assert first.findtext(f".//{{{CORE}}}errorId") == "TECHNICAL_ERROR"
        assert post(REGISTER_CERTIFICATE_3.path, register).findtext(f".//{{{CORE}}}resultCode") == "OK"
        got = post(GET_CERTIFICATE_2.path, samples.get_certificate("consumer-cert-1"))
        assert b"consumer-cert-1" in etree.tostring(got)
        broken = register.replace(b"<c:typ>", b"<c:typ><c:unexpected/>", 1)
        post(REGISTER_CERTIFICATE_3.path, broken)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "call 1: RegisterCertificate:3 (answered by the scenario)" in out
    assert "call 2: RegisterCertificate:3 (answered by the hub)" in out
    assert "not valid against the request schema" in out
    assert not list(scratch.iterdir()), "the run left files behind"
    suite = etree.parse(str(junit)).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")
