"""The data-driven rules give the published Schematron's verdict on every message.

For every type with a data definition (``contracts/certificate-types/<id>/v<major>.toml``)
the published ``.sch`` of the same type and major version is run through
saxonche as the oracle, on (a) the published fixtures of that type and version
and (b) a seeded corpus from :mod:`intygsgw.devtools.rules_corpus`. The test runs
``CORPUS_PER_TYPE`` messages per type (500, the issue's floor, unless
``INTYGSGW_CORPUS_PER_TYPE`` says otherwise for a quick local run);
``benchmarks/rules_validation.py --check`` runs the same generator with another
seed and prints the agreement per type.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest
from lxml import etree

from intygsgw.devtools.rules_corpus import generate
from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog
from intygsgw.rules.definitions import load_definition
from intygsgw.rules.schematron import SchematronValidator
from tests.support.paths import NOT_PUBLISHED, SCHEMATRON_DIR, published_available

# Every test here compares the gateway with the published contracts; the
# fixture marks each one `conformance` (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("published_contracts")

CORPUS_PER_TYPE = int(os.environ.get("INTYGSGW_CORPUS_PER_TYPE", "500"))
CATALOG = load_catalog(DEFAULT_DIR)


def published_schematron(type_id: str, major: str) -> Path:
    code = CATALOG.by_id(type_id).code
    return SCHEMATRON_DIR / f"{code.lower().replace('-', '')}.v{major}.sch"


DEFINITIONS = sorted(DEFAULT_DIR.glob("*/v*.toml"))
IDS = [f"{p.parent.name}-{p.stem}" for p in DEFINITIONS]


def _verdicts(path: Path, documents):
    definition = load_definition(path)
    oracle = SchematronValidator.from_file(published_schematron(definition.type_id, definition.major))
    for label, xml in documents:
        root = etree.fromstring(xml)
        intyg = root.find("{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg")
        mine = definition.validate(intyg)
        theirs = oracle.validate(root)
        yield label, mine, theirs


def test_every_catalogue_type_with_rules_has_its_published_counterpart():
    assert DEFINITIONS, "no data definitions found"
    for path in DEFINITIONS:
        definition = load_definition(path)
        assert published_schematron(definition.type_id, definition.major).is_file(), path


def _fixtures(path: Path):
    code = CATALOG.by_id(path.parent.name).code.lower().replace("-", "")
    directory = SCHEMATRON_DIR / "fixtures" / code / path.stem
    return sorted(directory.glob("*.xml")) if directory.is_dir() else []


# Only some types and versions have published fixtures (today tstrk1031 v3 and v4).
WITH_FIXTURES = [p for p in DEFINITIONS if _fixtures(p)] if published_available() else [NOT_PUBLISHED]


@pytest.mark.parametrize("path", WITH_FIXTURES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_published_fixtures_get_the_schematron_verdict(path):
    fixtures = _fixtures(path)
    disagreements = []
    for label, mine, theirs in _verdicts(path, [(f.name, f.read_bytes()) for f in fixtures]):
        assert bool(theirs) == label.startswith("fail"), f"oracle and fixture name disagree on {label}"
        if bool(mine) != bool(theirs):
            disagreements.append((label, [str(f) for f in mine], [f.message for f in theirs]))
    assert not disagreements, disagreements


@pytest.mark.parametrize("path", DEFINITIONS, ids=IDS)
def test_corpus_gets_the_schematron_verdict(path):
    samples = generate(load_definition(path), CORPUS_PER_TYPE, seed=20261123)
    disagreements = []
    outcome = collections.Counter()
    for label, mine, theirs in _verdicts(path, [(s.label, s.xml) for s in samples]):
        outcome["invalid" if theirs else "valid"] += 1
        if bool(mine) != bool(theirs):
            disagreements.append((label, [str(f) for f in mine][:3], [f.message for f in theirs][:3]))
    assert not disagreements, disagreements[:5]
    # A corpus that is all valid or all invalid would prove little.
    assert outcome["valid"] >= CORPUS_PER_TYPE // 10 and outcome["invalid"] >= CORPUS_PER_TYPE // 3, outcome
