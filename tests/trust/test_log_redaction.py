"""Person ids never reach the application log in clear."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intygsgw.domain.personnummer import hash_for_log
from intygsgw.logsafety import RedactingFormatter, redact


def test_person_ids_are_replaced_by_their_hash():
    line = redact("revoke 191212121212 / 19770523-2382 / 770523-2382 for cert 9f02dd2f-1212")
    assert "191212121212" not in line and "770523-2382" not in line
    assert f"pid:{hash_for_log('191212121212')[:16]}" in line
    # the same person, written two ways, gets the same token
    assert redact("19770523-2382") == redact("197705232382")
    assert "9f02dd2f-1212" in line


def test_ten_bare_digits_are_redacted_when_they_can_be_a_person_id():
    line = redact("lookup 7705232382 and 7705832389 at 1795449644")
    assert "7705232382" not in line and "7705832389" not in line  # a personnummer and a samordningsnummer
    assert "1795449644" in line  # month 95: a Unix time, not a person
    assert "7705232383" in redact("7705232383")  # wrong control digit
    uuid_like = "reference 0b7705232382ab-45e4-acb1-1199e71b8494"
    assert redact(uuid_like) == uuid_like


def test_longer_digit_runs_and_ids_are_left_alone():
    assert redact("order 12345678901234567 id SE2321000016-1003") == "order 12345678901234567 id SE2321000016-1003"


def test_exception_text_is_redacted_too():
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("not a person id: '191212121212'")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed for %s", ("20121212-1212",), sys.exc_info())
    text = formatter.format(record)
    assert "191212121212" not in text and "20121212-1212" not in text and "ValueError" in text


@pytest.mark.parametrize(
    "uuid",
    [
        "ec123456-7890-4499-bc61-a391126a3c8f",  # yyMMdd-nnnn inside the first two groups
        "19121212-1212-4499-bc61-a391126a3c8f",  # yyyyMMdd-nnnn as the first two groups
        "abcdef12-3456-4499-bc61-191212121212",  # twelve digits as the last group
    ],
)
def test_a_uuid_is_never_taken_for_a_person_id(uuid):
    line = f"correlation {uuid}: done"
    assert redact(line) == line


@given(st.uuids())
def test_no_generated_uuid_changes_in_the_log(value):
    assert redact(str(value)) == str(value)


def test_a_person_id_beside_a_uuid_or_glued_to_other_text_is_still_replaced():
    cases = ("(19121212-1212)", "pnr:191212121212.", "id=121212-1212,", '"19121212+1212"', "SE2321000016-191212121212",
             "x19121212-1212", "cert 9f02dd2f-1d3a-4e65-a4ab-3e46e5f7f2a1 for 19121212-1212")  # fmt: skip
    for text in cases:
        assert "pid:" in redact(text) and "1212-1212" not in redact(text) and "121212121212" not in redact(text), text
