"""The contract test suite testers run (`rivta-conformance`), pointed at real things.

Producer mode against a gateway this module starts; receiver mode against the
project's stub recipient, and against the gateway's own RegisterCertificate
endpoint (which accepts a generated certificate of every type only if the
suite's certificates are valid); and against a deliberately broken receiver,
a real HTTP server here that answers in the wrong namespace, with INFO
instead of OK, or after ten seconds, each of which must be reported with its
reason. The rivtabp20 cases run against the gateway, and through a proxy
that spoils its answers, so that their checks are shown to bite.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from lxml import etree

from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import LIST_CERTIFICATES_1, REGISTER_CERTIFICATE_3, SET_CERTIFICATE_STATUS_1
from tests.support.paths import REPO_ROOT
from tests.support.server import GatewayProcess


def conformance(*args: str, timeout: float = 600, tmpdir: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "intygsgw.cli.conformance", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def junit_counts(path: Path) -> dict[str, int]:
    suite = etree.parse(str(path)).getroot().find("testsuite")
    return {k: int(suite.get(k)) for k in ("tests", "failures", "skipped")}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    gw = GatewayProcess(tmp_path_factory.mktemp("gw"), workers=1, extra_env={"INTYGSGW_DELIVERY": "false"}).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    stub = StubProcess(tmp_path_factory.mktemp("stub"), name="FKASSA").start()
    yield stub
    stub.stop()


def test_the_producer_suite_passes_against_the_gateway_with_reports(gateway, tmp_path):
    junit, page = tmp_path / "junit.xml", tmp_path / "report.html"
    done = conformance("producer", "--base-url", gateway.base_url, "--junit", str(junit), "--html", str(page))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    counts = junit_counts(junit)
    assert counts["tests"] >= 25 and counts["failures"] == 0 and counts["skipped"] == 0, counts
    assert " 0 failed" in done.stdout
    html = page.read_text(encoding="utf-8")
    # Every request and answer is in the page, the test person's id never.
    assert "RegisterCertificate" in html and "[person-id]" in html
    assert "191212121212" not in html and "191212121212" not in done.stdout


def test_the_rivtabp20_contracts_cases_all_ran_and_passed(gateway, tmp_path):
    junit = tmp_path / "junit.xml"
    done = conformance("producer", "--base-url", gateway.base_url, "--junit", str(junit), "--quiet")
    assert done.returncode == 0, done.stdout[-4000:]
    ran: dict[str, list[str]] = {}
    for case in etree.parse(str(junit)).getroot().iter("testcase"):
        assert case.find("failure") is None and case.find("skipped") is None, case.get("name")
        ran.setdefault(case.get("classname"), []).append(case.get("name"))
    status, listing = ran["SetCertificateStatus-1"], ran["ListCertificates-1"]
    assert "a status set for the certificate's patient is seen through ListCertificates 1" in status
    assert "the date window ends at the end of toDate" in listing
    # Every documented refusal of either contract is a case of its own.
    for name in ("unknown certificate", "unknown target", "another patient's", "does not parse", "schema violation"):
        assert any(name in n for n in status), name
    for name in ("does not parse", "does not exist", "schema violation", "without the WS-Addressing To"):
        assert any(name in n for n in listing), name


def test_the_rivtabp20_cases_that_write_are_left_out_by_read_only(gateway, tmp_path):
    junit = tmp_path / "junit.xml"
    done = conformance("producer", "--base-url", gateway.base_url, "--read-only", "--junit", str(junit), "--quiet")
    assert done.returncode == 0, done.stdout[-3000:]
    skipped, ran = set(), set()
    for case in etree.parse(str(junit)).getroot().iter("testcase"):
        if case.get("classname").endswith("-1"):
            (skipped if case.find("skipped") is not None else ran).add(case.get("name"))
    assert "a status set for the certificate's patient is seen through ListCertificates 1" in skipped
    assert "the date window starts at midnight of fromDate" in skipped
    assert "an unknown target is refused" in ran and "a date that does not exist is a VALIDATION_ERROR" in ran


def test_read_only_leaves_out_every_case_that_writes(gateway, tmp_path):
    junit = tmp_path / "junit.xml"
    done = conformance("producer", "--base-url", gateway.base_url, "--read-only", "--junit", str(junit))
    assert done.returncode == 0, done.stdout[-3000:]
    counts = junit_counts(junit)
    assert counts["skipped"] > 0 and counts["tests"] - counts["skipped"] > 0, counts
    skipped = etree.parse(str(junit)).getroot().iter("skipped")
    assert all("writes" in s.get("message") for s in skipped)


def test_a_wrong_expectation_fails_the_run_with_its_reason(gateway, tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "mine.toml").write_text(
        'contract = "GetCertificate:2"\n'
        "[[case]]\n"
        'name = "an unknown id answers OK (it does not)"\n'
        "writes = false\n"
        "[[case.step]]\n"
        "body = '''<g:GetCertificate xmlns:g=\"${ns}\"><g:intygs-id><t:root>${unit}</t:root>"
        "<t:extension>${id}</t:extension></g:intygs-id><g:part><t:code>HSVARD</t:code>"
        "<t:codeSystem>769bb12b-bd9f-4203-a5cd-fd14f2eb3b80</t:codeSystem></g:part></g:GetCertificate>'''\n"
        'expect = { result = "OK" }\n',
        encoding="utf-8",
    )
    done = conformance("producer", "--base-url", gateway.base_url, "--cases", str(cases), "--only", "(it does not)")
    assert done.returncode == 1
    assert "a SOAP fault (Server: Certificate with id" in done.stdout


def test_a_broken_case_file_is_refused_naming_the_problem(gateway, tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "bad.toml").write_text('contract = "NoSuchContract:9"\n', encoding="utf-8")
    done = conformance("producer", "--base-url", gateway.base_url, "--cases", str(cases))
    assert done.returncode == 2
    assert "bad.toml: contract must name a known contract" in done.stderr


@pytest.mark.parametrize(
    "contract",
    [
        "RegisterCertificate:3",
        "RevokeCertificate:2",
        "SendMessageToRecipient:2",
        "SendMessageToCare:2",
        "CertificateStatusUpdateForCare:3",
    ],
)
def test_the_receiver_suite_passes_against_the_stub_recipient(stub, contract, tmp_path):
    # RegisterCertificate's cases sign with keys made for the run: none may stay behind.
    done = conformance("receiver", "--url", stub.base_url + "/receive", "--contract", contract, tmpdir=tmp_path)
    assert done.returncode == 0, done.stdout[-4000:]
    assert " 0 failed" in done.stdout
    assert not list(tmp_path.iterdir()), "the run left files behind"


def test_every_generated_certificate_is_one_the_gateway_accepts(gateway):
    done = conformance(
        "receiver", "--url", gateway.base_url + REGISTER_CERTIFICATE_3.path, "--contract", "RegisterCertificate:3"
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "[tstrk1062]" in done.stdout and "[lisjp]" in done.stdout


# -- a receiver that gets it wrong ------------------------------------------------------------------

RESPONSE = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<r:RegisterCertificateResponse xmlns:r="{ns}" xmlns:c="urn:riv:clinicalprocess:healthcond:certificate:3">'
    "<r:result><c:resultCode>{code}</c:resultCode>{text}</r:result></r:RegisterCertificateResponse>"
    "</soap:Body></soap:Envelope>"
)


class BrokenReceiver(http.server.ThreadingHTTPServer):
    def __init__(self, mode: str):
        self.mode = mode
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/receive"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.server.mode
        ns, code, text = REGISTER_CERTIFICATE_3.namespace, "OK", ""
        if mode == "wrong-namespace":
            ns = "urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:2"
        elif mode == "info":
            code, text = "INFO", "<c:resultText>Noted</c:resultText>"
        elif mode == "slow":
            time.sleep(10)
        body = RESPONSE.format(ns=ns, code=code, text=text).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("wrong-namespace", "the answer element is {urn:riv:clinicalprocess:healthcond:certificate:"),
        ("info", "resultCode INFO (Noted), expected OK"),
        ("slow", "more than the 5 s allowed"),
    ],
)
def test_a_broken_receiver_is_reported_with_the_reason_per_case(mode, reason):
    server = BrokenReceiver(mode)
    try:
        only = ["--only", "[lisjp]"]
        done = conformance("receiver", "--url", server.url, "--contract", "RegisterCertificate:3", *only)
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stdout
    assert "FAIL RegisterCertificate.toml: a valid certificate of each type is accepted [lisjp]" in done.stdout
    assert reason in done.stdout, done.stdout


@pytest.mark.parametrize("mode", ["producer", "receiver"])
def test_every_shipped_request_expected_to_succeed_is_valid_against_its_schema(mode):
    """A case whose answer must be OK would prove nothing about a receiver that rejects a broken request."""
    from intygsgw.conformance.cases import CASES_DIR, load_cases
    from intygsgw.conformance.runner import _request_bytes, placeholders
    from intygsgw.interactions import by_key
    from intygsgw.soap.schemas import compiled

    checked = 0
    for case in load_cases(CASES_DIR / mode):
        values = placeholders(case.options, "191212121212")
        for step in case.steps:
            wanted = step.expect.result
            if wanted not in ("OK", ("OK", "INFO")) or step.envelope is not None or step.replace:
                continue
            raw = _request_bytes(step, values, "5565594230", case.name)
            body = etree.fromstring(raw).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
            schema = compiled(by_key(step.contract).schema)
            assert schema.validate(body), f"{case.file}: {case.name}: {schema.error_log.last_error}"
            checked += 1
    assert checked >= 5


# -- a hub that gets the rivtabp20 contracts wrong ----------------------------------------------------

WSA = "http://www.w3.org/2005/08/addressing"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
META = "urn:riv:insuranceprocess:certificate:1"


class SpoilingProxy(http.server.ThreadingHTTPServer):
    """Passes each call to the gateway and hands back its answer after ``spoil``; keeps the requests."""

    def __init__(self, upstream: str, spoil):
        self.upstream, self.spoil, self.requests = upstream, spoil, []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append((self.path, raw))
        headers = {k: self.headers[k] for k in ("Content-Type", "SOAPAction") if self.headers.get(k)}
        answer = requests.post(self.server.upstream + self.path, data=raw, headers=headers, timeout=30)
        body = self.server.spoil(self.path, answer.content)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _as_result_type(path: str, answer: bytes) -> bytes:
    # The version 3 ResultType's name for the text: the ResultOfCall schema has no such element.
    return answer.replace(b"errorText>", b"resultText>")


def _without_fkassa_statuses(path: str, answer: bytes) -> bytes:
    if not path.startswith(LIST_CERTIFICATES_1.path):
        return answer
    root = etree.fromstring(answer)
    for status in list(root.iter(f"{{{META}}}status")):
        if status.findtext(f"{{{META}}}target") == "FKASSA":
            status.getparent().remove(status)
    return etree.tostring(root)


def _run_through(gateway, spoil, only: str) -> tuple[subprocess.CompletedProcess, SpoilingProxy]:
    proxy = SpoilingProxy(gateway.base_url, spoil)
    try:
        return conformance("producer", "--base-url", proxy.base_url, "--only", only), proxy
    finally:
        proxy.shutdown()


def test_the_rivtabp20_requests_carry_the_address_in_the_to_header(gateway):
    done, proxy = _run_through(gateway, lambda path, answer: answer, "is seen through ListCertificates 1")
    assert done.returncode == 0, done.stdout
    headers = {}
    for path, raw in proxy.requests:
        header = etree.fromstring(raw).find(f"{{{SOAP}}}Header")
        headers[path] = [(etree.QName(h).namespace, etree.QName(h).localname, h.text) for h in header]
    assert headers[SET_CERTIFICATE_STATUS_1.path] == [(WSA, "To", "5565594230")]
    assert headers[LIST_CERTIFICATES_1.path] == [(WSA, "To", "5565594230")]
    assert headers[REGISTER_CERTIFICATE_3.path] == [
        ("urn:riv:itintegration:registry:1", "LogicalAddress", "5565594230")
    ]


@pytest.mark.parametrize(
    ("spoil", "only", "reasons"),
    [
        (
            _as_result_type,
            "an unknown target is refused",
            [
                "the answer is not valid against the responder schema",
                "errorText None, expected exactly 'No recipient found for recipient id: NOSUCH'",
            ],
        ),
        (
            _without_fkassa_statuses,
            "is seen through ListCertificates 1",
            ["step 3 (ListCertificates:1): the answer does not satisfy meta[certificateId="],
        ),
    ],
)
def test_a_hub_answering_the_rivtabp20_contracts_wrongly_fails_their_cases(gateway, spoil, only, reasons):
    done, _ = _run_through(gateway, spoil, only)
    assert done.returncode == 1, done.stdout
    assert "FAIL SetCertificateStatus-1.toml: " in done.stdout
    for reason in reasons:
        assert reason in done.stdout, done.stdout
