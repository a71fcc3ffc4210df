"""Which published Schematron assert each data-definition rule stands for, written beside the definition.

    python -m intygsgw.devtools.published_texts [--rivta ../shared/riv-ta] [--per-type 400]

The reference hub refuses a certificate with ``TEST: <assert test>, MSG:
<assert text>`` per failed assert, the text exactly as the schema spells it.
The data definitions check the same rules with their own code and their own
wording, so for each rule this finds the published assert it corresponds to:
both validators run on the type's published fixtures and a seeded corpus of
broken certificates (intygsgw.devtools.rules_corpus); a rule is paired with
the assert that failed with the same message, or, where the wording differs,
with the one assert that alone failed beside it. The pairs go to
``<type>/published-v<major>.toml``, which the definition loads; a rule
without a pair keeps its own ``<rule>: <message>`` text.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from lxml import etree

from intygsgw.devtools.rules_corpus import generate
from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog
from intygsgw.rules.definitions import load_definition
from intygsgw.rules.schematron import SchematronValidator

RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"
SCHEMATRON = Path("intyg") / "clinicalprocess-healthcond-certificate-schematron"
HEADER = """\
# The published Schematron assert behind each rule of v{major}.toml: a failed rule is answered
# `TEST: <test>, MSG: <message>`, as the reference hub answers it. Written by
# `python -m intygsgw.devtools.published_texts`; regenerate rather than edit.
"""


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string: the same escapes for quotes, backslashes and control characters.
    return json.dumps(value, ensure_ascii=False)


def pairs_for(definition_path: Path, rivta: Path, per_type: int) -> dict[tuple[str, str], tuple[str, str]]:
    definition = load_definition(definition_path)
    ctype = load_catalog(DEFAULT_DIR).by_id(definition.type_id)
    assert ctype is not None
    code = ctype.code.lower().replace("-", "")
    oracle = SchematronValidator.from_file(rivta / SCHEMATRON / f"{code}.v{definition.major}.sch")
    documents = [s.xml for seed in (11, 12) for s in generate(definition, per_type // 2, seed=seed)]
    fixtures = rivta / SCHEMATRON / "fixtures" / code / definition_path.stem
    if fixtures.is_dir():
        documents += [f.read_bytes() for f in sorted(fixtures.glob("*.xml"))]
    votes: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for xml in documents:
        root = etree.fromstring(xml)
        mine = definition.validate(root.find(RG_INTYG))
        theirs = [f for f in oracle.validate(root) if f.kind == "assert" and f.test]
        unmatched_theirs = list(theirs)
        unmatched_mine = []
        for failure in mine:
            same = [f for f in unmatched_theirs if f.message == " ".join(failure.message.split())]
            if same:
                votes[(failure.rule_id, failure.message)][(same[0].test, same[0].raw_message)] += 1
                unmatched_theirs.remove(same[0])
            else:
                unmatched_mine.append(failure)
        if len(unmatched_mine) == 1 and len(unmatched_theirs) == 1:
            only, theirs_only = unmatched_mine[0], unmatched_theirs[0]
            votes[(only.rule_id, only.message)][(theirs_only.test, theirs_only.raw_message)] += 1
    return {key: counter.most_common(1)[0][0] for key, counter in votes.items()}


def write_pairs(definition_path: Path, pairs: dict[tuple[str, str], tuple[str, str]]) -> Path:
    major = definition_path.stem.removeprefix("v")
    out = definition_path.parent / f"published-v{major}.toml"
    lines = [HEADER.format(major=major)]
    for (rule, ours), (test, message) in sorted(pairs.items()):
        lines.append(
            f"\n[[rule]]\nid = {_toml_string(rule)}\nours = {_toml_string(ours)}\n"
            f"test = {_toml_string(test)}\nmessage = {_toml_string(message)}\n"
        )
    out.write_text("".join(lines), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rivta", type=Path, default=Path("..") / "shared" / "riv-ta")
    parser.add_argument("--per-type", type=int, default=400, help="corpus certificates per type")
    args = parser.parse_args(argv)
    for path in sorted(DEFAULT_DIR.glob("*/v*.toml")):
        pairs = pairs_for(path, args.rivta, args.per_type)
        written = write_pairs(path, pairs)
        print(f"{written.relative_to(DEFAULT_DIR)}: {len(pairs)} rules paired", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
