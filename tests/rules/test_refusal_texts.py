"""Refusal texts as the reference words them, compared with the published Schematron on every fail fixture.

A rule of a data definition that fails is answered ``TEST: <test>, MSG:
<message>``, the published assert's test and its message exactly as the
schema spells it, joined with ``;`` (hub-behaviour §1.3 #7), from the pairs
in ``published-v<major>.toml`` (intygsgw.devtools.published_texts). Each
published fail fixture's refusal must equal the Schematron's own result text.
The fixtures where it does not yet are listed below with why, and the test
also fails when one of them starts to agree, so the list cannot go stale.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog
from intygsgw.rules.definitions import load_definition
from intygsgw.rules.schematron import SchematronValidator, format_result_text
from tests.support.paths import NOT_PUBLISHED, SCHEMATRON_DIR, published_available

pytestmark = pytest.mark.usefixtures("published_contracts")

RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"
CATALOG = load_catalog(DEFAULT_DIR)

KNOWN = {
    ("ts-diabetes", "3", "fail-R15_2.xml"): "the assert fires once per answer it covers, ours once",
    ("ts-diabetes", "3", "fail-R19.xml"): "decimal checks: the published schema reports each instance",
    ("ts-diabetes", "3", "fail-R22_1.xml"): "a partial date: ours reports the malformed value, theirs the bound",
    ("ts-diabetes", "4", "fail-R30.xml"): "a rule no corpus certificate tripped alone, so it has no pair yet",
}


def fixture_cases():
    if not published_available():
        return [NOT_PUBLISHED]
    out = []
    for path in sorted(DEFAULT_DIR.glob("*/v*.toml")):
        code = CATALOG.by_id(path.parent.name).code.lower().replace("-", "")
        folder = SCHEMATRON_DIR / "fixtures" / code / path.stem
        out += [
            pytest.param(path, f, id=f"{path.parent.name}-{path.stem}-{f.name}") for f in sorted(folder.glob("fail*"))
        ]
    return out


@pytest.mark.parametrize(("definition_path", "fixture"), fixture_cases())
def test_every_fail_fixture_is_refused_with_the_schematrons_text(definition_path: Path, fixture: Path):
    definition = load_definition(definition_path)
    code = CATALOG.by_id(definition.type_id).code.lower().replace("-", "")
    oracle = SchematronValidator.from_file(SCHEMATRON_DIR / f"{code}.v{definition.major}.sch")
    root = etree.fromstring(fixture.read_bytes())
    ours = ";".join(definition.refusal_text(f) for f in definition.validate(root.find(RG_INTYG)))
    theirs = format_result_text([f for f in oracle.validate(root) if f.kind == "assert"])
    assert ours and theirs, "a fail fixture must fail both"
    known = KNOWN.get((definition.type_id, definition.major, fixture.name))
    if known is None:
        assert set(ours.split(";")) == set(theirs.split(";")), f"ours:\n{ours}\ntheirs:\n{theirs}"
    else:
        assert set(ours.split(";")) != set(theirs.split(";")), f"now agrees; remove it from KNOWN ({known})"
