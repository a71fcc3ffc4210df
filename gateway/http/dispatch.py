"""From request bytes to response bytes: parse, route, validate, handle, answer.

Failures are mapped here and only here, contract by contract (hub-behaviour
§1.1): contracts that turn faults into responses answer ERROR +
VALIDATION_ERROR for a schema violation and an ERROR result otherwise, on HTTP
200 (on the Basic Profile 2.0 binding every client fault becomes a
VALIDATION_ERROR, as the reference's transform there does); the others answer
a SOAP fault on HTTP 500. An unexpected exception never
leaks its stack trace: the caller gets a reference to find it in the log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lxml import etree
from sqlalchemy.exc import DBAPIError

from intygsgw import audit, correlation
from intygsgw.audit.writer import AccessLogWriter
from intygsgw.domain.errors import FieldTooLong
from intygsgw.domain.results import ErrorId, Result, ServiceError, error
from intygsgw.errors import GatewayError, temporary_failure_text
from intygsgw.handlers.context import Request
from intygsgw.logsafety import log_failure
from intygsgw.registry import Contract, Registry
from intygsgw.service.services import Services
from intygsgw.soap.envelope import (
    FixedAnswer,
    Prerendered,
    fault_envelope,
    prerendered_envelope,
    read_envelope,
    response_envelope,
)
from intygsgw.soap.faults import SoapFault, client_fault, server_fault
from intygsgw.soap.parser import as_utf8, parse_untrusted
from intygsgw.soap.schemas import SchemaViolation, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    element: etree._Element | None = None  # the response element, for the access log
    known_outcome: str = ""  # the outcome, where it is known without reading the element
    # What the request log line says about the call (empty where it never got that far).
    contract: str = ""  # Name:major
    logical_address: str = ""
    correlation_id: str = ""

    @property
    def outcome(self) -> str:
        """OK, INFO, ERROR:<errorId> or FAULT, read from the answer that leaves."""
        return self.known_outcome or _outcome(self)


class Dispatcher:
    """``gate`` (a trust.authorization.CallGate) refuses unauthorized calls
    before validation, so a refused call reads and writes nothing;
    ``access_log`` records every patient-data call before its answer leaves."""

    def __init__(self, registry: Registry, services: Services, gate=None, access_log: AccessLogWriter | None = None):
        self.registry = registry
        self.services = services
        self.gate = gate
        self.access_log = access_log
        # Compile every schema before the first request, not during it.
        self._schemas = {c: registry.schema_for(c) for c in registry.contracts}

    def handle(
        self,
        raw: bytes,
        headers: Mapping[str, str] | None = None,
        caller: str | None = None,
        content_type: str | None = None,
    ) -> Answer:
        """``caller`` is the HSA id of the nearest caller (trust.identity), None when unknown;
        ``content_type`` the HTTP header, whose charset counts when the body declares none."""
        headers = headers or {}
        cid, token = correlation.begin(headers.get(correlation.HEADER))
        try:
            answer, contract, address = self._handle(raw, headers, caller, content_type)
        finally:
            correlation.end(token)
        return replace(
            answer,
            contract=contract.interaction.key if contract else "",
            logical_address=address or "",
            correlation_id=cid,
        )

    def _handle(
        self, raw: bytes, headers: Mapping[str, str], caller: str | None, content_type: str | None
    ) -> tuple[Answer, Contract | None, str | None]:
        contract: Contract | None = None
        address: str | None = None
        try:
            # From here on the request is UTF-8: what is parsed and what is
            # stored (soap.source cuts the payload out of these bytes) agree.
            raw = as_utf8(raw, content_type)
            root = parse_untrusted(raw)
            envelope = read_envelope(root)
            contract = self.registry.by_request(envelope.operation)
            if contract is None:
                raise client_fault(f"No service contract is served for the element {envelope.operation}")
            binding = contract.interaction.binding
            address = envelope.logical_address(binding.address_header)
            if address is None:
                raise client_fault(f"The {binding.address_label} is missing or empty")
        except SoapFault as fault:
            return self._fault_answer(contract, fault), contract, address
        if self.gate is not None:
            refusal = self.gate.refusal(caller, contract.namespace, address)
            if refusal is not None:
                log.warning(
                    "refused %s:%d for caller %s at logical address %s: %s",
                    contract.name,
                    contract.major,
                    caller or "(none)",
                    address,
                    refusal.string.split(" ", 1)[0],
                )
                return Answer(refusal.status, fault_envelope(refusal)), contract, address
        request = Request(contract.interaction, envelope.body_element, raw, address, self.services, headers)
        if self.access_log is None or not contract.patient_data:
            return self._answer(contract, request), contract, address
        return self._answer_logged(contract, request, caller or "", headers), contract, address

    def _answer_logged(self, contract: Contract, request: Request, caller: str, headers) -> Answer:
        access = audit.Access(
            caller,
            headers.get(audit.ORIGINAL_CONSUMER_HEADER, ""),
            headers.get(audit.ACTING_ON_BEHALF_HEADER, ""),
            contract.namespace,
            request.logical_address,
        )
        token = audit.begin(access)
        try:
            answer = self._answer(contract, request)
        finally:
            audit.end(token)
        try:
            self.access_log.write(access, answer.outcome)
        except Exception as exc:
            # Fail closed: data whose reading could not be logged is not handed
            # out. Register, revoke and set-status log inside their own
            # transaction, so a change that could not be logged did not happen
            # either; the entries written here are reads and failed calls.
            ref = uuid.uuid4()
            log_failure(log, exc, "access log write failed for %s (reference %s)", contract.name, ref)
            return self._failure(contract, ErrorId.TECHNICAL_ERROR, temporary_failure_text(exc, ref), "Server")
        return answer

    def _answer(self, contract: Contract, request: Request) -> Answer:
        schema = self._schemas[contract]
        try:
            if contract.validates_request:
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
            return self._fault_answer(contract, fault)
        except FieldTooLong as exc:
            return self._failure(contract, ErrorId.VALIDATION_ERROR, str(exc), "Client")
        except DBAPIError as exc:
            ref = uuid.uuid4()
            log_failure(log, exc, "database failure in %s (reference %s)", contract.name, ref)
            return self._failure(contract, ErrorId.TECHNICAL_ERROR, temporary_failure_text(exc, ref), "Server")
        except Exception:
            ref = uuid.uuid4()
            log.exception("unexpected failure in %s (reference %s)", contract.name, ref)
            return self._failure(contract, ErrorId.APPLICATION_ERROR, f"Internal error (reference {ref})", "Server")
        return self._checked(contract, schema, response)

    def _fault_answer(self, contract: Contract | None, fault: SoapFault) -> Answer:
        """A fault raised for the call: as is, or, where the contract's binding turns client faults into
        answers (rivtabp20), an ERROR/VALIDATION_ERROR."""
        if contract is not None and contract.transforms_client_faults and fault.code == "Client":
            return self._failure(contract, ErrorId.VALIDATION_ERROR, fault.string, "Client")
        return Answer(fault.status, fault_envelope(fault))

    def _failure(self, contract: Contract, error_id: ErrorId, text: str, fault_code: str) -> Answer:
        if contract.transforms_faults:
            body = contract.error_answer(contract.interaction, error(error_id, text))
            return self._checked(contract, self._schemas[contract], body)
        return Answer(500, fault_envelope(SoapFault(text, fault_code)))

    def _checked(
        self, contract: Contract, schema: etree.XMLSchema, response: etree._Element | Prerendered | FixedAnswer
    ) -> Answer:
        if isinstance(response, FixedAnswer):
            if response.body is None:  # the first time: checked and written like any answer
                first = self._checked(contract, schema, response.element)
                if first.status != 200:
                    return first
                response.outcome = _outcome(first)
                response.body = first.body
            # No element: the shared tree is not read again by the log lines, its outcome is known.
            return Answer(200, response.body, known_outcome=response.outcome)
        # A prerendered list is not parsed again: the rest of its answer is checked (see Prerendered).
        element = response.element if isinstance(response, Prerendered) else response
        try:
            validate(schema, element)
        except SchemaViolation as exc:
            if not (contract.sends_schema_invalid_errors and _RESULT_CODE(element) == ["ERROR"]):
                # Never send what the contract forbids; this is our bug, not the caller's.
                ref = uuid.uuid4()
                log.error("response of %s failed its schema (reference %s): %s", contract.name, ref, exc)
                fault = server_fault(f"Internal error: the response failed validation (reference {ref})")
                return Answer(500, fault_envelope(fault))
        body = prerendered_envelope(response) if isinstance(response, Prerendered) else response_envelope(response)
        return Answer(200, body, element)


# In a ResultType, or bare at the top as in ListActiveSickLeavesForCareUnit.
_RESULT_CODE = etree.XPath(
    "(*[local-name()='result']/*[local-name()='resultCode'] | *[local-name()='resultCode'])[1]/text()"
)
_ERROR_ID = etree.XPath("(*[local-name()='result']/*[local-name()='errorId'])[1]/text()")


def _outcome(answer: Answer) -> str:
    """OK, INFO, ERROR:<errorId> or FAULT, read from the answer that leaves."""
    if answer.status != 200:
        return "FAULT"
    root = answer.element
    if root is None:
        return "OK"
    code = _RESULT_CODE(root)
    if not code:
        return "OK"  # the read contracts answer data, not a result
    if code[0] == "ERROR":
        error_id = _ERROR_ID(root)
        return f"ERROR:{error_id[0] if error_id else '?'}"
    return code[0]


class _Unmarshalling(GatewayError):
    pass


def result_text(result: Result) -> str:  # pragma: no cover - convenience for logs
    return f"{result.code}/{result.error_id.value if result.error_id else '-'}: {result.text or ''}"
