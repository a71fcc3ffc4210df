"""Failure texts: a missing instansnummer is reported with the published rule's own message.

The equivalence test compares verdicts; this pins the text a caller reads. A
closure bug once made every `<svar>.instans` failure carry the delsvar-ids
message, and no verdict changed, so only a text comparison could catch it.
"""

from __future__ import annotations

import pytest

from intygsgw.devtools.rules_corpus import CorpusBuilder, render
from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog
from intygsgw.rules.definitions import load_definition
from intygsgw.rules.schematron import SchematronValidator
from tests.support.paths import SCHEMATRON_DIR, published

# Every test here compares the gateway with the published contracts; the
# fixture marks each one `conformance` (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("published_contracts")

GN = "{urn:riv:clinicalprocess:healthcond:certificate:3}"
RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"
CATALOG = load_catalog(DEFAULT_DIR)


def instans_cases():
    for path in sorted(DEFAULT_DIR.glob("*/v*.toml")):
        definition = load_definition(path)
        for svar in definition.raw["svar"]:
            if svar.get("instans"):
                yield pytest.param(path, svar["id"], id=f"{definition.type_id}-v{definition.major}-svar{svar['id']}")


@pytest.mark.parametrize("path, svar_id", list(instans_cases()))
def test_a_missing_instans_is_reported_with_the_published_message(path, svar_id):
    definition = load_definition(path)
    builder = CorpusBuilder(definition, seed=3)
    model = builder.valid_model()
    target = next((svar for svar in model if svar["id"] == svar_id), None)
    if target is None:
        target = builder.new_svar(svar_id)
        model.append(target)
    target["instans"] = None
    root = render(model)
    ours = [f for f in definition.validate(root.find(RG_INTYG)) if f.rule_id == f"{svar_id}.instans"]
    code = CATALOG.by_id(definition.type_id).code.lower().replace("-", "")
    theirs = SchematronValidator.from_file(published(SCHEMATRON_DIR / f"{code}.v{definition.major}.sch")).validate(root)
    assert ours, f"no {svar_id}.instans failure"
    assert ours[0].message.endswith("måste ha ett instansnummer.")
    assert ours[0].message in {f.message for f in theirs}
