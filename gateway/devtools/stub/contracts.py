"""What a recipient serves: reading its requests and writing its answers.

Requests are read with the gateway's hardened parser but never validated
against a schema: the stub must take whatever the gateway sends, so that a
test can look at a malformed delivery instead of only seeing it refused.
Answers are written from text templates (no tree building on the hot path)
and follow the published responder schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

from intygsgw import interactions, ns
from intygsgw.interactions import Interaction
from intygsgw.soap.envelope import SOAP11_NS, read_envelope
from intygsgw.soap.faults import SoapFault, client_fault
from intygsgw.soap.parser import parse_untrusted

SERVED: tuple[Interaction, ...] = (
    interactions.REGISTER_CERTIFICATE_3,
    interactions.REVOKE_CERTIFICATE_2,
    interactions.SEND_MESSAGE_TO_RECIPIENT_2,
    interactions.SEND_MESSAGE_TO_CARE_2,
    interactions.CERTIFICATE_STATUS_UPDATE_FOR_CARE_3,
)
_BY_TAG = {c.request_tag: c for c in SERVED}
_NAMES = {name for c in SERVED for name in (c.name, c.key)}


def is_served_name(name: str) -> bool:
    """``RegisterCertificate`` or ``RegisterCertificate:3``."""
    return name in _NAMES


@dataclass
class Request:
    """What the stub learnt from one request body. Absent parts stay None."""

    parsed: bool = False  # well-formed XML
    fault: SoapFault | None = None  # set when the request cannot be answered with a result
    element: str | None = None  # the Body's root element, Clark notation
    contract: Interaction | None = None
    logical_address: str | None = None
    certificate_id: str | None = None
    message_id: str | None = None


def read_request(body: bytes) -> Request:
    req = Request()
    try:
        root = parse_untrusted(body)
    except SoapFault as fault:
        req.fault = fault
        return req
    req.parsed = True
    try:
        envelope = read_envelope(root)
    except SoapFault as fault:
        req.fault = fault
        return req
    element = envelope.body_element
    req.element = element.tag
    req.contract = _BY_TAG.get(element.tag)
    req.logical_address = envelope.logical_address()
    req.certificate_id = _certificate_id(element)
    req.message_id = _child_text(element, "meddelande-id")
    if req.contract is None:
        req.fault = client_fault(f"This stub recipient does not serve {element.tag}")
    elif req.logical_address is None:
        req.fault = client_fault(
            "Missing LogicalAddress: RIV-TA requires the header {urn:riv:itintegration:registry:1}LogicalAddress"
        )
    return req


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _certificate_id(element) -> str | None:
    # The first intygs-id in document order is the certificate's own: in every
    # served contract it comes before any relation or reference that also
    # carries one.
    for node in element.iter():
        if _local(node.tag) == "intygs-id":
            return _child_text(node, "extension")
    return None


def _child_text(element, local_name: str) -> str | None:
    for child in element:
        if _local(child.tag) == local_name:
            return (child.text or "").strip() or None
    return None


_HEAD = f"<?xml version='1.0' encoding='UTF-8'?><soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body>"
_TAIL = "</soap:Body></soap:Envelope>"


@lru_cache(maxsize=512)
def result_answer(contract: Interaction, code: str, error_id: str | None = None, text: str | None = None) -> bytes:
    """A ``{Name}Response`` envelope holding one ResultType."""
    result = f"<core:resultCode>{code}</core:resultCode>"
    if text is not None:
        result += f"<core:resultText>{escape(text)}</core:resultText>"
    if error_id is not None:
        result += f"<core:errorId>{error_id}</core:errorId>"
    return (
        f'{_HEAD}<ns:{contract.name}Response xmlns:ns="{contract.namespace}" xmlns:core="{ns.CORE}">'
        f"<ns:result>{result}</ns:result></ns:{contract.name}Response>{_TAIL}"
    ).encode()
