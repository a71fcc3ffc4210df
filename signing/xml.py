"""XML names and the one parser the signing code uses on untrusted bytes."""

from __future__ import annotations

from lxml import etree

from intygsgw import ns
from intygsgw.errors import GatewayError

DS = ns.XMLDSIG
# The intyg's signature element lives in the 3.2 extension namespace of the
# certificate core schema: intyg/{…:3.2}underskrift/ds:Signature.
UNDERSKRIFT_NS = ns.CORE_3_2
UNDERSKRIFT = f"{{{UNDERSKRIFT_NS}}}underskrift"
CORE_NS = ns.CORE
TYPES_NS = ns.TYPES
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
)


class NotXml(GatewayError, ValueError):
    pass


def parse(data: bytes) -> etree._Element:
    """Parse untrusted bytes; a DOCTYPE is refused outright (no entity tricks)."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise NotXml(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise NotXml("a DOCTYPE is not accepted")
    return root
