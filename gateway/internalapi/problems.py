"""RFC 9457 problem details: how every refused or failed internal call is answered."""

from __future__ import annotations

import json

from intygsgw.errors import GatewayError

PROBLEM_JSON = "application/problem+json"
# A request the models refused carries what was wrong with which field.
VALIDATION = "urn:intygsgw:problem:invalid-request"

REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class Problem(GatewayError):
    """Raised by a handler or the framework; answered as application/problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str = "about:blank",
        title: str | None = None,
        errors: list[dict[str, str]] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_
        self.title = title or REASONS.get(status, "Error")
        self.errors = errors

    def body(self, instance: str | None = None) -> dict:
        body: dict = {"type": self.type, "title": self.title, "status": self.status, "detail": self.detail}
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return body

    def encoded(self, instance: str | None = None) -> bytes:
        return json.dumps(self.body(instance), ensure_ascii=False).encode("utf-8")


def invalid(detail: str, errors: list[dict[str, str]] | None = None) -> Problem:
    return Problem(400, detail, type_=VALIDATION, title="Invalid request", errors=errors)


def not_found(detail: str) -> Problem:
    return Problem(404, detail)
