"""Loading, reloading and running certificate type rules (FORMAT.md)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from lxml import etree

from intygsgw.devtools.rules_corpus import CorpusBuilder, render
from intygsgw.rules.catalog import DEFAULT_DIR
from intygsgw.rules.definitions import TypeBook, load_definition, load_rules, load_types
from intygsgw.rules.engine import DefinitionError
from tests.support.paths import SCHEMATRON_DIR, published

LISJP = DEFAULT_DIR / "lisjp" / "v1.toml"
RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"


def valid_lisjp() -> etree._Element:
    builder = CorpusBuilder(load_definition(LISJP), seed=3)
    return render(builder.valid_model()).find(RG_INTYG)


def minimal(svar_toml: str, rules: str = "") -> str:
    return f'type = "x"\nmajor = 1\n{svar_toml}\n{rules}'


def test_shipped_definitions_load():
    rules = load_rules(DEFAULT_DIR)
    assert ("lisjp", "1") in rules


def test_valid_certificate_passes_and_each_failure_names_its_rule():
    intyg = valid_lisjp()
    definition = load_definition(LISJP)
    assert definition.validate(intyg) == []
    for svar in intyg.iterchildren("{*}svar"):
        if svar.get("id") == "32":
            code = svar.find("{*}delsvar/{*}cv/{*}code")
            code.text = "NOPE"
        if svar.get("id") == "6":
            intyg.remove(svar)
    failures = definition.validate(intyg)
    ids = {f.rule_id for f in failures}
    assert "6.count" in ids and "32.1.value" in ids
    texts = [str(f) for f in failures]
    assert "6.count: Ett 'MU' måste ha en 'Typ av diagnos'" in texts
    assert any(t.startswith("32.1.value: 'Sjukskrivningsnivå' kan ha ett av värdena") for t in texts)


def test_type_set_dispatches_on_major_version_and_joins_failures():
    types = TypeBook(DEFAULT_DIR).current()
    intyg = valid_lisjp()
    assert types.check("lisjp", "1.3", intyg) == []
    intyg.remove(next(s for s in intyg.iterchildren("{*}svar") if s.get("id") == "6"))
    # As the reference words it: the published assert's test and its message exactly as the schema spells it.
    assert types.check("lisjp", "1.0", intyg) == [
        "TEST: count(gn:svar[@id='6']) = 1, MSG: \n        Ett 'MU' måste ha en 'Typ av diagnos'\n      "
    ]
    # A major the catalogue does not accept never reaches the rules: RegisterCertificate refuses it first.
    assert not types.catalog.by_id("lisjp").supports("2.0")


def lisjp_folder(tmp_path, rules_name: str = "v1.toml", rules_source: Path = LISJP) -> Path:
    """A types folder holding the shipped LISJP catalogue entry and one rule file."""
    directory = tmp_path / "types"
    (directory / "lisjp").mkdir(parents=True)
    shutil.copy(DEFAULT_DIR / "lisjp.toml", directory / "lisjp.toml")
    shutil.copy(rules_source, directory / "lisjp" / rules_name)
    return directory


def test_a_type_version_without_rules_is_refused(tmp_path):
    directory = lisjp_folder(tmp_path)
    (directory / "lisjp.toml").write_text(
        (DEFAULT_DIR / "lisjp.toml").read_text(encoding="utf-8").replace('"1.3"]', '"1.3", "2.0"]'), encoding="utf-8"
    )
    with pytest.raises(DefinitionError, match=r"lisjp.toml: version 2.x of 'lisjp' has no rules; add lisjp/v2.toml"):
        load_types(directory)


def test_rules_without_a_catalogue_entry_are_refused(tmp_path):
    directory = lisjp_folder(tmp_path)
    (directory / "lisjp.toml").unlink()
    (directory / "doi.toml").write_text((DEFAULT_DIR / "doi.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (directory / "doi").mkdir()
    shutil.copy(DEFAULT_DIR / "doi" / "v1.toml", directory / "doi" / "v1.toml")
    with pytest.raises(DefinitionError, match=r"lisjp/v1: no catalogue entry for type 'lisjp'; add lisjp.toml"):
        load_types(directory)


@pytest.mark.parametrize(
    "text, needle",
    [
        (
            minimal('[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "colour"'),
            "delsvar 1.1: type must be one of",
        ),
        (
            minimal(
                '[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "text"',
                '[[rule]]\nid = "r9"\nwhen = { delsvar = "7.1" }\nthen = { svar = "1" }',
            ),
            "rule r9: when: names unknown delsvar '7.1'",
        ),
        (
            minimal('[[svar]]\nid = "1"\nunique_code = "1.5"\n[[svar.delsvar]]\nid = "1.1"\ntype = "cv"'),
            "svar 1: unique_code: '1.5' is not a delsvar",
        ),
        (
            minimal('[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "cv"\ncode_pattern = "(["'),
            "delsvar 1.1: code_pattern: bad regular expression",
        ),
        (minimal('[[svar]]\nid = "1"\ncolour = 3'), "svar 1: unknown field(s) colour"),
        (
            minimal(
                '[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "text"',
                '[[rule]]\nid = "r2"\nkind = "sometimes"',
            ),
            "rule r2: unknown kind 'sometimes'",
        ),
        (
            minimal(
                '[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "text"',
                '[[rule]]\nid = "r5"\nkind = ["implies"]',
            ),
            "rule r5: unknown kind ['implies']",
        ),
        (
            minimal('[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "text"\ntype_checked = "no"'),
            "delsvar 1.1: type_checked must be true or false",
        ),
        (
            minimal(
                '[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "text"',
                '[[rule]]\nid = "r3"\nscope = "delsvar:7.1"\nthen = { svar = "1" }',
            ),
            "rule r3: scope must be 'intyg', 'svar:<known id>' or 'delsvar:<known id>'",
        ),
        (
            minimal(
                '[[svar]]\nid = "1"\n[[svar.delsvar]]\nid = "1.1"\ntype = "text"',
                '[[rule]]\nid = "r4"\nthen = { delsvar = "1.1", in_svar = "8" }',
            ),
            "rule r4: then: in_svar names unknown svar '8'",
        ),
    ],
)
def test_errors_name_file_question_and_rule(tmp_path, text, needle):
    path = tmp_path / "x" / "v1.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as info:
        load_definition(path)
    assert str(path) in str(info.value) and needle in str(info.value)


def test_definition_must_sit_where_it_says(tmp_path):
    path = tmp_path / "y" / "v1.toml"
    path.parent.mkdir()
    path.write_text(minimal('[[svar]]\nid = "1"'), encoding="utf-8")
    with pytest.raises(DefinitionError, match="declares type 'x'"):
        load_definition(path)


def test_reload_applies_a_good_set_and_keeps_the_old_one_on_error(tmp_path):
    directory = lisjp_folder(tmp_path)
    target = directory / "lisjp" / "v1.toml"
    book = TypeBook(directory, check_every=0)
    intyg = valid_lisjp()
    assert book.current().check("lisjp", "1.0", intyg) == []

    def rewrite(text):
        target.write_text(text, encoding="utf-8")
        stamp = time.time_ns() + 10_000_000
        os.utime(target, ns=(stamp, stamp))

    original = LISJP.read_text(encoding="utf-8")
    rewrite(
        original.replace('id = "6"\nname = "Typ av diagnos"\nmin = 1', 'id = "6"\nname = "Typ av diagnos"\nmin = 2')
    )
    assert book.current().check("lisjp", "1.0", intyg) == ["6.count: Ett 'MU' måste ha en 'Typ av diagnos'"]
    rewrite(original.replace('type = "boolean"', 'type = "maybe"', 1))
    assert book.current().check("lisjp", "1.0", intyg) == ["6.count: Ett 'MU' måste ha en 'Typ av diagnos'"]
    assert "delsvar 27.1: type must be one of" in book.last_error and str(target) in book.last_error


@pytest.mark.usefixtures("published_contracts")
def test_schematron_mode_for_a_type_with_only_a_sch_file(tmp_path):
    directory = lisjp_folder(tmp_path, "v1.sch", published(SCHEMATRON_DIR / "lisjp.v1.sch"))
    types = TypeBook(directory).current()
    intyg = valid_lisjp()
    assert types.check("lisjp", "1.1", intyg) == []
    intyg.remove(next(s for s in intyg.iterchildren("{*}svar") if s.get("id") == "6"))
    failures = types.check("lisjp", "1.1", intyg)
    assert len(failures) == 1 and failures[0].startswith("TEST: count(gn:svar[@id='6']) = 1, MSG: ")
    assert "Ett 'MU' måste ha en 'Typ av diagnos'" in failures[0]


def test_a_broken_sch_file_is_rejected_naming_the_file(tmp_path):
    directory = tmp_path / "types"
    (directory / "lisjp").mkdir(parents=True)
    (directory / "lisjp" / "v1.sch").write_text(
        "<schema xmlns='http://purl.oclc.org/dsdl/schematron'><include href='x'/></schema>"
    )
    with pytest.raises(DefinitionError, match=r"v1\.sch"):
        load_rules(directory)


def test_corpus_is_reproducible():
    definition = load_definition(LISJP)
    first = [s.xml for s in CorpusBuilder(definition, seed=5).samples(40)]
    again = [s.xml for s in CorpusBuilder(definition, seed=5).samples(40)]
    other = [s.xml for s in CorpusBuilder(definition, seed=6).samples(40)]
    assert first == again and first != other


def test_engine_datatypes_follow_xpath():
    from intygsgw.rules.engine import is_xs_date, xpath_number

    assert is_xs_date("2024-02-29") and not is_xs_date("2023-02-29") and is_xs_date(" 2020-01-01Z ")
    assert not is_xs_date("2020-1-01") and not is_xs_date("20200101")
    assert xpath_number(" 2 ") == 2 and xpath_number("1_0") != xpath_number("1_0")


def test_a_reload_compiles_only_the_rules_files_that_changed(tmp_path):
    directory = lisjp_folder(tmp_path)
    shutil.copy(DEFAULT_DIR / "doi.toml", directory / "doi.toml")
    (directory / "doi").mkdir()
    shutil.copy(DEFAULT_DIR / "doi" / "v1.toml", directory / "doi" / "v1.toml")
    book = TypeBook(directory, check_every=0)
    before = book.current().rules
    target = directory / "lisjp" / "v1.toml"
    target.write_text(
        target.read_text(encoding="utf-8").replace('min = 1\nmin_message = "Ett', 'min = 0\nmin_message = "Ett', 1),
        encoding="utf-8",
    )
    stamp = time.time_ns() + 10_000_000
    os.utime(target, ns=(stamp, stamp))
    after = book.current().rules
    assert after[("doi", "1")] is before[("doi", "1")]  # unchanged: the compiled rules are reused
    assert after[("lisjp", "1")] is not before[("lisjp", "1")]
    intyg = valid_lisjp()
    intyg.remove(next(s for s in intyg.iterchildren("{*}svar") if s.get("id") == "6"))
    assert book.current().check("lisjp", "1.0", intyg) == []  # the edited rule is the one in force
