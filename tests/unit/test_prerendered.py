"""Answers whose bulk is rendered as text (intygsgw.soap.envelope.Prerendered)."""

from __future__ import annotations

from lxml import etree

from intygsgw.handlers.rehab_items import xml_text
from intygsgw.soap.envelope import Prerendered, prerendered_envelope


def test_rendered_values_are_escaped_and_stripped_of_what_xml_cannot_carry():
    assert xml_text('Ann & "Bo" <x>') == 'Ann &amp; "Bo" &lt;x&gt;'
    assert xml_text("a\x00b\x1fc\td\ne") == "abc\td\ne"


def test_the_fill_lands_inside_its_slot_and_the_rest_of_the_answer_is_untouched():
    root = etree.Element("{urn:a}R", nsmap={"a": "urn:a"})
    slot = etree.SubElement(root, "{urn:a}lista")
    etree.SubElement(root, "{urn:a}resultCode").text = "OK"
    fill = "".join(f"<a:item>{xml_text(v)}</a:item>" for v in ("1 < 2", "Åsa")).encode()
    envelope = prerendered_envelope(Prerendered(root, slot, fill))
    body = etree.fromstring(envelope)[0][0]
    assert [i.text for i in body.find("{urn:a}lista")] == ["1 < 2", "Åsa"]
    assert body.findtext("{urn:a}resultCode") == "OK"
    assert slot.text is None  # the marker is gone from the tree again
