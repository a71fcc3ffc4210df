"""SOAP 1.1 envelopes: read the parts a request is routed on, write answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from intygsgw import ns
from intygsgw.soap.faults import SoapFault, client_fault

SOAP11_NS = ns.SOAP11
SOAP12_NS = ns.SOAP12
RIV_REGISTRY_NS = ns.RIV_REGISTRY

_ENVELOPE = f"{{{SOAP11_NS}}}Envelope"
_HEADER = f"{{{SOAP11_NS}}}Header"
_BODY = f"{{{SOAP11_NS}}}Body"
_LOGICAL_ADDRESS = f"{{{RIV_REGISTRY_NS}}}LogicalAddress"


@dataclass
class RequestEnvelope:
    root: etree._Element
    header: etree._Element | None
    body_element: etree._Element

    @property
    def operation(self) -> str:
        """The body root's Clark name: the key a contract is found by."""
        return self.body_element.tag

    def logical_address(self, header_tag: str = _LOGICAL_ADDRESS) -> str | None:
        """The text of the header that carries the address (RIV-TA's LogicalAddress unless told)."""
        if self.header is None:
            return None
        el = self.header.find(header_tag)
        if el is None or el.text is None:
            return None
        return el.text.strip() or None


def soap12_refused() -> SoapFault:
    return SoapFault("SOAP 1.2 is not supported: RIV-TA Basic Profile 2.1 services speak SOAP 1.1", "VersionMismatch")


def read_envelope(root: etree._Element) -> RequestEnvelope:
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == f"{{{SOAP12_NS}}}Envelope":
        raise soap12_refused()
    if tag != _ENVELOPE:
        if tag.endswith("}Envelope") or tag == "Envelope":
            raise SoapFault(f"Unsupported SOAP envelope namespace in {tag}", "VersionMismatch")
        raise client_fault("Malformed request: the document is not a SOAP envelope")
    header = body = None
    for child in root:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        if child.tag == _HEADER and header is None and body is None:
            header = child
        elif child.tag == _BODY and body is None:
            body = child
        else:
            raise client_fault(f"Malformed request: unexpected element {child.tag} in the envelope")
    if body is None:
        raise client_fault("Malformed request: the envelope has no Body")
    elements = [c for c in body if isinstance(c.tag, str)]
    if len(elements) != 1:
        raise client_fault(f"Malformed request: the Body must hold exactly one element, it holds {len(elements)}")
    return RequestEnvelope(root, header, elements[0])


_RESPONSE_HEAD = (
    f"<?xml version='1.0' encoding='UTF-8'?><soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body>"
).encode()
_RESPONSE_TAIL = b"</soap:Body></soap:Envelope>"


def response_envelope(body_element: etree._Element) -> bytes:
    return _RESPONSE_HEAD + etree.tostring(body_element, encoding="UTF-8", xml_declaration=False) + _RESPONSE_TAIL


@dataclass
class Prerendered:
    """A response whose bulk is XML text already: thousands of list items, megabytes.

    ``element`` is the rest of the response, checked against the schema like any
    other; ``fill`` (UTF-8, whole or in pieces that are joined only into the
    envelope itself) becomes the content of ``slot``, an empty element inside it,
    when the answer is written. Building, parsing and checking such a list as
    a tree cost several times what rendering it does; the renderer escapes
    every value, and the tests check whole answers against the published schema.
    """

    element: etree._Element
    slot: etree._Element
    fill: bytes | list[bytes]


class FixedAnswer:
    """A response that is the same for every call that gets it (RegisterCertificate's OK).

    The dispatcher checks it against the schema and serializes it the first
    time it is sent and keeps the bytes; after that an answer costs no tree,
    no validation and no serialization. ``element`` must not be changed.
    """

    __slots__ = ("body", "element", "outcome")

    def __init__(self, element: etree._Element):
        self.element = element
        self.body: bytes | None = None  # the envelope, once checked
        self.outcome = ""  # what the logs say of it (OK, ERROR:<errorId>), once checked


def prerendered_envelope(response: Prerendered) -> bytes:
    mark = uuid.uuid4().hex  # cannot occur in the rest of the answer by chance
    response.slot.text = mark
    try:
        before, after = etree.tostring(response.element, encoding="UTF-8", xml_declaration=False).split(
            mark.encode(), 1
        )
    finally:
        response.slot.text = None
    fill = [response.fill] if isinstance(response.fill, bytes) else response.fill
    return b"".join([_RESPONSE_HEAD, before, *fill, after, _RESPONSE_TAIL])


def fault_envelope(fault: SoapFault) -> bytes:
    detail = ""
    if fault.detail:
        detail = f"<detail><detailString>{escape(fault.detail)}</detailString></detail>"
    return (
        _RESPONSE_HEAD
        + (
            f"<soap:Fault><faultcode>soap:{fault.code}</faultcode>"
            f"<faultstring>{escape(fault.string)}</faultstring>{detail}</soap:Fault>"
        ).encode()
        + _RESPONSE_TAIL
    )


def request_envelope(body_element_xml: bytes, logical_address: str) -> bytes:
    """An outbound RIV-TA request: LogicalAddress header plus the given body."""
    return (
        (
            "<?xml version='1.0' encoding='UTF-8'?>"
            f'<soap:Envelope xmlns:soap="{SOAP11_NS}"><soap:Header>'
            f'<riv:LogicalAddress xmlns:riv="{RIV_REGISTRY_NS}">{escape(logical_address)}</riv:LogicalAddress>'
            "</soap:Header><soap:Body>"
        ).encode()
        + body_element_xml
        + _RESPONSE_TAIL
    )
