"""The stub recipient's HTTP face: SOAP on any path, a JSON API under ``/_stub/``.

SOAP requests are dispatched on the Body's root element, never on the path:
where a message is posted is the gateway's routing decision, and a test
wants to see it arrive even at an unexpected address (the path is recorded).

Every SOAP request is recorded before it is answered, including refused and
unparseable ones, so a test can inspect exactly what the gateway sent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qs

from intygsgw.devtools.stub.contracts import Request, read_request, result_answer
from intygsgw.devtools.stub.rules import Rule, RuleBook, load_rules_file, parse_rules
from intygsgw.devtools.stub.store import MessageStore, full_view
from intygsgw.errors import GatewayError
from intygsgw.soap.envelope import fault_envelope
from intygsgw.soap.faults import SoapFault

log = logging.getLogger(__name__)

XML = "text/xml; charset=UTF-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
MAX_BODY = 16 * 1024 * 1024  # a little over the national platform's 15 MiB cap
# (request header key in environ, name it is recorded under)
_HEADERS = (
    ("HTTP_SOAPACTION", "soapaction"),
    ("CONTENT_TYPE", "content-type"),
    ("HTTP_X_SKLTP_CORRELATION_ID", "x-skltp-correlation-id"),
    ("HTTP_X_RIVTA_ORIGINAL_SERVICECONSUMER_HSAID", "x-rivta-original-serviceconsumer-hsaid"),
    ("HTTP_X_RIVTA_ACTING_ON_BEHALF_OF_HSAID", "x-rivta-acting-on-behalf-of-hsaid"),
)
_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class DroppedConnection(GatewayError):
    """Raised mid-answer on purpose: the server then aborts the connection."""


class StubApp:
    def __init__(self, name: str = "stub-recipient", store: MessageStore | None = None, rules: RuleBook | None = None):
        self.name = name
        # Not ``store or …``: an empty store or rule book is falsy (it has a length).
        self.store = store if store is not None else MessageStore()
        self.rules = rules if rules is not None else RuleBook()
        self.down = False
        self._routes = {
            ("GET", "health"): self._health,
            ("GET", "messages"): self._list,
            ("DELETE", "messages"): self._clear_messages,
            ("GET", "rules"): self._list_rules,
            ("POST", "rules"): self._add_rules,
            ("DELETE", "rules"): self._clear_rules,
            ("POST", "down"): self._toggle,
            ("POST", "up"): self._toggle,
        }

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO") or "/"
        try:
            if path.startswith("/_stub/"):
                return self._api(method, path[len("/_stub/") :].rstrip("/"), environ, start_response)
            if method != "POST":
                return _reply(start_response, 405, b"POST a SOAP request; the stub's API is under /_stub/\n", TEXT)
            return self._soap(environ, path, start_response)
        except Exception:  # never a stack trace on the wire
            log.exception("unhandled error serving %s %s", method, path)
            return _reply(start_response, 500, fault_envelope(SoapFault("Internal error in the stub")), XML)

    # SOAP

    def _soap(self, environ: dict, path: str, start_response):
        received = time.time()
        try:
            body = _read_body(environ)
        except SoapFault as fault:
            return _reply(start_response, fault.status, fault_envelope(fault), XML)
        req = read_request(body)
        rule = None
        down = self.down  # read once: a toggle mid-request must not split the answer from its record
        if down:
            outcome, status = "down", 503
        elif req.fault is not None:
            outcome, status = "fault", req.fault.status
        else:
            rule = self.rules.take(req.contract, req.certificate_id, req.logical_address)
            outcome, status = (rule.outcome, _status_of(rule)) if rule else ("OK", 200)
        self.store.add(_record(req, environ, path, received, len(body), outcome, status, rule), body)
        if rule is not None and rule.delay_ms:
            time.sleep(rule.delay_ms / 1000)
        if down:
            return _reply(start_response, 503, f"Service Unavailable: {self.name} is down\n".encode(), TEXT)
        if req.fault is not None:
            return _reply(start_response, req.fault.status, fault_envelope(req.fault), XML)
        if rule is None:
            return _reply(start_response, 200, result_answer(req.contract, "OK"), XML)
        return self._perform(rule, req, start_response)

    def _perform(self, rule: Rule, req: Request, start_response):
        if rule.action == "result":
            return _reply(
                start_response, 200, result_answer(req.contract, rule.result_code, rule.error_id, rule.result_text), XML
            )
        if rule.action == "fault":
            return _reply(start_response, 500, fault_envelope(SoapFault(rule.fault_string, rule.fault_code)), XML)
        if rule.action == "http":
            return _reply(start_response, rule.status, rule.body.encode("utf-8"), rule.content_type)
        # WSGI gives no handle on the socket. Promising a body and then failing
        # while producing it makes the server abort the connection, so the
        # client sees no answer or a truncated one. granian logs the exception
        # with a traceback; its message says that the drop was deliberate.
        start_response("200 OK", [("Content-Type", XML), ("Content-Length", "4096")])
        return _broken_body()

    # JSON API

    def _api(self, method: str, route: str, environ: dict, start_response):
        if route.startswith("messages/"):
            handler = self._one if method == "GET" else None
        else:
            handler = self._routes.get((method, route))
            if handler is None and not any(r == route for _, r in self._routes):
                return _json(start_response, 404, {"error": f"no stub endpoint /_stub/{route}"})
        if handler is None:
            return _json(start_response, 405, {"error": f"{method} is not allowed on /_stub/{route}"})
        return handler(route, environ, start_response)

    def _health(self, _route, _environ, start_response):
        return _json(
            start_response,
            200,
            {
                "status": "down" if self.down else "up",
                "name": self.name,
                "messages": len(self.store),
                "rules": len(self.rules),
            },
        )

    def _clear_messages(self, _route, _environ, start_response):
        return _json(start_response, 200, {"cleared": self.store.clear()})

    def _list_rules(self, _route, _environ, start_response):
        return _json(start_response, 200, self.rules.snapshot())

    def _clear_rules(self, _route, _environ, start_response):
        return _json(start_response, 200, {"cleared": self.rules.clear()})

    def _toggle(self, route, _environ, start_response):
        self.down = route == "down"
        log.info("%s is now %s", self.name, route)
        return _json(start_response, 200, {"down": self.down})

    def _list(self, _route, environ: dict, start_response):
        q = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        since, limit = _int_param(q, "since", 0), _int_param(q, "limit", 1)
        if since is False or limit is False:
            return _json(start_response, 400, {"error": "since must be an integer >= 0 and limit one >= 1"})
        found = self.store.query(
            contract=q.get("contract"),
            certificate_id=q.get("certificate_id"),
            logical_address=q.get("logical_address"),
            outcome=q.get("outcome"),
            since=since,
            limit=limit,
        )
        return _json(start_response, 200, found)

    def _one(self, route: str, _environ, start_response):
        rest = route[len("messages/") :]
        seq_text, _, part = rest.partition("/")
        entry = self.store.get(int(seq_text)) if seq_text.isdigit() else None
        if entry is None or part not in ("", "body"):
            return _json(start_response, 404, {"error": f"no message {rest}"})
        record, body = entry
        if part == "body":
            return _reply(start_response, 200, body, "application/octet-stream")
        return _json(start_response, 200, full_view(record, body))

    def _add_rules(self, _route, environ: dict, start_response):
        try:
            data = json.loads(_read_body(environ) or b"null")
            added = self.rules.add(parse_rules(data))
        except (ValueError, SoapFault) as exc:  # RuleError and JSON errors are ValueErrors
            text = exc.string if isinstance(exc, SoapFault) else str(exc)
            return _json(start_response, 400, {"error": text})
        log.info("%s: added rule(s) %s", self.name, ", ".join(str(r.id) for r in added))
        return _json(start_response, 201, [r.to_json() for r in added])


def _int_param(query: dict, name: str, low: int):
    """None when absent or empty, False when invalid."""
    text = query.get(name)
    if not text:
        return None
    return int(text) if text.isdigit() and int(text) >= low else False


def _status_of(rule: Rule) -> int | None:
    return {"result": 200, "fault": 500, "http": rule.status, "close": None}[rule.action]


def _record(
    req: Request,
    environ: dict,
    path: str,
    received: float,
    size: int,
    outcome: str,
    status: int | None,
    rule: Rule | None,
) -> dict:
    contract = req.contract
    return {
        "seq": 0,
        "received_at": datetime.fromtimestamp(received, UTC).isoformat(timespec="milliseconds"),
        "path": path,
        "contract": contract.name if contract else None,
        "major": contract.major if contract else None,
        "element": req.element,
        "logical_address": req.logical_address,
        "certificate_id": req.certificate_id,
        "message_id": req.message_id,
        "headers": {name: environ[key] for key, name in _HEADERS if key in environ},
        "parsed": req.parsed,
        "error": req.fault.string if req.fault else None,
        "outcome": outcome,
        "http_status": status,
        "rule": rule.id if rule else None,
        "size": size,
    }


def _broken_body():
    raise DroppedConnection("closing the connection without an answer, as a stub rule asked")
    yield b""  # pragma: no cover - makes this a generator, so the raise happens mid-answer


def _read_body(environ: dict) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    # Without a length (chunked), read one byte past the limit to notice excess.
    data = stream.read(int(length) if length.isdigit() and int(length) <= MAX_BODY else MAX_BODY + 1)
    if len(data) > MAX_BODY:
        raise SoapFault(f"The request body exceeds the stub's limit of {MAX_BODY} bytes", "Client", 413)
    return data


def _reply(start_response, status: int, body: bytes, content_type: str):
    start_response(
        f"{status} {_REASONS.get(status, 'Status')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _json(start_response, status: int, data) -> list[bytes]:
    return _reply(start_response, status, json.dumps(data, ensure_ascii=False).encode("utf-8"), JSON)


def build_app(
    name: str = "stub-recipient", rules_file: str | None = None, store_file: str | None = None, keep: int | None = None
) -> StubApp:
    store = MessageStore(**({"keep": keep} if keep else {}), jsonl_path=store_file)
    rules = RuleBook()
    if rules_file:
        rules.add(load_rules_file(rules_file))
    return StubApp(name, store, rules)


def wsgi_app() -> StubApp:
    """Factory for the granian worker; the options travel in the environment."""
    from intygsgw.devtools.stub.server import StubOptions

    options = StubOptions.from_env()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s {options.name}: %(message)s")
    return build_app(options.name, options.rules_file, options.store_file, options.keep)


__all__ = ["DroppedConnection", "StubApp", "build_app", "wsgi_app"]
