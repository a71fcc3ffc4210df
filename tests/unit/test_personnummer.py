import datetime as dt

import pytest

from intygsgw.domain.personnummer import (
    PERSONNUMMER_ROOT,
    SAMORDNINGSNUMMER_ROOT,
    InvalidPersonId,
    hash_for_log,
    parse_person_id,
)

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("191212121212", "191212121212"),
        ("19121212-1212", "191212121212"),
        ("20121212+1212", "201212121212"),
        ("121212-1212", "201212121212"),  # (2026 - 12) // 100 = 20
        ("121212+1212", "191212121212"),  # '+' marks a centenarian: one century back
        ("501212-1212", "195012121212"),  # (2026 - 50) // 100 = 19
        ("5012121212", "195012121212"),
    ],
)
def test_accepted_formats_normalise_to_twelve_digits(raw, expected):
    assert parse_person_id(raw, TODAY).digits == expected


@pytest.mark.parametrize("raw", ["", None, "18121212-1212", "abc", "19121212--1212", "1212121212123"])
def test_rejected_formats(raw):
    with pytest.raises(InvalidPersonId):
        parse_person_id(raw, TODAY)


def test_samordningsnummer_is_a_day_of_sixty_or_more():
    assert parse_person_id("197010632391").is_samordningsnummer
    assert parse_person_id("197010632391").root == SAMORDNINGSNUMMER_ROOT
    assert parse_person_id("191212121212").root == PERSONNUMMER_ROOT


def test_control_digit_is_not_checked_at_parse_but_can_be_asked():
    good = parse_person_id("191212121212")
    bad = parse_person_id("191212121213")
    assert good.has_valid_control_digit()
    assert not bad.has_valid_control_digit()


def test_log_hash_hides_the_id():
    assert "191212121212" not in hash_for_log("19121212-1212")
    assert hash_for_log("19121212-1212") == hash_for_log("191212121212")
    assert hash_for_log("") == "EMPTY"
