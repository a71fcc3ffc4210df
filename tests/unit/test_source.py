"""The payload element's bytes are kept exactly as they arrived."""

import pytest
from lxml import etree

from intygsgw.soap.faults import SoapFault
from intygsgw.soap.parser import as_utf8, parse_untrusted
from intygsgw.soap.source import element_source, standalone_document

ENV = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="urn:a">'
    b'<s:Body>\n  <a:Register   x="1" >\n\t<a:intyg>  text &amp; more <!-- a:Register --></a:intyg>\n  </a:Register >\n'
    b"</s:Body></s:Envelope>"
)


def _body_child(root):
    return next(c for c in root[0] if isinstance(c.tag, str))


def test_regex_path_returns_exact_bytes_and_inherited_namespaces():
    root = parse_untrusted(ENV)
    src = element_source(ENV, _body_child(root))
    assert (
        src.xml
        == b'<a:Register   x="1" >\n\t<a:intyg>  text &amp; more <!-- a:Register --></a:intyg>\n  </a:Register >'
    )
    assert src.inherited_namespaces == {"s": "http://schemas.xmlsoap.org/soap/envelope/", "a": "urn:a"}


def test_ambiguous_text_falls_back_to_an_exact_scan():
    # The start-tag text also appears inside a comment before the element, so the
    # fast path must not be trusted; the expat pass finds the real element.
    env = ENV.replace(b"<s:Body>", b"<s:Body><!-- <a:Register x='0'></a:Register> -->")
    root = parse_untrusted(env)
    src = element_source(env, _body_child(root))
    assert src.xml.startswith(b'<a:Register   x="1" >') and src.xml.endswith(b"</a:Register >")


def test_same_prefix_bound_to_another_namespace_earlier_is_not_taken():
    # A Header copy of the payload under the same prefix but another namespace
    # must not be stored in place of the Body element that was validated.
    decoy = b'<s:Header><a:Register xmlns:a="urn:evil" x="forged"><a:intyg>forged</a:intyg></a:Register></s:Header>'
    env = ENV.replace(b"<s:Body>", decoy + b"<s:Body>")
    root = parse_untrusted(env)
    el = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body/{urn:a}Register")
    src = element_source(env, el)
    assert src.xml.startswith(b'<a:Register   x="1" >') and b"forged" not in src.xml


def test_same_namespace_under_another_prefix_is_counted():
    # The ordinal is by namespace and name: an earlier element of the same kind
    # written with another prefix still comes first in document order.
    decoy = b'<s:Header><b:Register xmlns:b="urn:a" x="earlier"/></s:Header>'
    env = ENV.replace(b"<s:Body>", decoy + b"<s:Body><!-- <a:Register> -->")
    root = parse_untrusted(env)
    el = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body/{urn:a}Register")
    assert element_source(env, el).xml.startswith(b'<a:Register   x="1" >')


def test_self_closing_element_is_not_stretched_to_an_end_tag_in_a_comment():
    env = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="urn:a"><s:Body>'
        b'<a:Register x="1"/><!-- </a:Register> --></s:Body></s:Envelope>'
    )
    root = parse_untrusted(env)
    assert element_source(env, _body_child(root)).xml == b'<a:Register x="1"/>'


def test_self_closing_element_found_by_the_exact_scan_is_just_its_tag():
    env = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="urn:a"><s:Body>'
        b'<!-- <a:Register> --><a:Register x="a/>b"/></s:Body></s:Envelope>'
    )
    root = parse_untrusted(env)
    assert element_source(env, _body_child(root)).xml == b'<a:Register x="a/>b"/>'


def test_a_default_namespace_copy_in_the_header_is_not_taken():
    s = b'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
    env = (
        b"<s:Envelope " + s + b'><s:Header><R xmlns="urn:a">forged</R></s:Header>'
        b'<s:Body><R xmlns="urn:a">real</R></s:Body></s:Envelope>'
    )
    body = parse_untrusted(env).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert element_source(env, body).xml == b'<R xmlns="urn:a">real</R>'


def test_latin1_request_is_stored_as_utf8_with_the_same_characters():
    env = ENV.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(b"more", "mör".encode("latin-1"))
    utf8 = as_utf8(env)
    assert utf8.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    src = element_source(utf8, _body_child(parse_untrusted(utf8)))
    assert "mör".encode() in src.xml


@pytest.mark.parametrize(
    "body, why",
    [
        ("\ufeff<x/>".encode("utf-16-le"), "UTF-16 or UTF-32"),
        (b"<x>\x00</x>", "UTF-16 or UTF-32"),
        (b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?><x/>', "byte order mark but declares ISO-8859-1"),
        (b'<?xml version="1.0" encoding="UTF-7"?><x/>', "the encoding 'UTF-7' in the XML declaration is not accepted"),
        (b'<?xml version="1.0" encoding="windows-1252"?><x>\x81</x>', "not valid windows-1252"),
    ],
)
def test_bodies_that_cannot_be_read_as_one_text_are_refused(body, why):
    with pytest.raises(SoapFault) as refused:
        as_utf8(body)
    assert why in refused.value.string


def test_one_decoder_for_code_pages_where_two_disagree():
    # windows-1258: libxml2 and Python decode combining accents differently;
    # transcoding first means the parser sees Python's reading, as stored.
    env = ENV.replace(b'encoding="UTF-8"', b'encoding="windows-1258"').replace(b"more", b"Nguye\xde\xc3n")
    utf8 = as_utf8(env)
    el = _body_child(parse_untrusted(utf8))
    again = etree.fromstring(standalone_document(*element_source(utf8, el).__dict__.values()))[0]
    assert etree.tostring(again, method="c14n") == etree.tostring(el, method="c14n")


def test_standalone_document_reparses_to_the_same_tree():
    root = parse_untrusted(ENV)
    el = _body_child(root)
    src = element_source(ENV, el)
    again = etree.fromstring(standalone_document(src.xml, src.inherited_namespaces))[0]
    assert etree.tostring(again, method="c14n") == etree.tostring(el, method="c14n")


def test_self_contained_element_parses_alone_with_content_unchanged():
    from intygsgw.soap.source import self_contained

    root = parse_untrusted(ENV)
    el = _body_child(root)
    src = element_source(ENV, el)
    alone = self_contained(src.xml, src.inherited_namespaces)
    again = etree.fromstring(alone)
    assert etree.tostring(again, method="c14n") == etree.tostring(el, method="c14n")
    # everything after the element name is the original text
    assert alone.endswith(src.xml[len(b"<a:Register") :])


def test_self_contained_does_not_read_declarations_inside_attribute_values():
    from intygsgw.soap.source import self_contained

    xml = b"<a:x xsi:schemaLocation=\"urn:x xmlns:c='urn:evil'\" b='1 xmlns=\"urn:evil\"'><c:y/></a:x>"
    out = self_contained(
        xml, {"a": "urn:a", "c": "urn:c", "": "urn:d", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    )
    assert etree.fromstring(out)[0].tag == "{urn:c}y"
    assert b'xmlns:c="urn:c"' in out and b'xmlns="urn:d"' in out


def test_self_contained_keeps_the_elements_own_declarations():
    from intygsgw.soap.source import self_contained

    xml = b'<a:x xmlns:a="urn:own" b="1"><a:y/></a:x>'
    out = self_contained(xml, {"a": "urn:inherited", "c": "urn:c"})
    assert etree.fromstring(out).tag == "{urn:own}x"
    assert b'xmlns:c="urn:c"' in out and b"urn:inherited" not in out
