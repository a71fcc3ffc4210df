"""Hand-written XPath edge cases on LISJP: the data rules give the published Schematron's verdict.

The generated corpus varies answers; these pin down the XPath details the
engine reproduces (text nodes around comments, xs:date and xs:boolean lexical
forms, number() of instance numbers, missing ids, tilläggsfrågor...).
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from intygsgw.devtools.rules_corpus import CorpusBuilder, render
from intygsgw.rules.catalog import DEFAULT_DIR
from intygsgw.rules.definitions import load_definition
from intygsgw.rules.schematron import SchematronValidator
from tests.support.paths import SCHEMATRON_DIR, published

# Every test here compares the gateway with the published contracts; the
# fixture marks each one `conformance` (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("published_contracts")

GN = "{urn:riv:clinicalprocess:healthcond:certificate:3}"
TP = "{urn:riv:clinicalprocess:healthcond:certificate:types:3}"
DEFINITION = load_definition(DEFAULT_DIR / "lisjp" / "v1.toml")
BASE = render(CorpusBuilder(DEFINITION, seed=5).valid_model())


def ds(root, did):
    return [x for x in root.iter(GN + "delsvar") if x.get("id") == did]


def sv(root, sid):
    return [x for x in root.iter(GN + "svar") if x.get("id") == sid]


CASES = {}


def case(name):
    def deco(f):
        CASES[name] = f
        return f

    return deco


@case("comment in text")
def _(r):
    x = ds(r, "6.1")[0]
    x.text = "ab"
    c = etree.Comment("c")
    x.append(c)
    c.tail = "cd"


@case("comment only text")
def _(r):
    x = ds(r, "6.1")[0]
    x.text = None
    c = etree.Comment("c")
    x.append(c)
    c.tail = "cd"


@case("child elem in text")
def _(r):
    x = ds(r, "6.1")[0]
    etree.SubElement(x, TP + "x").text = "y"


@case("boolean spaced")
def _(r):
    x = (ds(r, "27.1") or ds(r, "34.1") or ds(r, "33.1"))[0]
    x.text = " \n1 "


@case("date tz")
def _(r):
    x = ds(r, "1.2")[0]
    x.text = "2020-01-01+01:00"


@case("date year5")
def _(r):
    x = ds(r, "1.2")[0]
    x.text = "12020-01-01"


@case("instans 1.0")
def _(r):
    x = sv(r, "32")[0].find(GN + "instans")
    x.text = "1.0"


@case("instans +1")
def _(r):
    x = sv(r, "32")[0].find(GN + "instans")
    x.text = "+1"


@case("instans 0.5")
def _(r):
    x = sv(r, "32")[0].find(GN + "instans")
    x.text = "0.5"


@case("svar no id")
def _(r):
    del sv(r, "32")[0].attrib["id"]


@case("delsvar no id")
def _(r):
    del ds(r, "32.1")[0].attrib["id"]


@case("codeSystem spaced")
def _(r):
    ds(r, "32.1")[0].find(TP + "cv/" + TP + "codeSystem").text = " KV_FKMU_0003"


@case("code lower")
def _(r):
    ds(r, "32.1")[0].find(TP + "cv/" + TP + "code").text = "helt_nedsatt"


@case("icd 6 chars")
def _(r):
    ds(r, "6.2")[0].find(TP + "cv/" + TP + "code").text = "J201AB"


@case("icd F3")
def _(r):
    ds(r, "6.2")[0].find(TP + "cv/" + TP + "code").text = "F32"


@case("extra q 9001 ok")
def _(r):
    s = etree.SubElement(r[0], GN + "svar", id="9001")
    x = etree.SubElement(s, GN + "delsvar", id="9001.1")
    x.text = "hej"


@case("extra q dup")
def _(r):
    for _ in range(2):
        s = etree.SubElement(r[0], GN + "svar", id="9001")
        x = etree.SubElement(s, GN + "delsvar", id="9001.1")
        x.text = "hej"


@case("extra q 2 delsvar")
def _(r):
    s = etree.SubElement(r[0], GN + "svar", id="9002")
    for i in (1, 2):
        x = etree.SubElement(s, GN + "delsvar", id=f"9002.{i}")
        x.text = "hej"


@case("extra q 9000")
def _(r):
    s = etree.SubElement(r[0], GN + "svar", id="9000")
    x = etree.SubElement(s, GN + "delsvar", id="9000.1")
    x.text = ""


@case("extra q empty")
def _(r):
    s = etree.SubElement(r[0], GN + "svar", id="9003")
    x = etree.SubElement(s, GN + "delsvar", id="9003.1")
    x.text = "  "


@case("period adjacent")
def _(r):
    s = copy.deepcopy(sv(r, "32")[0])
    r[0].append(s)


@case("period start=end")
def _(r):
    p = ds(r, "32.2")[0].find(TP + "datePeriod")
    p.find(TP + "end").text = p.find(TP + "start").text


@case("two cv")
def _(r):
    x = ds(r, "32.1")[0]
    x.append(copy.deepcopy(x.find(TP + "cv")))


@case("cv code child")
def _(r):
    etree.SubElement(ds(r, "32.1")[0].find(TP + "cv/" + TP + "code"), TP + "x")


@case("svar in other ns")
def _(r):
    etree.SubElement(r[0], "{urn:x}svar", id="99")


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_case_gets_the_schematron_verdict(name):
    root = copy.deepcopy(BASE)
    CASES[name](root)
    oracle = SchematronValidator.from_file(published(SCHEMATRON_DIR / "lisjp.v1.sch"))
    mine, theirs = DEFINITION.validate(root[0]), oracle.validate(root)
    assert bool(mine) == bool(theirs), ([str(f) for f in mine], [f.message for f in theirs])


def test_the_base_certificate_is_valid_for_both():
    oracle = SchematronValidator.from_file(published(SCHEMATRON_DIR / "lisjp.v1.sch"))
    assert DEFINITION.validate(BASE[0]) == [] and oracle.validate(BASE) == []
