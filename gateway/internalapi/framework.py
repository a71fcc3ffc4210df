"""Routes declared once, as data: served by Falcon and described by OpenAPI from the same declaration.

Falcon was chosen because it is a plain WSGI application (granian serves it
as it serves the SOAP side, with the same worker and thread model), small,
well kept, and leaves validation to pydantic. Each :class:`Route` names its
path, its request, query and response models and its handler; the handler
gets a validated :class:`Call` and returns a value of the response type, a
:class:`Streamed` body, or raises :class:`Problem`. Everything else a caller
can provoke — a body that is no JSON, a field of the wrong type, an unknown
path, a database that is down, a bug — is answered as an RFC 9457 problem,
without a stack trace.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import falcon
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError

from intygsgw import audit, correlation
from intygsgw.audit.writer import AccessLogWriter
from intygsgw.domain.errors import FieldTooLong
from intygsgw.domain.results import ServiceError
from intygsgw.errors import temporary_failure_text
from intygsgw.internalapi import SERVLET_CONTEXT, without_servlet_context
from intygsgw.internalapi.problems import PROBLEM_JSON, REASONS, Problem, invalid
from intygsgw.logsafety import log_failure
from intygsgw.service.services import Services

log = logging.getLogger(__name__)
request_log = logging.getLogger("intygsgw.requests")

JSON = "application/json"
MAX_BODY_BYTES = 1024 * 1024  # the largest request the applications send is a short filter


@dataclass(frozen=True)
class PathParam:
    name: str
    kind: Any  # an Annotated type with the id's pattern
    description: str


@dataclass(frozen=True)
class StreamSpec:
    """An alternative answer streamed in pieces (a care provider's export)."""

    content_type: str
    item: Any  # the type of each line
    description: str


@dataclass(frozen=True)
class Streamed:
    content_type: str
    chunks: Iterable[bytes]


@dataclass
class Call:
    services: Services
    params: dict[str, Any]
    body: Any = None
    query: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # What the access-log entry says the call came to, when not just OK (e.g. ERASED:120).
    outcome: str | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    handler: Callable[[Call], Any]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a type pydantic can dump; None: an empty 200
    path_params: tuple[PathParam, ...] = ()
    patient_data: bool = True  # the call is written to the access log
    stream: StreamSpec | None = None
    not_found: str | None = None  # when it answers 404 (documented)
    also: tuple[int, ...] = ()  # further problem statuses it may answer (documented)

    @property
    def contract(self) -> str:
        """The access log's contract column for this route."""
        return f"internalapi:{self.operation_id}"


class InternalApi:
    """The WSGI application of the internal listener."""

    def __init__(
        self,
        routes: list[Route],
        services: Services,
        access_log: AccessLogWriter | None,
        document: Callable[[], dict],
        caller: Callable[[dict], Any] | None = None,
        access: Callable[[], Any] | None = None,
    ):
        self.services = services
        self.access_log = access_log
        self.caller = caller  # environ -> trust.identity.Caller | None
        self.access = access  # () -> trust.internal_access.InternalAccessTable; None: every caller may call
        self.app = falcon.App(media_type=JSON)
        self.app.req_options.strip_url_path_trailing_slash = True
        self.app.set_error_serializer(_serialize_http_error)
        self.app.add_error_handler(Exception, _unexpected)
        self.app.add_error_handler(falcon.HTTPError, _http_error)
        self._adapters = {id(r): TypeAdapter(r.response) for r in routes if r.response is not None}
        self._path_adapters = {(id(r), p.name): TypeAdapter(p.kind) for r in routes for p in r.path_params}
        by_path: dict[str, _Resource] = {}
        for route in routes:
            resource = by_path.setdefault(route.path, _Resource())
            setattr(resource, f"on_{route.method.lower()}", self._responder(route))
        for path, resource in by_path.items():
            self.app.add_route(path, resource)
        openapi = _Resource()
        openapi.on_get = lambda req, resp: _json(resp, 200, document())
        self.app.add_route("/internalapi/openapi.json", openapi)
        health = _Resource()
        health.on_get = self._health
        self.app.add_route("/internalapi/healthz", health)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        routed = without_servlet_context(path)
        if routed != path:
            # As a servlet container does: the context moves to SCRIPT_NAME, so routing, the
            # caller list and the access log all see the same path whichever form was called.
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + SERVLET_CONTEXT
            environ["PATH_INFO"] = routed
        return self.app(environ, start_response)

    def _health(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            self.services.store.ping()
        except Exception as exc:
            log.warning("internal health check: database unavailable: %s", exc)
            raise Problem(503, "The database cannot be reached") from None
        _json(resp, 200, {"status": "UP"})

    def _responder(self, route: Route) -> Callable:
        def respond(req: falcon.Request, resp: falcon.Response, **params: str) -> None:
            cid, token = correlation.begin(req.get_header(correlation.HEADER))
            resp.set_header(correlation.HEADER, cid)
            try:
                self._serve(route, req, resp, params)
            finally:
                correlation.end(token)

        return respond

    def _serve(self, route: Route, req: falcon.Request, resp: falcon.Response, params: dict[str, str]) -> None:
        caller = self.caller(req.env) if self.caller else None
        hsa_id = caller.hsa_id if caller else None
        if self.access is not None and not self.access().allows(hsa_id, req.method, req.path):
            # Refused before anything is read, as the SOAP gate refuses.
            log.warning("internal API refused %s %s for caller %s", req.method, req.path, hsa_id or "(none)")
            if hsa_id is None:
                raise Problem(403, "No caller identity: a client certificate with an HSA id (SERIALNUMBER) is required")
            raise Problem(403, f"Caller {hsa_id} may not {req.method} {req.path}")
        headers = {k.lower(): v for k, v in req.headers.items()}
        call = Call(self.services, self._path_values(route, params), headers=headers)
        if route.query is not None:
            call.query = _validated(route.query, dict(req.params), "query parameter")
        if route.body is not None:
            call.body = _validated_json(route.body, _read_body(req))
        if not (route.patient_data and self.access_log is not None):
            self._answer(route, call, resp)
            return
        access = audit.Access(
            hsa_id or "",
            headers.get(audit.ORIGINAL_CONSUMER_HEADER, ""),
            headers.get(audit.ACTING_ON_BEHALF_HEADER, ""),
            route.contract,
            "",
        )
        token = audit.begin(access)
        try:
            self._answer(route, call, resp)
            outcome = call.outcome or "OK"
        except Problem as problem:
            self._log_access(route, access, f"HTTP:{problem.status}")
            raise
        except Exception:
            # A failure is answered 500 by the error handler; what the call touched is logged all the same.
            self._log_access(route, access, "HTTP:500")
            raise
        finally:
            audit.end(token)
        self._log_access(route, access, outcome)

    def _log_access(self, route: Route, access: audit.Access, outcome: str) -> None:
        assert self.access_log is not None
        try:
            self.access_log.write(access, outcome)
        except Exception as exc:
            # Fail closed, as on the SOAP side: what could not be logged is not handed out.
            ref = uuid.uuid4()
            log_failure(log, exc, "access log write failed for %s (reference %s)", route.operation_id, ref)
            raise Problem(503, temporary_failure_text(exc, ref)) from None

    def _answer(self, route: Route, call: Call, resp: falcon.Response) -> None:
        try:
            value = route.handler(call)
        except ServiceError as exc:
            raise Problem(400, exc.text) from None
        except FieldTooLong as exc:
            raise invalid(str(exc)) from None
        except DBAPIError as exc:
            # As the SOAP side answers it, and as the OpenAPI document says: try again.
            ref = uuid.uuid4()
            log_failure(log, exc, "database failure in %s (reference %s)", route.operation_id, ref)
            raise Problem(503, temporary_failure_text(exc, ref)) from None
        if isinstance(value, Streamed):
            resp.status = 200
            resp.content_type = value.content_type
            resp.stream = _closing(iter(value.chunks))
            return
        resp.status = 200
        if route.response is None:
            resp.content_type = JSON
            resp.data = b""
            return
        resp.content_type = JSON
        resp.data = self._adapters[id(route)].dump_json(value, by_alias=True)

    def _path_values(self, route: Route, params: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for p in route.path_params:
            try:
                values[p.name] = self._path_adapters[(id(route), p.name)].validate_python(params.get(p.name, ""))
            except ValidationError as exc:
                raise invalid(
                    f"{p.name} is not a valid {p.description}",
                    [{"field": p.name, "message": e["msg"]} for e in exc.errors()],
                ) from None
        return values


class _Resource:
    pass


def _closing(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Yield the chunks; a failure half-way ends the body short instead of with a stack trace.

    The status and headers are gone by then, so the answer can only stop: the
    export's last line (a trailer with the count) is what tells a reader the
    stream was whole.
    """
    try:
        yield from chunks
    except Exception:
        log.exception("streamed answer failed part-way; the body ends short")


def _read_body(req: falcon.Request) -> bytes:
    media = (req.content_type or "").split(";", 1)[0].strip().lower()
    if media != JSON:
        raise Problem(415, f"Send the request body as {JSON}, not {req.content_type or '(no Content-Type)'}")
    length = req.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise Problem(413, f"The request body exceeds the limit of {MAX_BODY_BYTES} bytes")
    data = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise Problem(413, f"The request body exceeds the limit of {MAX_BODY_BYTES} bytes")
    if not data.strip():
        raise invalid("The request body is empty; a JSON object is required")
    return data


def _validated_json(model: type[BaseModel], raw: bytes) -> BaseModel:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise _invalid_from(exc, "field") from None


def _validated(model: type[BaseModel], values: dict, what: str) -> BaseModel:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise _invalid_from(exc, what) from None


def _invalid_from(exc: ValidationError, what: str) -> Problem:
    errors = []
    for e in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in e["loc"]) or "(body)"
        errors.append({"field": where, "message": e["msg"]})
    first = errors[0]
    if exc.errors()[0]["type"] == "json_invalid":
        detail = f"The request body is not valid JSON: {first['message']}"
    elif first["field"] == "(body)":
        detail = f"The request body is not what this operation takes: {first['message']}"
    else:
        detail = f"Invalid {what} '{first['field']}': {first['message']}"
    return invalid(detail, errors)


def _json(resp: falcon.Response, status: int, value: Any) -> None:
    import json

    resp.status = status
    resp.content_type = JSON
    resp.data = json.dumps(value, ensure_ascii=False).encode("utf-8")


def _problem(resp: falcon.Response, problem: Problem, instance: str | None) -> None:
    resp.status = problem.status
    resp.content_type = PROBLEM_JSON
    resp.data = problem.encoded(instance)
    resp.stream = None


def _http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: dict) -> None:
    # Falcon's own refusals: unknown path, wrong method, undecodable URL.
    status = ex.status_code
    if status == 404:
        detail = f"No internal API operation at {req.path}"
    elif status == 405:
        detail = f"{req.method} is not allowed on {req.path}"
    else:
        detail = ex.description or ex.title or REASONS.get(status, "Error")
    _problem(resp, Problem(status, detail), req.path)
    for name, value in (ex.headers or {}).items():
        resp.set_header(name, value)


def _unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict) -> None:
    if isinstance(ex, Problem):
        _problem(resp, ex, req.path)
        return
    ref = uuid.uuid4()
    log_failure(log, ex, "unexpected failure serving %s %s (reference %s)", req.method, req.path, ref)
    _problem(resp, Problem(500, f"Internal error (reference {ref})"), req.path)


def _serialize_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError) -> None:
    _problem(resp, Problem(ex.status_code, ex.description or ex.title or "Error"), req.path)
