"""From request bytes to response bytes: parse, route, validate, handle, answer.

Failures are mapped here and only here, contract by contract (hub-behaviour
§1.1): contracts that turn faults into responses answer ERROR +
VALIDATION_ERROR for a schema violation and an ERROR result otherwise, on HTTP
200; the others answer a SOAP fault on HTTP 500. An unexpected exception never
leaks its stack trace: the caller gets a reference to find it in the log.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Mapping

from lxml import etree
from sqlalchemy.exc import DBAPIError

from .domain.results import ErrorId, Result, ServiceError, error
from .handlers.context import Request
from .registry import Contract, Registry
from .schemas import SchemaViolation, validate
from .service.services import Services
from .soap.envelope import fault_envelope, read_envelope, response_envelope
from .soap.faults import SoapFault, client_fault, server_fault
from .soap.parser import parse_untrusted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes


class Dispatcher:
    def __init__(self, registry: Registry, services: Services):
        self.registry = registry
        self.services = services
        # Compile every schema before the first request, not during it.
        self._schemas = {c: registry.schema_for(c) for c in registry.contracts}

    def handle(self, raw: bytes, headers: Mapping[str, str] | None = None) -> Answer:
        try:
            root = parse_untrusted(raw)
            envelope = read_envelope(root)
            contract = self.registry.by_request(envelope.operation)
            if contract is None:
                raise client_fault(f"No service contract is served for the element {envelope.operation}")
            address = envelope.logical_address()
            if address is None:
                raise client_fault(
                    "The LogicalAddress header (urn:riv:itintegration:registry:1) is missing or empty")
        except SoapFault as fault:
            return Answer(fault.status, fault_envelope(fault))
        request = Request(contract, envelope.body_element, raw, address, self.services, headers or {})
        return self._answer(contract, request)

    def _answer(self, contract: Contract, request: Request) -> Answer:
        schema = self._schemas[contract]
        try:
            try:
                validate(schema, request.body)
            except SchemaViolation as exc:
                raise _Unmarshalling(f"Unmarshalling Error: {exc}") from None
            response = contract.handler(request)
        except _Unmarshalling as exc:
            return self._failure(contract, ErrorId.VALIDATION_ERROR, str(exc), "Client")
        except ServiceError as exc:
            return self._failure(contract, exc.error_id, exc.text, "Server")
        except SoapFault as fault:
            return Answer(fault.status, fault_envelope(fault))
        except DBAPIError:
            ref = uuid.uuid4()
            log.exception("database failure in %s (reference %s)", contract.name, ref)
            return self._failure(contract, ErrorId.TECHNICAL_ERROR,
                                 f"Temporary database error, try again (reference {ref})", "Server")
        except Exception:
            ref = uuid.uuid4()
            log.exception("unexpected failure in %s (reference %s)", contract.name, ref)
            return self._failure(contract, ErrorId.APPLICATION_ERROR,
                                 f"Internal error (reference {ref})", "Server")
        return self._checked(contract, schema, response)

    def _failure(self, contract: Contract, error_id: ErrorId, text: str, fault_code: str) -> Answer:
        if contract.transforms_faults:
            body = contract.error_response(contract, error(error_id, text))
            return self._checked(contract, self._schemas[contract], body)
        return Answer(500, fault_envelope(SoapFault(text, fault_code)))

    def _checked(self, contract: Contract, schema: etree.XMLSchema, response: etree._Element) -> Answer:
        try:
            validate(schema, response)
        except SchemaViolation as exc:
            # Never send what the contract forbids; this is our bug, not the caller's.
            ref = uuid.uuid4()
            log.error("response of %s failed its schema (reference %s): %s", contract.name, ref, exc)
            fault = server_fault(f"Internal error: the response failed validation (reference {ref})")
            return Answer(500, fault_envelope(fault))
        return Answer(200, response_envelope(response))


class _Unmarshalling(Exception):
    pass


def result_text(result: Result) -> str:  # pragma: no cover - convenience for logs
    return f"{result.code}/{result.error_id.value if result.error_id else '-'}: {result.text or ''}"
