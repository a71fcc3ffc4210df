"""Consumer mode: a stand-in hub a journal system's client is pointed at.

Every request the client sends is checked against its contract's request
schema and recorded. Recorded scenarios (TOML, ``[[answer]]`` tables) decide
the answers they match: a TECHNICAL_ERROR on the first registration, a fault,
a slow answer; whatever no scenario answers goes on to a real hub, by default
this gateway started on a throwaway SQLite database, so the client sees a
hub's true answers to everything else. The report says, call by call, whether
the client's requests were valid.

    [[answer]]
    contract = "RegisterCertificate:3"     # Name:major
    contains = ["9f02dd2f"]                # optional: text the request must hold
    times = 1                              # optional: answer this many times, then step aside
    result = "ERROR"                       # a ResultType answer: result, error_id, text
    error_id = "TECHNICAL_ERROR"
    text = "Try again later"
    # or: fault = "Server" with fault_string, or status + body (a whole HTTP body), and delay_seconds
"""

from __future__ import annotations

import http.server
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import requests
from lxml import etree

from intygsgw import interactions, ns
from intygsgw.conformance.cases import CaseFileError
from intygsgw.soap.envelope import fault_envelope
from intygsgw.soap.faults import SoapFault, server_fault
from intygsgw.soap.schemas import compiled

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
ANSWER_KEYS = frozenset(
    {"contract", "contains", "times", "result", "error_id", "text", "fault", "fault_string", "status", "body"}
    | {"delay_seconds"}
)


@dataclass
class Answer:
    contract: str
    contains: tuple[str, ...] = ()
    times: int | None = None
    result: str | None = None
    error_id: str | None = None
    text: str | None = None
    fault: str | None = None
    fault_string: str = ""
    status: int = 200
    body: str | None = None
    delay_seconds: float = 0.0
    used: int = 0

    def matches(self, contract: str, request: bytes) -> bool:
        if self.contract != contract or (self.times is not None and self.used >= self.times):
            return False
        text = request.decode("utf-8", errors="replace")
        return all(c in text for c in self.contains)

    def render(self) -> tuple[int, bytes]:
        if self.body is not None:
            return self.status, self.body.encode("utf-8")
        if self.fault is not None:
            return 500, fault_envelope(SoapFault(self.fault_string, self.fault))
        interaction = interactions.by_key(self.contract)
        assert interaction is not None
        error_id = f"<c:errorId>{escape(self.error_id)}</c:errorId>" if self.error_id else ""
        text = f"<c:resultText>{escape(self.text)}</c:resultText>" if self.text else ""
        return 200, (
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
            f'<r:{interaction.name}Response xmlns:r="{interaction.namespace}" xmlns:c="{ns.CORE}">'
            f"<r:result><c:resultCode>{escape(self.result or 'OK')}</c:resultCode>{error_id}{text}</r:result>"
            f"</r:{interaction.name}Response></soap:Body></soap:Envelope>"
        ).encode()


def load_scenarios(paths: list[Path]) -> list[Answer]:
    answers = []
    for path in paths:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CaseFileError(f"{path}: {exc}") from None
        for index, raw in enumerate(data.get("answer", []), start=1):
            where = f"{path.name} answer {index}"
            unknown = set(raw) - ANSWER_KEYS
            if unknown:
                raise CaseFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            if interactions.by_key(raw.get("contract", "")) is None:
                raise CaseFileError(f"{where}: contract must name a known contract as Name:major")
            answers.append(Answer(**{**raw, "contains": tuple(raw.get("contains", ()))}))
    return answers


@dataclass
class Call:
    contract: str
    request: bytes
    status: int
    answer: bytes
    answered_by: str  # "scenario" or "hub"
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def valid(self) -> bool:
        return not self.problems


class StandInHub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, hub_url: str, answers: list[Answer], host: str = "127.0.0.1"):
        super().__init__((host, port), _Handler)
        self.hub_url = hub_url.rstrip("/")
        self.answers = answers
        self.calls: list[Call] = []
        self.lock = threading.Lock()

    def pick(self, contract: str, request: bytes) -> Answer | None:
        with self.lock:
            for answer in self.answers:
                if answer.matches(contract, request):
                    answer.used += 1
                    return answer
        return None


def check_request(raw: bytes) -> tuple[str, list[str]]:
    """(the contract as Name:major, or "?", and what is wrong with the request)."""
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as exc:
        return "?", [f"not well-formed XML: {exc}"]
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None or len(body) != 1:
        return "?", ["not a SOAP 1.1 envelope with one element in its Body"]
    element = body[0]
    interaction = interactions.by_namespace(etree.QName(element).namespace or "")
    if interaction is None or element.tag != interaction.request_tag:
        return "?", [f"{element.tag} is the request of no contract this hub serves"]
    problems = []
    address = root.findtext(f"{{{SOAP_ENV}}}Header/{{urn:riv:itintegration:registry:1}}LogicalAddress")
    if not (address or "").strip():
        problems.append("the LogicalAddress header is missing or empty")
    schema = compiled(interaction.schema)
    if not schema.validate(etree.ElementTree(etree.fromstring(etree.tostring(element)))):
        problems.append(f"not valid against the request schema: {schema.error_log.last_error}")
    return interaction.key, problems


class _Handler(http.server.BaseHTTPRequestHandler):
    server: StandInHub

    def do_POST(self):
        started = time.perf_counter()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        contract, problems = check_request(raw)
        answer = self.server.pick(contract, raw)
        if answer is not None:
            time.sleep(answer.delay_seconds)
            status, body = answer.render()
            by = "scenario"
        else:
            status, body, by = self._from_hub(raw)
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        call = Call(contract, raw, status, body, by, problems, time.perf_counter() - started)
        with self.server.lock:
            self.server.calls.append(call)

    def do_GET(self):
        try:
            response = requests.get(self.server.hub_url + self.path, timeout=30)
            status, body, kind = response.status_code, response.content, response.headers.get("Content-Type", "")
        except requests.RequestException as exc:
            status, body, kind = 502, str(exc).encode(), "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _from_hub(self, raw: bytes) -> tuple[int, bytes, str]:
        try:
            response = requests.post(
                self.server.hub_url + self.path,
                data=raw,
                headers={"Content-Type": self.headers.get("Content-Type", "text/xml; charset=utf-8")},
                timeout=60,
            )
            return response.status_code, response.content, "hub"
        except requests.RequestException as exc:
            return 500, fault_envelope(server_fault(f"the hub behind the stand-in: {exc}")), "stand-in"

    def log_message(self, *args):
        pass
