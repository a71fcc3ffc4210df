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

from .faults import SoapFault, client_fault

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
        raise client_fault(f"Malformed request: the encoding {docinfo.encoding} is not accepted; "
                           "send UTF-8 (or ISO-8859-1)")
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise client_fault("Malformed request: a document type declaration (DOCTYPE) is not allowed")
    if XINCLUDE_NS in data and root.xpath(
        "boolean(//*[namespace-uri()='http://www.w3.org/2001/XInclude'])"
    ):
        raise client_fault("Malformed request: XInclude elements are not allowed")
    return root


# Encodings in which every byte below 0x80 is that ASCII character and
# nothing else. The stored payload is cut out of the raw bytes by its tags
# (soap.source); in UTF-7, UTF-16, ISO-2022 or Shift_JIS the bytes of a
# comment can spell a tag the parser never saw, so those are refused.
_ASCII_COMPATIBLE = ({"utf-8", "ascii"} | {f"iso8859-{n}" for n in range(1, 17) if n != 12}
                     | {f"cp125{n}" for n in range(9)})


def is_ascii_compatible(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _ASCII_COMPATIBLE
    except LookupError:
        return False


_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*\sencoding\s*=""")
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}


def as_sent(data: bytes, content_type: str | None) -> bytes:
    """The body in UTF-8 when its HTTP charset is the only statement of its encoding.

    A document without an encoding declaration (and without a byte order mark)
    is read as UTF-8 by the XML parser, but the charset of a ``text/xml`` body
    names its encoding (RFC 7303), and callers writing ISO-8859-1 rely on it.
    The body is transcoded once here, so that what is parsed, validated and
    stored are the same characters.
    """
    match = _CHARSET.search(content_type or "")
    if match is None or match.group(1).lower() in _UTF8_NAMES:
        return data
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or _DECLARED_ENCODING.match(data.lstrip()):
        return data
    charset = match.group(1)
    if not is_ascii_compatible(charset):
        raise client_fault(f"Malformed request: the charset {charset!r} in the Content-Type is not accepted; "
                           "send UTF-8 (or ISO-8859-1)")
    try:
        return data.decode(charset).encode("utf-8")
    except UnicodeError:
        raise client_fault(f"Malformed request: the body is not valid {charset} as its Content-Type says") from None


def parse_trusted(data: bytes) -> etree._Element:
    """Parse bytes this gateway wrote itself (stored documents)."""
    return etree.fromstring(data, _parser())


__all__ = ["as_sent", "parse_untrusted", "parse_trusted", "SoapFault"]
