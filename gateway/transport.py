"""Outbound SOAP calls: one POST, one classified answer.

A thin client over the same envelopes and schemas the gateway serves, rather
than a data-binding SOAP library: the payload is an lxml tree end to end (the
stored certificate goes out byte for byte), and only the ResultType is read
from the answer. One keep-alive HTTP session per route keeps TLS handshakes
off the hot path.
"""
from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass

import requests

from .routing import Route
from .soap.envelope import SOAP11_NS, request_envelope
from .soap.parser import parse_untrusted
from .soap.faults import SoapFault

CORE_NS = "urn:riv:clinicalprocess:healthcond:certificate:3"


@dataclass(frozen=True)
class Outcome:
    """What came back, reduced to what delivery decisions need."""

    kind: str  # "result" | "fault" | "http" | "connect" | "timeout" | "malformed"
    result_code: str | None = None
    error_id: str | None = None
    text: str = ""
    http_status: int | None = None
    fault_code: str | None = None
    body: bytes = b""

    @property
    def succeeded(self) -> bool:
        return self.kind == "result" and self.result_code in ("OK", "INFO")

    @property
    def retryable(self) -> bool:
        """Worth trying again later (the contract's TECHNICAL_ERROR semantics)."""
        if self.kind in ("connect", "timeout", "http", "malformed"):
            return True
        if self.kind == "fault":
            return self.fault_code != "Client"
        return self.kind == "result" and self.result_code == "ERROR" and self.error_id == "TECHNICAL_ERROR"

    def describe(self) -> str:
        if self.kind == "result":
            return f"{self.result_code}{'/' + self.error_id if self.error_id else ''}: {self.text}".rstrip(": ")
        if self.kind == "fault":
            return f"SOAP fault {self.fault_code}: {self.text}"
        if self.kind == "http":
            return f"HTTP {self.http_status} without a SOAP answer"
        return f"{self.kind}: {self.text}"


class SoapTransport:
    def __init__(self, user_agent: str = "intygsgw"):
        self._sessions: dict[tuple, requests.Session] = {}
        self._lock = threading.Lock()
        self.user_agent = user_agent

    def _session(self, route: Route) -> requests.Session:
        key = (route.tls,)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = requests.Session()
                # The environment is read once here instead of on every call
                # (requests scans it for proxies per request: a fifth of a
                # delivery's CPU). Outbound calls go direct, never via a proxy.
                session.trust_env = False
                session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
                tls = route.tls
                if tls is not None:
                    if tls.pkcs12:
                        from .tls import pkcs12_to_pem_files

                        session.cert = pkcs12_to_pem_files(tls.pkcs12, tls.pkcs12_password)
                    elif tls.client_cert:
                        session.cert = (tls.client_cert, tls.client_key) if tls.client_key else tls.client_cert
                    if tls.ca_bundle:
                        session.verify = tls.ca_bundle
                self._sessions[key] = session
            return session

    def call(self, route: Route, logical_address: str, body_element_xml: bytes, soap_action: str,
             correlation_id: str | None = None, extra_headers: dict | None = None) -> Outcome:
        envelope = request_envelope(body_element_xml, logical_address)
        headers = {
            "Content-Type": "text/xml; charset=UTF-8",
            "SOAPAction": f'"{soap_action}"',
            "x-skltp-correlation-id": correlation_id or str(uuid.uuid4()),
            "User-Agent": self.user_agent,
            **(extra_headers or {}),
        }
        try:
            session = self._session(route)
        except (OSError, ValueError) as exc:
            # An unreadable client certificate is the operator's to fix; the
            # delivery waits for it like for a receiver that is down.
            return Outcome("connect", text=f"client TLS settings of the route to {route.url}: {exc}")
        try:
            resp = session.post(route.url, data=envelope, headers=headers,
                                timeout=(route.connect_timeout, route.read_timeout))
        except requests.exceptions.ConnectTimeout as exc:
            return Outcome("connect", text=f"connect timeout: {exc}")
        except requests.exceptions.ReadTimeout:
            return Outcome("timeout", text=f"no answer within {route.read_timeout:g} s")
        except requests.exceptions.RequestException as exc:
            return Outcome("connect", text=str(exc))
        return classify(resp.status_code, resp.content)


def classify(status: int, body: bytes) -> Outcome:
    try:
        root = parse_untrusted(body)
    except SoapFault:
        if status >= 400:
            return Outcome("http", http_status=status, body=body[:2000])
        return Outcome("malformed", text="the answer is not XML", http_status=status, body=body[:2000])
    soap_body = root.find(f"{{{SOAP11_NS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        kind = "http" if status >= 400 else "malformed"
        return Outcome(kind, text="the answer is not a SOAP envelope", http_status=status, body=body[:2000])
    first = soap_body[0]
    if first.tag == f"{{{SOAP11_NS}}}Fault":
        code = (first.findtext("faultcode") or "").strip()
        return Outcome("fault", fault_code=code.split(":")[-1] or "Server",
                       text=(first.findtext("faultstring") or "").strip(), http_status=status, body=body)
    result = next((el for el in first if isinstance(el.tag, str) and el.tag.endswith("}result")), None)
    if result is None:
        return Outcome("malformed", text="the answer has no result", http_status=status, body=body)
    return Outcome(
        "result",
        result_code=(result.findtext(f"{{{CORE_NS}}}resultCode") or "").strip(),
        error_id=(result.findtext(f"{{{CORE_NS}}}errorId") or "").strip() or None,
        text=(result.findtext(f"{{{CORE_NS}}}resultText") or "").strip(),
        http_status=status, body=body,
    )
