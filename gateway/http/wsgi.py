"""The HTTP face of the gateway: a plain WSGI application.

Routes: ``POST <contract path>`` (SOAP), ``GET <contract path>?wsdl``,
``GET /schemas/...xsd`` (what the WSDLs import) and ``GET /healthz``.
SOAP requests are dispatched on the Body's element, not on the path or the
SOAPAction, so a consumer that posts to a sibling path or sends a stale
SOAPAction still reaches the right contract.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable

from intygsgw import correlation, interactions, metrics
from intygsgw.config.settings import Settings
from intygsgw.http.dispatch import Answer, Dispatcher
from intygsgw.http.wsdl import render_wsdl
from intygsgw.internalapi import is_internal_path
from intygsgw.registry import Registry
from intygsgw.soap.envelope import fault_envelope, soap12_refused
from intygsgw.soap.faults import SoapFault, client_fault
from intygsgw.soap.schemas import schema_path

log = logging.getLogger(__name__)
# One line per SOAP call (log_request); its own name so operators can route or silence it.
request_log = logging.getLogger("intygsgw.requests")

XML = "text/xml; charset=UTF-8"


class GatewayApp:
    def __init__(self, dispatcher: Dispatcher, settings: Settings, resolve_caller=None):
        self.dispatcher = dispatcher
        self.registry: Registry = dispatcher.registry
        self.settings = settings
        self.resolve_caller = resolve_caller  # environ -> trust.identity.Caller | None
        store = dispatcher.services.store
        self.outbox_metrics = metrics.OutboxCollector(lambda: _outbox_waiting(store), dispatcher.services.clock.utc)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        query = environ.get("QUERY_STRING", "")
        try:
            if path == "/healthz":
                return self._health(start_response)
            if is_internal_path(path):
                # As the reference's filter does: the internal API lives only on its own listener.
                return _reply(start_response, 403, _INTERNAL_ONLY, "application/problem+json")
            if path == "/metrics" and method == "GET" and self.settings.metrics:
                return _reply(start_response, 200, metrics.exposition(self.outbox_metrics), metrics.CONTENT_TYPE)
            if path.startswith("/schemas/"):
                return self._schema(method, path[len("/schemas/") :], start_response)
            contract = self.registry.by_path(path)
            if method == "GET" and contract is not None and query.lower().split("&")[0] == "wsdl":
                return self._wsdl(environ, contract, start_response)
            if method == "POST":
                return self._soap(environ, contract, start_response)
            if contract is None:
                return _reply(start_response, 404, b"no service at this address\n", "text/plain")
            return _reply(start_response, 405, b"POST a SOAP request, or GET ?wsdl\n", "text/plain")
        except Exception:  # the last line of defence: never a stack trace on the wire
            log.exception("unhandled error serving %s %s", method, path)
            return _reply(start_response, 500, fault_envelope(SoapFault("Internal error")), XML)

    def _soap(self, environ, contract, start_response):
        started = time.perf_counter()
        caller = None
        media_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if contract is None and not self.settings.accept_any_path:
            fault = client_fault("No service at this address", status=404)
            answer = Answer(404, fault_envelope(fault))
        elif media_type == "application/soap+xml":
            answer = Answer(500, fault_envelope(soap12_refused()))
        elif media_type != "text/xml":
            # RIV-TA is SOAP 1.1, which travels as text/xml (the platform sets it on
            # every call); anything else is refused unread, before it can write.
            fault = client_fault(
                f"Unsupported Content-Type {environ.get('CONTENT_TYPE') or '(none)'}: the RIV-TA contracts are "
                "SOAP 1.1, sent as text/xml",
                status=415,
            )
            answer = Answer(415, fault_envelope(fault))
        else:
            caller = self.resolve_caller(environ) if self.resolve_caller else None
            try:
                body = _read_body(environ, self.settings.max_body_bytes)
            except SoapFault as fault:
                answer = Answer(fault.status, fault_envelope(fault))
            else:
                # Almost every call writes (the access log at least): the group commit may wait for it.
                with self.dispatcher.services.store.expect_write():
                    answer = self.dispatcher.handle(
                        body,
                        request_headers(environ),
                        caller.hsa_id if caller else None,
                        content_type=environ.get("CONTENT_TYPE"),
                    )
        log_request(environ, answer, started, caller.hsa_id if caller else None)
        headers = [(correlation.HEADER, answer.correlation_id)] if answer.correlation_id else []
        return _reply(start_response, answer.status, answer.body, XML, headers)

    def _wsdl(self, environ, contract, start_response):
        base = _base_url(environ)
        body = render_wsdl(contract, base + contract.path, base + "/schemas")
        return _reply(start_response, 200, body, XML)

    def _schema(self, method, relative, start_response):
        if method != "GET" or not relative.endswith(".xsd"):
            return _reply(start_response, 404, b"not found\n", "text/plain")
        try:
            path = schema_path(relative)
        except ValueError:
            return _reply(start_response, 404, b"not found\n", "text/plain")
        if not path.is_file():
            return _reply(start_response, 404, b"not found\n", "text/plain")
        return _reply(start_response, 200, path.read_bytes(), XML)

    def _health(self, start_response):
        try:
            self.dispatcher.services.store.ping()
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            return _reply(start_response, 503, b"database unavailable\n", "text/plain")
        return _reply(start_response, 200, b"ok\n", "text/plain")


def _reply(start_response, status: int, body: bytes, content_type: str, headers: list[tuple[str, str]] | None = None):
    start_response(
        f"{status} {_REASONS.get(status, 'Status')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *(headers or ())],
    )
    return [body]


def _outbox_waiting(store) -> list:
    with store.reading() as uow:
        rows = uow.outbox.waiting()
    named = []
    for contract, address, state, items, oldest in rows:
        known = interactions.by_namespace(contract)
        named.append((f"{known.key if known else contract} @ {address}", state, items, oldest))
    return named


def log_request(environ: dict, answer: Answer, started: float, caller: str | None) -> None:
    """One line per SOAP call for operators: what was called, by whom, with what outcome, how fast.

    No person ids and no result texts (which may quote one): contract, logical
    address, caller HSA id, result code, errorId, HTTP status, duration and
    correlation id. As JSON keys with ``log_format = "json"``.
    """
    result, _, error_id = answer.outcome.partition(":")
    seconds = time.perf_counter() - started
    # Labelled by served contract only: a path or element a caller made up must not mint series.
    metrics.observe_request(answer.contract or "(unknown)", result, seconds)
    if not request_log.isEnabledFor(logging.INFO):
        return
    fields = {
        "contract": answer.contract or environ.get("PATH_INFO", ""),
        "logical_address": answer.logical_address,
        "caller": caller or "",
        "result": result,
        "error_id": error_id,
        "status": answer.status,
        "duration_ms": round(seconds * 1000, 1),
        "correlation_id": answer.correlation_id,
    }
    request_log.info(
        "%(contract)s %(result)s%(error)s %(duration_ms).1f ms status=%(status)s "
        "address=%(logical_address)s caller=%(caller)s correlation=%(correlation_id)s",
        {**fields, "error": f" {error_id}" if error_id else ""},
        extra={"fields": fields},
    )


_INTERNAL_ONLY = (
    b'{"type":"about:blank","title":"Forbidden","status":403,'
    b'"detail":"The internal API is served only on the internal port (setting internal_port)"}'
)

_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# granian starts each WSGI environ from a copy of the process environment, so
# a variable such as HTTP_PROXY, or one named like a RIV-TA header, would read
# as if the caller had sent it.
_PROCESS_HTTP_VARIABLES = {k: v for k, v in os.environ.items() if k.startswith("HTTP_")}


def request_headers(environ: dict, process_env: dict[str, str] | None = None) -> dict[str, str]:
    """The HTTP headers the caller sent, lower-case and dash-separated."""
    inherited = _PROCESS_HTTP_VARIABLES if process_env is None else process_env
    return {
        k[5:].replace("_", "-").lower(): v
        for k, v in environ.items()
        if k.startswith("HTTP_") and inherited.get(k) != v
    }


# Where a front end that reads the body itself (http.rsgi) says why it stopped.
BODY_FAULT_KEY = "intygsgw.body_fault"


def _read_body(environ: dict, limit: int) -> bytes:
    stopped = environ.get(BODY_FAULT_KEY)
    if stopped is not None:
        raise stopped
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length:
        try:
            n = int(length)
        except ValueError:
            raise client_fault("Malformed request: bad Content-Length", status=400) from None
        if n > limit:
            raise _too_large(limit)
        return stream.read(n)
    # No length (chunked): read at most one byte past the limit.
    data = stream.read(limit + 1)
    if len(data) > limit:
        # The fault's traceback holds this frame, and a fault kept in a local
        # here made a cycle that lived until the collector ran (rarely, with
        # the workers' thresholds) with the whole body in it.
        del data
        raise _too_large(limit)
    return data


def _too_large(limit: int) -> SoapFault:
    return SoapFault(f"The request body exceeds the limit of {limit} bytes", "Client", 413)


def _base_url(environ: dict) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = environ.get("SERVER_PORT")
        if port and port not in ("80", "443"):
            host = f"{host}:{port}"
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}"
