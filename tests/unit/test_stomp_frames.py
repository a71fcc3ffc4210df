"""The STOMP frames the broker adapter writes itself (a batch goes out in one write)."""

from __future__ import annotations

import pytest
from stomp.utils import parse_frame

from intygsgw.outbound.broker import send_frame


def test_a_frame_reads_back_with_its_headers_unescaped_by_a_stomp_parser():
    frame = send_frame(
        "/queue/certificate.queue",
        {"action": "created", "certificate-id": "id:with\nnewline\\and colon", "receipt": "r-1"},
        "<intyg>å</intyg>".encode(),
    )
    assert frame.startswith(b"SEND\n") and frame.endswith(b"\0")
    assert b"content-length" not in frame  # a TextMessage in ActiveMQ, not a BytesMessage
    parsed = parse_frame(frame[:-1])
    assert parsed.cmd == "SEND"
    assert parsed.headers["destination"] == "/queue/certificate.queue"
    assert parsed.headers["certificate-id"] == "id:with\nnewline\\and colon"
    assert parsed.body == "<intyg>å</intyg>".encode()


def test_a_body_with_a_nul_byte_is_refused_rather_than_cut_short():
    with pytest.raises(ValueError, match="NUL"):
        send_frame("/queue/q", {}, b"before\0after")


@pytest.mark.parametrize("value", ["a:b", "a\nb", "a\\b", "plain-id-123"])
def test_a_header_value_with_any_one_of_the_escaped_characters_reads_back_unchanged(value):
    parsed = parse_frame(send_frame("/queue/q", {"certificate-id": value}, b"<x/>")[:-1])
    assert parsed.headers["certificate-id"] == value
