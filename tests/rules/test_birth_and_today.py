"""Dates checked against the patient's birth and today: data rules vs the published Schematron.

The seeded corpus keeps one personnummer, so the birth-date arithmetic of the
TS diabetes rules (``within_life``: samordningsnummer day minus 60, unpadded;
birth year from the first four digits) is exercised here on the published
``pass-complete`` fixtures with other patient ids and dates on and around the
birth date and today. Each variant must get the oracle's verdict.
"""

from __future__ import annotations

import datetime
import itertools

import pytest
from lxml import etree

from intygsgw.rules.catalog import DEFAULT_DIR
from intygsgw.rules.definitions import load_definition
from intygsgw.rules.schematron import SchematronValidator
from tests.support.paths import SCHEMATRON_DIR, published

# Every test here compares the gateway with the published contracts; the
# fixture marks each one `conformance` (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("published_contracts")

GN = "{urn:riv:clinicalprocess:healthcond:certificate:3}"
TP = "{urn:riv:clinicalprocess:healthcond:certificate:types:3}"
RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"

PERSON_IDS = [
    "192703104321",
    "192703704321",
    "192703614321",
    "192703004321",
    "192702294321",
    "19270310",
    "abcdefghijkl",
]


def _day_values() -> list[str]:
    today = datetime.date.today()
    return [
        "1927-03-10",
        "1927-03-09",
        "1927-03-11",
        today.isoformat(),
        (today + datetime.timedelta(days=1)).isoformat(),
        "2021-10-30",
    ]


def _year_values() -> list[str]:
    year = datetime.date.today().year
    return ["1927", "1926", str(year), str(year + 1)]


def _variant(base: bytes, person_id: str, day: str, year: str) -> bytes:
    root = etree.fromstring(base)
    next(root.iter(GN + "person-id")).find(TP + "extension").text = person_id
    for partial in root.iter(TP + "partialDate"):
        value = partial.find(TP + "value")
        value.text = year if partial.findtext(TP + "format") == "YYYY" else day
    return etree.tostring(root)


@pytest.mark.parametrize("major", ["3", "4"])
def test_dates_around_birth_and_today_get_the_schematron_verdict(major):
    definition = load_definition(DEFAULT_DIR / "ts-diabetes" / f"v{major}.toml")
    oracle = SchematronValidator.from_file(published(SCHEMATRON_DIR / f"tstrk1031.v{major}.sch"))
    base = (SCHEMATRON_DIR / "fixtures" / "tstrk1031" / f"v{major}" / "pass-complete.xml").read_bytes()
    disagreements, verdicts = [], set()
    for person_id, day, year in itertools.product(PERSON_IDS, _day_values(), _year_values()):
        root = etree.fromstring(_variant(base, person_id, day, year))
        mine = bool(definition.validate(root.find(RG_INTYG)))
        theirs = bool(oracle.validate(root))
        verdicts.add(theirs)
        if mine != theirs:
            disagreements.append((person_id, day, year, mine, theirs))
    assert not disagreements, disagreements[:5]
    assert verdicts == {True, False}, "the variants should include both valid and invalid certificates"
