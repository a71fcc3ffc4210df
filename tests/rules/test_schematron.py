"""The Schematron runner against the published rules and against small
schemas written here for the constructs the published files do not use."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from lxml import etree

from intygsgw.rules.schematron import (
    Failure,
    SchematronSyntaxError,
    SchematronValidator,
    format_result_text,
    translate,
)
from tests.support.paths import NOT_PUBLISHED, SCHEMATRON_DIR, published, published_files

# Only the tests that read the published rules ask for published_contracts
# (and so are conformance tests); the small schemas written here run anywhere.
PUBLISHED = pytest.mark.usefixtures("published_contracts")

SCH = "http://purl.oclc.org/dsdl/schematron"
FIXTURES = SCHEMATRON_DIR / "fixtures"
SCHEMA_FILES = published_files(SCHEMATRON_DIR, "*.sch")
FIXTURE_FILES = published_files(FIXTURES, "*/*/*.xml")


def fixtures_named(prefix: str) -> list[Path]:
    # The missing-contracts stand-in is kept: the test then fails saying so.
    return [f for f in FIXTURE_FILES if f == NOT_PUBLISHED or f.name.startswith(prefix)]


def schema_for(fixture: Path) -> Path:
    """fixtures/<type>/<version>/x.xml is checked by <type>.<version>.sch."""
    return SCHEMATRON_DIR / f"{fixture.parent.parent.name}.{fixture.parent.name}.sch"


def rule_numbers(name: str) -> set[int]:
    return {int(n) for n in re.findall(r"R(\d+)", name)}


# A fail-R<n> fixture normally trips a pattern whose id names R<n>. These two
# requirements are enforced by per-question patterns instead; the v3 schema
# says so for R19 in a comment, and R27-2 is the 53-character limit of 200.2.
ENFORCED_ELSEWHERE = {
    ("tstrk1031.v3", "fail-R19"): "q8",
    ("tstrk1031.v4", "fail-R27-2"): "q200",
}


# -- the published rules -------------------------------------------------------


@PUBLISHED
def test_the_published_folder_has_the_expected_schemas_and_fixtures():
    # Without it the parametrized tests below collect nothing, which would read as a pass.
    published(SCHEMATRON_DIR)
    names = {p.name for p in SCHEMA_FILES}
    assert {"lisjp.v1.sch", "tstrk1031.v3.sch", "tstrk1031.v4.sch", "tstrk1007.v7.sch"} <= names
    assert {schema_for(f) for f in FIXTURE_FILES} == {
        SCHEMATRON_DIR / "tstrk1031.v3.sch",
        SCHEMATRON_DIR / "tstrk1031.v4.sch",
    }
    assert any(f.name.startswith("pass-") for f in FIXTURE_FILES)
    assert any(f.name.startswith("fail-") for f in FIXTURE_FILES)


def reachable_assert_tests(path: Path) -> set[str]:
    """Tests of asserts that can fire: in concrete rules or in used abstract rules."""
    root = etree.parse(str(path)).getroot()
    ns = {"sch": SCH}
    used = {e.get("rule") for e in root.iterfind(".//sch:extends", ns)}
    tests = set()
    for rule in root.iterfind(".//sch:rule", ns):
        if rule.get("abstract") != "true" or rule.get("id") in used:
            tests |= {a.get("test") for a in rule.iterfind("sch:assert", ns)}
    return tests


@PUBLISHED
@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_published_schema_translates_compiles_and_runs(path):
    validator = SchematronValidator.from_file(path)

    emitted = {c.test for c in validator.checks if c.kind == "assert"}
    assert emitted == reachable_assert_tests(path)

    # The sample is a valid TSTRK1031 v3 certificate; it has the wrong answers
    # for every other type, so every other schema must reject it.
    findings = validator.validate((FIXTURES / "tstrk1031" / "dummy.xml").read_bytes())
    if path.name == "tstrk1031.v3.sch":
        assert findings == []
    else:
        assert any(f.kind == "assert" for f in findings)
        assert {f.pattern_id for f in findings} <= set(validator.translation.pattern_ids)


@PUBLISHED
@pytest.mark.parametrize("fixture", fixtures_named("pass-"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pass_fixtures_have_no_findings(fixture):
    validator = SchematronValidator.from_file(schema_for(fixture))
    assert validator.validate(fixture.read_bytes()) == []


@PUBLISHED
@pytest.mark.parametrize("fixture", fixtures_named("fail-"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fail_fixtures_trip_the_rule_they_are_named_after(fixture):
    schema = schema_for(fixture)
    findings = SchematronValidator.from_file(schema).validate(fixture.read_bytes())

    assert findings, "a fail fixture must be rejected"
    assert all(f.kind == "assert" for f in findings)
    elsewhere = ENFORCED_ELSEWHERE.get((schema.stem, fixture.stem))
    if elsewhere:
        assert elsewhere in {f.pattern_id for f in findings}
    else:
        wanted = rule_numbers(fixture.stem)
        assert any(wanted & rule_numbers(f.pattern_id or "") for f in findings), [
            (f.pattern_id, f.message) for f in findings
        ]


@PUBLISHED
def test_candidate_selection_finds_exactly_what_a_full_walk_finds():
    for version in ("v3", "v4"):
        schema = SCHEMATRON_DIR / f"tstrk1031.{version}.sch"
        fast = SchematronValidator.from_file(schema)
        walking = SchematronValidator(translate(schema, full_walk=True))
        assert fast.translation.walked_pattern_ids == ()
        assert set(walking.translation.walked_pattern_ids) == set(walking.translation.pattern_ids)
        for fixture in sorted((FIXTURES / "tstrk1031" / version).glob("*.xml")):
            data = fixture.read_bytes()
            assert fast.validate(data) == walking.validate(data), fixture.name


# -- a broken certificate written here ------------------------------------------

BROKEN_LISJP = b"""\
<rg:RegisterCertificate
    xmlns:rg="urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3"
    xmlns="urn:riv:clinicalprocess:healthcond:certificate:3"
    xmlns:tp="urn:riv:clinicalprocess:healthcond:certificate:types:3">
  <rg:intyg>
    <typ><tp:code>LISJP</tp:code><tp:codeSystem>b64ea353-e8f6-4832-b563-fc7d46f29548</tp:codeSystem></typ>
    <svar id="27"><delsvar id="27.1">true</delsvar></svar>
    <svar id="32">
      <instans>1</instans>
      <delsvar id="32.1"><tp:cv><tp:code>HELA_TIDEN</tp:code><tp:codeSystem>KV_FKMU_0003</tp:codeSystem></tp:cv></delsvar>
      <delsvar id="32.2"><tp:datePeriod><tp:start>2026-02-10</tp:start><tp:end>2026-02-01</tp:end></tp:datePeriod></delsvar>
      <delsvar id="32.7">extra</delsvar>
    </svar>
  </rg:intyg>
</rg:RegisterCertificate>
"""


@pytest.fixture(scope="module")
def lisjp(published_contracts):
    return SchematronValidator.from_file(published(SCHEMATRON_DIR / "lisjp.v1.sch"))


def test_a_broken_lisjp_gets_the_published_swedish_messages(lisjp):
    findings = lisjp.validate(etree.fromstring(BROKEN_LISJP))
    by_message = {f.message: f for f in findings}

    missing_diagnosis = by_message["Ett 'MU' måste ha en 'Typ av diagnos'"]
    assert missing_diagnosis.pattern_id == "intyg"
    assert missing_diagnosis.test == "count(gn:svar[@id='6']) = 1"
    assert missing_diagnosis.location == "/rg:RegisterCertificate[1]/rg:intyg[1]"

    level = by_message["'Sjukskrivningsnivå' kan ha ett av värdena HELT_NEDSATT, TRE_FJARDEDEL, HALFTEN, EN_FJARDEDEL."]
    assert level.pattern_id == "q32.1"
    assert level.location == "/rg:RegisterCertificate[1]/rg:intyg[1]/gn:svar[2]/gn:delsvar[1]"

    # Inherited from the abstract rule 'period' through sch:extends.
    period = by_message["'from' måste vara mindre än eller lika med 'to'"]
    assert (period.pattern_id, period.rule_id) == ("q32.2", "period")
    assert period.context == "//gn:delsvar[@id='32.2']"

    # sch:value-of is evaluated on the failing node.
    assert (
        by_message['Oväntat delsvars-id i delsvar till svar "32". Delsvars-id:n måste matcha "^32\\.[12]$".'].pattern_id
        == "q32"
    )


def test_result_text_is_test_and_untrimmed_message_joined_by_semicolons(lisjp):
    findings = lisjp.validate(BROKEN_LISJP)
    text = format_result_text(findings)

    assert text.count(";") >= len(findings) - 1
    first = findings[0]
    assert text.startswith(f"TEST: {first.test}, MSG: {first.raw_message};")
    diagnosis = next(f for f in findings if f.test == "count(gn:svar[@id='6']) = 1")
    assert diagnosis.raw_message != diagnosis.message
    assert diagnosis.raw_message.startswith("\n") and diagnosis.raw_message.strip() == diagnosis.message
    assert f"TEST: count(gn:svar[@id='6']) = 1, MSG: {diagnosis.raw_message}" in text.split(";")


def test_a_rule_that_cannot_be_evaluated_is_a_finding_not_a_crash(lisjp):
    # 'non-empty-string' applies normalize-space(text()) to an answer that
    # wraps an element, which is a type error in XPath 2.0.
    document = BROKEN_LISJP.replace(
        b'<delsvar id="27.1">true</delsvar>',
        b'<delsvar id="27.1">true</delsvar></svar><svar id="25"><delsvar id="25.1"> <x/> </delsvar>',
    )
    findings = lisjp.validate(document)
    errors = [f for f in findings if f.kind == "error"]
    assert [(f.pattern_id, f.rule_id) for f in errors] == [("q25.1", "non-empty-string")]
    assert errors[0].message.startswith("err:XPTY0004")
    assert any(f.kind == "assert" and f.pattern_id == "intyg" for f in findings)


def test_validators_are_cached_per_file_until_it_changes(tmp_path):
    source = tmp_path / "small.sch"
    source.write_text(
        SMALL_SCHEMA.format(
            body="""
      <sch:pattern id="p"><sch:rule context="d:item"><sch:assert test="false()">old</sch:assert></sch:rule></sch:pattern>
    """
        ),
        encoding="utf-8",
    )
    first = SchematronValidator.from_file(source)
    assert SchematronValidator.from_file(source) is first

    source.write_text(source.read_text(encoding="utf-8").replace(">old<", ">new<"), encoding="utf-8")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = SchematronValidator.from_file(source)
    assert second is not first
    assert [f.message for f in second.validate(DOCUMENT)] == ["new"] * 3


@PUBLISHED
def test_threads_get_the_same_answers_as_one_thread(tmp_path):
    # A copy, so that this test compiles its own validator and every thread
    # starts without a per-thread executable.
    schema = tmp_path / "tstrk1031.v4.sch"
    shutil.copyfile(SCHEMATRON_DIR / "tstrk1031.v4.sch", schema)
    validator = SchematronValidator.from_file(schema)
    documents = [f.read_bytes() for f in sorted((FIXTURES / "tstrk1031" / "v4").glob("*.xml"))]
    expected = [validator.validate(d) for d in documents]
    problems: list[str] = []

    def work(offset: int) -> None:
        try:
            for i in range(3 * len(documents)):
                n = (i + offset) % len(documents)
                if validator.validate(documents[n]) != expected[n]:
                    problems.append(f"document {n} differs")
        except Exception as exc:
            problems.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert sum(map(len, expected)) > 0


# -- constructs the published files do not use --------------------------------------

SMALL_SCHEMA = """<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <sch:ns prefix="d" uri="urn:test:doc"/>
  {body}
</sch:schema>"""

DOCUMENT = b"""<d:root xmlns:d="urn:test:doc">
  <d:item n="1" kind="special"/>
  <d:item n="2"/>
  <d:item n="x"/>
</d:root>"""


def run(body: str, *, phase: str | None = None, document: bytes = DOCUMENT) -> list[Failure]:
    schema = etree.fromstring(SMALL_SCHEMA.format(body=body).encode())
    return SchematronValidator(translate(schema, phase=phase)).validate(document)


def test_a_node_fires_only_the_first_matching_rule_of_a_pattern():
    findings = run("""
      <sch:pattern id="first">
        <sch:rule context="d:item[@kind='special']"><sch:assert test="false()">special <sch:value-of select="@n"/></sch:assert></sch:rule>
        <sch:rule context="d:item"><sch:assert test="false()">general <sch:value-of select="@n"/></sch:assert></sch:rule>
      </sch:pattern>
      <sch:pattern id="second">
        <sch:rule context="d:item[@n='2']"><sch:assert test="false()">second pattern</sch:assert></sch:rule>
      </sch:pattern>
    """)
    assert [(f.pattern_id, f.message) for f in findings] == [
        ("first", "special 1"),
        ("first", "general 2"),
        ("first", "general x"),
        ("second", "second pattern"),
    ]


def test_reports_names_and_diagnostics():
    findings = run("""
      <sch:let name="limit" value="1"/>
      <sch:pattern id="reports">
        <sch:rule context="d:item[@n castable as xs:integer]">
          <sch:report test="xs:integer(@n) gt $limit" id="too-big" diagnostics="limit">
            <sch:name/> has <sch:emph>n=<sch:value-of select="@n"/></sch:emph>
          </sch:report>
        </sch:rule>
      </sch:pattern>
      <sch:diagnostics>
        <sch:diagnostic id="limit">the limit is <sch:value-of select="$limit"/></sch:diagnostic>
      </sch:diagnostics>
    """)
    assert findings == [
        Failure(
            kind="report",
            pattern_id="reports",
            rule_id=None,
            context="d:item[@n castable as xs:integer]",
            test="xs:integer(@n) gt $limit",
            message="d:item has n=2",
            location="/d:root[1]/d:item[2]",
            assertion_id="too-big",
            diagnostics=("the limit is 1",),
        )
    ]


def test_abstract_patterns_are_instantiated_with_their_parameters():
    findings = run("""
      <sch:pattern id="at-most" abstract="true">
        <sch:rule context="$parent">
          <sch:assert test="count($child) le $max">at most <sch:value-of select="$max"/> of <sch:value-of select="name(.)"/></sch:assert>
        </sch:rule>
      </sch:pattern>
      <sch:pattern id="items" is-a="at-most">
        <sch:param name="parent" value="d:root"/>
        <sch:param name="child" value="d:item"/>
        <sch:param name="max" value="2"/>
      </sch:pattern>
    """)
    assert [(f.pattern_id, f.context, f.test, f.message) for f in findings] == [
        ("items", "d:root", "count(d:item) le 2", "at most 2 of d:root"),
    ]


def test_lets_at_every_level_and_nested_extends():
    findings = run("""
      <sch:let name="all" value="count(//d:item)"/>
      <sch:pattern id="lets">
        <sch:let name="specials" value="count(//d:item[@kind='special'])"/>
        <sch:rule context="d:root[$specials gt 0]">
          <sch:extends rule="outer"/>
          <sch:let name="plain" value="$all - $specials"/>
          <sch:assert test="false()"><sch:value-of select="$specials"/> special, <sch:value-of select="$plain"/> plain</sch:assert>
        </sch:rule>
      </sch:pattern>
      <sch:pattern id="library">
        <sch:rule abstract="true" id="outer"><sch:extends rule="inner"/><sch:assert test="false()">outer</sch:assert></sch:rule>
        <sch:rule abstract="true" id="inner"><sch:assert test="$all = 2">inner sees <sch:value-of select="$all"/></sch:assert></sch:rule>
      </sch:pattern>
    """)
    assert [(f.rule_id, f.message) for f in findings] == [
        ("inner", "inner sees 3"),
        ("outer", "outer"),
        (None, "1 special, 2 plain"),
    ]


def test_attribute_contexts_fall_back_to_walking_the_tree():
    body = """
      <sch:pattern id="numbers">
        <sch:rule context="d:item/@n"><sch:assert test=". castable as xs:integer">not a number: <sch:value-of select="."/></sch:assert></sch:rule>
      </sch:pattern>
    """
    translation = translate(etree.fromstring(SMALL_SCHEMA.format(body=body).encode()))
    assert translation.walked_pattern_ids == ("numbers",)
    findings = run(body)
    assert [(f.message, f.location) for f in findings] == [("not a number: x", "/d:root[1]/d:item[3]/@n")]


def test_phases_choose_the_active_patterns():
    body = """
      <sch:phase id="only-b"><sch:active pattern="b"/></sch:phase>
      <sch:pattern id="a"><sch:rule context="d:root"><sch:assert test="false()">a</sch:assert></sch:rule></sch:pattern>
      <sch:pattern id="b"><sch:rule context="d:root"><sch:assert test="false()">b</sch:assert></sch:rule></sch:pattern>
    """
    assert [f.message for f in run(body)] == ["a", "b"]
    assert [f.message for f in run(body, phase="only-b")] == ["b"]


def test_subject_moves_the_location_of_a_finding():
    findings = run("""
      <sch:pattern id="p"><sch:rule context="d:root">
        <sch:assert test="every $n in d:item/@n satisfies $n castable as xs:integer"
                    subject="d:item[not(@n castable as xs:integer)]">numbers only</sch:assert>
      </sch:rule></sch:pattern>
    """)
    assert [(f.message, f.location) for f in findings] == [("numbers only", "/d:root[1]/d:item[3]")]


def test_an_assert_that_raises_is_reported_with_its_test():
    findings = run("""
      <sch:pattern id="p"><sch:rule context="d:item">
        <sch:assert test="xs:integer(@n) gt 0">positive</sch:assert>
      </sch:rule></sch:pattern>
    """)
    assert [(f.kind, f.location) for f in findings] == [("error", "/d:root[1]/d:item[3]")]
    assert findings[0].test == "xs:integer(@n) gt 0"
    assert findings[0].message.startswith("err:FORG0001")


@pytest.mark.parametrize(
    "body, problem",
    [
        ('<sch:include href="other.sch"/>', "sch:include"),
        (
            '<sch:pattern id="p"><sch:rule context="d:root"><sch:extends rule="nowhere"/></sch:rule></sch:pattern>',
            "unknown abstract rule",
        ),
        (
            '<sch:pattern id="p"><sch:rule context="d:root"><sch:assert test="1">'
            "<sch:value-of/></sch:assert></sch:rule></sch:pattern>",
            "needs a select",
        ),
        (
            '<sch:pattern id="p"><sch:let name="v" value="1"/><sch:rule context="d:root">'
            '<sch:assert test="$v">x</sch:assert></sch:rule></sch:pattern>'
            '<sch:pattern id="q"><sch:let name="v" value="2"/></sch:pattern>',
            "also declared",
        ),
        ('<sch:pattern id="p" is-a="missing"/>', "unknown abstract pattern"),
    ],
)
def test_unsupported_or_broken_schemas_are_refused(body, problem):
    with pytest.raises(SchematronSyntaxError, match=problem):
        translate(etree.fromstring(SMALL_SCHEMA.format(body=body).encode()))


def test_documents_with_a_doctype_are_refused():
    # Refused before any rule runs, so a schema with no rules shows it.
    validator = SchematronValidator(translate(etree.fromstring(SMALL_SCHEMA.format(body="").encode())))
    with pytest.raises(ValueError, match="DOCTYPE"):
        validator.validate(b'<!DOCTYPE x [<!ENTITY e "v">]>' + DOCUMENT)


def test_only_xpath_2_and_3_bindings_are_accepted():
    schema = SMALL_SCHEMA.format(body="").replace('queryBinding="xslt2"', 'queryBinding="xslt"')
    with pytest.raises(SchematronSyntaxError, match="queryBinding"):
        translate(etree.fromstring(schema.encode()))
