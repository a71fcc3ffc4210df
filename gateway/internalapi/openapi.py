"""The OpenAPI 3.1 document, generated from the routes and their pydantic models.

Nothing is written by hand: the schemas are the models' JSON Schemas (2020-12,
which OpenAPI 3.1 uses as is), so the document cannot drift from what the
API validates and answers.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter

from intygsgw.errors import GatewayError
from intygsgw.internalapi import SERVLET_CONTEXT
from intygsgw.internalapi.framework import JSON, Route
from intygsgw.internalapi.problems import PROBLEM_JSON

REF = "#/components/schemas/{model}"


class SchemaClash(GatewayError, ValueError):
    """Two models of one name with different schemas: the document would be ambiguous."""


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def add(self, name: str, schema: dict) -> None:
        known = self.schemas.setdefault(name, schema)
        if known != schema:
            raise SchemaClash(f"two different schemas are named {name}")

    def schema(self, kind: Any, mode: str) -> dict:
        """The schema of ``kind``; a model goes into the components and is referred to."""
        generated = TypeAdapter(kind).json_schema(mode=mode, ref_template=REF)  # type: ignore[arg-type]
        for name, definition in generated.pop("$defs", {}).items():
            self.add(name, definition)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            self.add(kind.__name__, generated)
            return {"$ref": REF.format(model=kind.__name__)}
        return generated


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, the answer to every refused or failed call."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


_PROBLEM_STATUSES = {
    "400": "The request was refused: a field, parameter or id is not valid",
    "403": "The caller may not call this path (internal authorization list)",
    "404": "Nothing at this path, or the thing asked for does not exist",
    "405": "This method is not allowed on this path",
    "409": "The request conflicts with the certificate's state (revoked, a test certificate)",
    "413": "The request body is too large",
    "415": "The request body is not JSON",
    "500": "An unexpected failure; the detail holds a reference to find it in the log",
    "502": "A recipient the call had to reach failed or refused",
    "503": "The database or the access log cannot be written now; try again",
}


def document(routes: list[Route], version: str) -> dict:
    components = _Components()
    problem_ref = components.schema(ProblemDetails, "serialization")
    paths: dict[str, dict] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components, problem_ref)
    responses = {
        status: {"description": text, "content": {PROBLEM_JSON: {"schema": problem_ref}}}
        for status, text in _PROBLEM_STATUSES.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "intygsgw internal API",
            "version": version,
            "description": "The hub's internal REST API for Mina intyg, Webcert, Rehabstöd, Intygsadmin and "
            "customer termination. Served only on the internal listener. Every refused or failed call is "
            "answered with RFC 9457 problem details.",
        },
        "servers": [
            {"url": "/"},
            {"url": SERVLET_CONTEXT, "description": "The reference's servlet context, as its clients call it"},
        ],
        "paths": paths,
        "components": {"schemas": dict(sorted(components.schemas.items())), "responses": _named(responses)},
    }


def _named(responses: dict[str, dict]) -> dict[str, dict]:
    return {f"Problem{status}": body for status, body in responses.items()}


def _operation(route: Route, components: _Components, problem_ref: dict) -> dict:
    op: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary, "tags": [route.tag]}
    parameters = []
    for p in route.path_params:
        parameters.append(
            {
                "name": p.name,
                "in": "path",
                "required": True,
                "description": p.description,
                "schema": components.schema(p.kind, "validation"),
            }
        )
    if route.query is not None:
        query_schema = TypeAdapter(route.query).json_schema(mode="validation", ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, schema in query_schema.get("properties", {}).items():
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    **({"description": schema.pop("description")} if "description" in schema else {}),
                    "schema": schema,
                }
            )
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": components.schema(route.body, "validation")}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    content: dict[str, Any] = {}
    if route.response is not None:
        content[JSON] = {"schema": components.schema(route.response, "serialization")}
    if route.stream is not None:
        content[route.stream.content_type] = {"schema": components.schema(route.stream.item, "serialization")}
        ok["description"] = f"OK. {route.stream.description}"
    if content:
        ok["content"] = content
    responses: dict[str, Any] = {"200": ok}
    statuses = ["400", "403", "405", "500", "503"]
    if route.body is not None:
        statuses += ["413", "415"]
    if route.not_found:
        statuses.append("404")
    statuses += [str(s) for s in route.also]
    for status in sorted(statuses):
        responses[status] = {"$ref": f"#/components/responses/Problem{status}"}
    if route.not_found:
        responses["404"] = {
            "description": route.not_found,
            "content": {PROBLEM_JSON: {"schema": problem_ref}},
        }
    op["responses"] = responses
    return op


def path_pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching concrete paths of an OpenAPI path template (for checking answers)."""
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")
