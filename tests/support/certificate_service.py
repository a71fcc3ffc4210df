"""A small stand-in certificate-service (CS) for the event-consumer tests: a real HTTP server
serving the three internal endpoints the hub reads, from what a test puts in it."""

from __future__ import annotations

import base64
import http.server
import json
import re
import threading


class CertificateServiceStub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.certificates: dict[str, dict] = {}
        self.messages: dict[str, bytes] = {}
        self.failing: set[str] = set()  # certificate ids answered with HTTP 500
        self.calls: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add_certificate(self, cid: str, register_element: bytes, *, test: bool = False, sent_to: str | None = None,
                        revoked: dict | None = None) -> None:  # fmt: skip
        self.certificates[cid] = {
            "test": test,
            "body": {
                "certificateId": cid,
                "certificateType": "fk7804",
                "xml": base64.b64encode(register_element).decode(),
                "recipient": {"id": sent_to, "name": "Försäkringskassan", "sent": "2026-12-05T09:00:00"}
                if sent_to
                else None,
                "revoked": revoked,
                "patientId": {"type": "PERSONAL_IDENTITY_NUMBER", "id": "191212121212"},
                "unit": {"unitId": "SE2321000016-1003", "unitName": "Vårdcentralen Linden", "workplaceCode": None},
                "careProvider": {"unitId": "SE2321000016-0001", "unitName": "Region Exempel"},
            },
        }


class _Handler(http.server.BaseHTTPRequestHandler):
    server: CertificateServiceStub

    def _answer(self, status: int, data) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        self.server.calls.append(f"{self.command} {self.path}")
        if m := re.fullmatch(r"/internalapi/certificate/([^/]+)/(metadata|xml)", self.path):
            cid, what = m.groups()
            known = self.server.certificates.get(cid)
            if cid in self.server.failing or known is None:
                return self._answer(500 if cid in self.server.failing else 404, {"error": "no"})
            return self._answer(200, {"testCertificate": known["test"]} if what == "metadata" else known["body"])
        if m := re.fullmatch(r"/internalapi/message/([^/]+)/xml", self.path):
            xml = self.server.messages.get(m.group(1))
            return self._answer(200, {"xml": base64.b64encode(xml).decode()}) if xml else self._answer(404, {})
        return self._answer(404, {})

    def do_GET(self):
        self._route()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._route()

    def log_message(self, *args):
        pass
