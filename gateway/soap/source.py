"""Find the exact bytes an element occupied in the message it was parsed from.

A doctor's XML signature covers the certificate as it was written, so the
gateway keeps the payload element exactly as received instead of a
re-serialisation. lxml does not report byte offsets, so the span is found in
the raw bytes: a regex when the element's start and end tags are unambiguous
(the normal case, a few microseconds), otherwise an expat pass that counts
elements by namespace and name in document order.

Getting the wrong span is a forgery, not a glitch: the element that was
validated and whose signature was verified must be the one stored and sent
on. So the fallback never counts by prefix (a prefix can name another
namespace elsewhere in the same message, a SOAP Header for instance), and
the fast path is only trusted when its single end tag can only be the
element's own. Both read tags as ASCII bytes of UTF-8, which is sound
because every request is made UTF-8 before it is parsed (soap.parser.as_utf8),
by one decoder, and encodings in which other bytes could spell a tag (UTF-7,
UTF-16, ISO-2022 and the like) are refused there.
"""

from __future__ import annotations

import contextlib
import re
import xml.parsers.expat
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree


@dataclass(frozen=True)
class ElementSource:
    """An element's original text plus the namespace declarations it inherits."""

    xml: bytes  # UTF-8; byte-identical to the request when the request was UTF-8 (transcoded otherwise)
    inherited_namespaces: dict[str, str]  # prefix ('' = default) -> URI, from ancestors


def _raw_qname(el: etree._Element) -> bytes:
    local = etree.QName(el).localname
    return (f"{el.prefix}:{local}" if el.prefix else local).encode("ascii", "strict")


def _span_by_regex(data: bytes, qname: bytes) -> tuple[int, int] | None:
    # '<' cannot occur in attribute values, so the element's own start tag is
    # always among the matches; a single match is therefore the element. Its end
    # tag is the single '</qname>' only when the start tag is not self-closing:
    # otherwise that end tag sits in a comment or CDATA section.
    q = re.escape(qname)
    starts = [m.start() for m in re.finditer(rb"<" + q + rb"(?=[\s/>])", data)]
    ends = [m.end() for m in re.finditer(rb"</" + q + rb"\s*>", data)]
    if len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0]:
        tag_end = _start_tag_end(data, starts[0])
        if tag_end < ends[0] and data[tag_end - 1 : tag_end] != b"/":
            return starts[0], ends[0]
    return None


def _span_by_expat(data: bytes, tag: str, ordinal: int) -> tuple[int, int]:
    # rpartition: a namespace URI may contain '}', a local name may not.
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    target = f"{namespace} {local}" if namespace else local
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    state = {"seen": -1, "depth": 0, "start": None, "end": None, "empty_end": None}

    class _Done(Exception):
        pass

    def start(name, _attrs):
        if state["start"] is not None:
            state["depth"] += 1
            return
        if name == target:
            state["seen"] += 1
            if state["seen"] == ordinal:
                at = parser.CurrentByteIndex
                tag_end = _start_tag_end(data, at)
                state["start"], state["depth"] = at, 1
                if data[tag_end - 1 : tag_end] == b"/":
                    # An empty-element tag: expat reports its end after the tag,
                    # at whatever follows, so the span is the tag itself.
                    state["empty_end"] = tag_end + 1

    def end(name):
        if state["start"] is None:
            return
        state["depth"] -= 1
        if state["depth"] == 0:
            if state["empty_end"] is not None:
                state["end"] = state["empty_end"]
            else:  # an end tag has no attributes: its first '>' closes it
                state["end"] = data.index(b">", parser.CurrentByteIndex) + 1
            raise _Done

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with contextlib.suppress(_Done):  # raised to stop at the element's end
        parser.Parse(data, True)
    if state["start"] is None or state["end"] is None:
        raise ValueError(f"element {tag} not found in the source bytes")
    return state["start"], state["end"]


def element_source(data: bytes, el: etree._Element) -> ElementSource:
    """The original bytes of ``el`` inside ``data``, the UTF-8 bytes it was parsed from.

    Requests in other encodings are transcoded before parsing (soap.parser.as_utf8).
    """
    if (el.getroottree().docinfo.encoding or "UTF-8").upper() not in ("UTF-8", "UTF8"):
        raise ValueError("element_source reads UTF-8 documents; transcode with as_utf8 first")
    qname = _raw_qname(el)
    span = _span_by_regex(data, qname)
    if span is None:
        ordinal = 0
        for other in el.getroottree().iter(el.tag):
            if other is el:
                break
            ordinal += 1
        span = _span_by_expat(data, el.tag, ordinal)
    raw = data[span[0] : span[1]]
    parent = el.getparent()
    inherited = {}
    if parent is not None:
        inherited = {(k or ""): v for k, v in parent.nsmap.items()}
    return ElementSource(raw, inherited)


def standalone_document(source_xml: bytes, inherited_namespaces: dict[str, str]) -> bytes:
    """Wrap stored element bytes so they parse on their own.

    The wrapper only re-declares what the element inherited; the element's own
    bytes are not touched.
    """
    decls = "".join(
        f" xmlns={quoteattr(uri)}" if not prefix else f" xmlns:{prefix}={quoteattr(uri)}"
        for prefix, uri in sorted(inherited_namespaces.items())
    )
    return f"<stored{decls}>".encode() + source_xml + b"</stored>"


_START_NAME = re.compile(rb"<[^\s/>]+")
_ATTRIBUTE = re.compile(rb"""\s+([^\s=/>]+)\s*=\s*(?:"[^"]*"|'[^']*')""")


def _start_tag_end(xml: bytes, start: int = 0) -> int:
    """Index of the '>' closing the start tag that begins at ``start``."""
    quote = None
    for i in range(start + 1, len(xml)):
        c = xml[i : i + 1]
        if quote:
            if c == quote:
                quote = None
        elif c in (b'"', b"'"):
            quote = c
        elif c == b">":
            return i
    raise ValueError("unterminated start tag")


def _declared_prefixes(start_tag: bytes, after_name: int) -> set[str]:
    """Prefixes ('' = default) the start tag declares itself.

    Attributes are read one after the other, each with its quoted value, so
    text inside a value (an ``xsi:schemaLocation`` holding " xmlns:c='…'")
    is never taken for a declaration.
    """
    own: set[str] = set()
    at = after_name
    while match := _ATTRIBUTE.match(start_tag, at):
        name = match.group(1)
        if name == b"xmlns":
            own.add("")
        elif name.startswith(b"xmlns:"):
            own.add(name[6:].decode())
        at = match.end()
    return own


def self_contained(source_xml: bytes, inherited_namespaces: dict[str, str]) -> bytes:
    """The element with its inherited declarations moved onto its start tag.

    Used when a stored or received element is sent on inside another
    envelope. Only the start tag gains attributes; every byte of the content,
    a signed ``intyg`` included, is unchanged.
    """
    name = _START_NAME.match(source_xml)
    if not name:
        raise ValueError("not an element")
    start_tag = source_xml[: _start_tag_end(source_xml) + 1]
    own = _declared_prefixes(start_tag, name.end())
    decls = "".join(
        (f" xmlns={quoteattr(uri)}" if not prefix else f" xmlns:{prefix}={quoteattr(uri)}")
        for prefix, uri in sorted(inherited_namespaces.items())
        if prefix not in own
    ).encode()
    return source_xml[: name.end()] + decls + source_xml[name.end() :]
