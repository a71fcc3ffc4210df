"""Turn untrusted request bytes into an lxml tree, or refuse them quickly.

Every request body passes through here before anything else looks at it. The
parser never reads DTDs, never resolves entities, never touches the network and
keeps libxml2's size limits on, so entity bombs, external entities and
oversized text nodes fail fast instead of eating the worker.
"""

from __future__ import annotations

import codecs
import re
import threading

from lxml import etree

from intygsgw.soap.faults import SoapFault, client_fault

XINCLUDE_NS = b"http://www.w3.org/2001/XInclude"

_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers keep per-parse state; one per thread keeps them independent
    # under a threaded WSGI server.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=False,
            remove_pis=False,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse a request body, refusing DTDs and XInclude.

    The encoding declared in the XML declaration is honoured (UTF-8 and
    ISO-8859-1 are what callers send).
    """
    if not data or not data.strip():
        raise client_fault("Malformed request: the body is empty")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise client_fault(f"Malformed request: the body is not well-formed XML ({exc})") from None
    except ValueError as exc:  # e.g. unsupported encoding names
        raise client_fault(f"Malformed request: {exc}") from None
    docinfo = root.getroottree().docinfo
    if not is_ascii_compatible(docinfo.encoding or "UTF-8"):
        raise client_fault(
            f"Malformed request: the encoding {docinfo.encoding} is not accepted; send UTF-8 (or ISO-8859-1)"
        )
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise client_fault("Malformed request: a document type declaration (DOCTYPE) is not allowed")
    if XINCLUDE_NS in data and root.xpath("boolean(//*[namespace-uri()='http://www.w3.org/2001/XInclude'])"):
        raise client_fault("Malformed request: XInclude elements are not allowed")
    return root


# Encodings in which every byte below 0x80 is that ASCII character and
# nothing else. The stored payload is cut out of the raw bytes by its tags
# (soap.source); in UTF-7, UTF-16, ISO-2022 or Shift_JIS the bytes of a
# comment can spell a tag the parser never saw, so those are refused.
_ASCII_COMPATIBLE = (
    {"utf-8", "ascii"} | {f"iso8859-{n}" for n in range(1, 17) if n != 12} | {f"cp125{n}" for n in range(9)}
)


def _codec(encoding: str) -> str | None:
    """Python's name for an encoding name as written (``ISO-8859-1`` -> ``iso8859-1``), None if unknown."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def is_ascii_compatible(encoding: str) -> bool:
    return _codec(encoding) in _ASCII_COMPATIBLE


_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""\sencoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\1""")
_UTF8_BOM = b"\xef\xbb\xbf"
_NOT_ACCEPTED = "is not accepted; send UTF-8 (or ISO-8859-1)"


def as_utf8(data: bytes, content_type: str | None = None) -> bytes:
    """The request body in UTF-8, decoded once, by Python, before anything parses it.

    A UTF-8 body comes back as it is, byte for byte. Any other accepted
    encoding (named by the XML declaration, or by the HTTP charset when there
    is no declaration, RFC 7303) is transcoded and its declaration made to say
    UTF-8, so that the parser and the byte-level search for the payload
    (soap.source) read the same characters. Two decoders disagree on some
    code pages (windows-1258 composes accents, libxml2 and Python differently),
    so only one of them may ever see the original bytes.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data:
        raise client_fault(f"Malformed request: UTF-16 or UTF-32 {_NOT_ACCEPTED}")
    bom = data.startswith(_UTF8_BOM)
    head = data[3:] if bom else data
    declaration = _XML_DECLARATION.match(head)
    declared = _ENCODING.search(declaration.group(0)) if declaration else None
    if declared is not None:
        encoding = declared.group(2).decode("ascii")
        if _codec(encoding) == "utf-8":
            return data
        if bom:
            raise client_fault(
                f"Malformed request: the body starts with a UTF-8 byte order mark but declares {encoding}"
            )
        where = "the XML declaration"
        data = data[: declared.start(2)] + b"UTF-8" + data[declared.end(2) :]  # no BOM here: head is data
    else:
        match = _CHARSET.search(content_type or "")
        if match is None or bom or _codec(match.group(1)) == "utf-8":
            return data
        encoding, where = match.group(1), "the Content-Type"
    if not is_ascii_compatible(encoding):
        raise client_fault(f"Malformed request: the encoding {encoding!r} in {where} {_NOT_ACCEPTED}")
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeError:
        raise client_fault(f"Malformed request: the body is not valid {encoding} as {where} says") from None


def parse_trusted(data: bytes) -> etree._Element:
    """Parse bytes this gateway wrote itself (stored documents)."""
    return etree.fromstring(data, _parser())


__all__ = ["SoapFault", "as_utf8", "parse_trusted", "parse_untrusted"]
