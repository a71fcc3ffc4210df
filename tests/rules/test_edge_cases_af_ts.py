"""Hand-written edge cases on AF00251, TSTRK1009 and TSTRK1062: data rules vs the published Schematron.

These types' published rules have quirks the generated corpus rarely reaches:
rules relative to wherever a delsvar sits, ids compared as numbers, datatypes
never checked, numeric bounds on pq values, years in ``tp:partialDate``. Each
case states the verdict the published rules give, and the data rules must give
the same one.
"""

from __future__ import annotations

import copy
import datetime

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

GN = "urn:riv:clinicalprocess:healthcond:certificate:3"
TP = "urn:riv:clinicalprocess:healthcond:certificate:types:3"
NEXT_YEAR = str(datetime.date.today().year + 1)
TOMORROW = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()


def cv(system: str, code: str, display: str = "") -> str:
    shown = f"<tp:displayName>{display}</tp:displayName>" if display else ""
    return f"<tp:cv><tp:code>{code}</tp:code><tp:codeSystem>{system}</tp:codeSystem>{shown}</tp:cv>"


def pq(value: str, unit: str) -> str:
    return f"<tp:pq><tp:value>{value}</tp:value><tp:unit>{unit}</tp:unit></tp:pq>"


def year(value: str) -> str:
    return f"<tp:partialDate><tp:format>YYYY</tp:format><tp:value>{value}</tp:value></tp:partialDate>"


def svar_element(sid: str, delsvar: dict[str, str], instans: str | None = None) -> etree._Element:
    parts = "".join(f'<gn:delsvar id="{did}">{body}</gn:delsvar>' for did, body in delsvar.items())
    if instans is not None:
        parts = f"<gn:instans>{instans}</gn:instans>" + parts
    return etree.fromstring(f'<gn:svar xmlns:gn="{GN}" xmlns:tp="{TP}" id="{sid}">{parts}</gn:svar>')


def add_svar(root, sid: str, instans: str | None = None, **delsvar: str) -> None:
    root[0].append(svar_element(sid, {k.replace("_", "."): v for k, v in delsvar.items()}, instans))


def drop_svar(root, sid: str) -> None:
    for s in [s for s in root[0].iterchildren(f"{{{GN}}}svar") if s.get("id") == sid]:
        root[0].remove(s)


def set_delsvar(root, did: str, body: str) -> None:
    """Replace the content of every delsvar ``did`` with ``body``."""
    for d in root[0].iter(f"{{{GN}}}delsvar"):
        if d.get("id") == did:
            new = svar_element("x", {did: body})[0]
            d.getparent().replace(d, new)


# (type, name, change, verdict of the published rules: True = accepted)
CASES = []


def case(type_id: str, name: str, accepted: bool):
    def deco(f):
        CASES.append((type_id, name, f, accepted))
        return f

    return deco


# ---------------------------------------------------------------- AF00251

DELTID = cv("1.2.752.129.5.1.2", "DELTID")


@case("af00251", "2.2 Deltid filed under svar 3 needs its 2.3 there", False)
def _(r):
    add_svar(r, "3", **{"2_2": DELTID})


@case("af00251", "2.2 Deltid and 2.3 both under svar 3", True)
def _(r):
    add_svar(r, "3", **{"2_2": DELTID, "2_3": pq("20", "h")})


@case("af00251", "2.2 code checked without a cv structure: two cv, one code each", False)
def _(r):
    add_svar(r, "2", **{"2_2": cv("1.2.752.129.5.1.2", "HELTID") + cv("1.2.752.129.5.1.2", "OKAND")})


@case("af00251", "2.3 unit only has to contain h", True)
def _(r):
    add_svar(r, "2", **{"2_2": DELTID, "2_3": pq("39", "hours")})


@case("af00251", "2.3 40 hours is too many", False)
def _(r):
    add_svar(r, "2", **{"2_2": DELTID, "2_3": pq("40", "h")})


@case("af00251", "6.1 value as 1e2 is 100", True)
def _(r):
    drop_svar(r, "6")
    add_svar(r, "6", **{"6_1": pq("1e2", "%"), "6_2": "not a period"})


@case("af00251", "6.1 value 0.5 is below 1", False)
def _(r):
    drop_svar(r, "6")
    add_svar(r, "6", **{"6_1": pq("0.5", "%"), "6_2": "x"})


@case("af00251", "1.1 display name with a 3 asks for 1.3", False)
def _(r):
    drop_svar(r, "1")
    add_svar(r, "1", **{"1_1": cv("FKMU_0001", "UNDERSOKNING", "v3")})


@case("af00251", "5.1 false allows one Sjukfrånvaro, not two", False)
def _(r):
    drop_svar(r, "5")
    drop_svar(r, "6")
    add_svar(r, "5", **{"5_1": "false"})
    add_svar(r, "6", **{"6_2": "a"})
    add_svar(r, "6", **{"6_2": "b"})


@case("af00251", "5.1 true allows four Sjukfrånvaro, not five", False)
def _(r):
    drop_svar(r, "5")
    drop_svar(r, "6")
    add_svar(r, "5", **{"5_1": "true"})
    for i in range(5):
        add_svar(r, "6", **{"6_2": f"p{i}"})


@case("af00251", "5.1 true with four Sjukfrånvaro", True)
def _(r):
    drop_svar(r, "5")
    drop_svar(r, "6")
    add_svar(r, "5", **{"5_1": "1"})
    for i in range(4):
        add_svar(r, "6", **{"6_2": f"p{i}"})


# -------------------------------------------------------------- TSTRK1009

VAR = "e889fa20-1dee-4f79-8b37-03853e75a9f8"


@case("tstrk1009", "VAR11 outside svar 1 does not clash with another code in svar 1", True)
def _(r):
    drop_svar(r, "1")
    add_svar(r, "1", "1", **{"1_1": cv(VAR, "VAR3")})
    add_svar(r, "99", **{"1_1": cv(VAR, "VAR11")})


@case("tstrk1009", "VAR11 beside another code in svar 1", False)
def _(r):
    drop_svar(r, "1")
    add_svar(r, "1", "1", **{"1_1": cv(VAR, "VAR3")})
    add_svar(r, "1", "2", **{"1_1": cv(VAR, "VAR11")})


@case("tstrk1009", "48.1 tomorrow", False)
def _(r):
    set_delsvar(r, "48.1", TOMORROW)


@case("tstrk1009", "a delsvar with id 48.10 is a 48.1 for the date rule", False)
def _(r):
    add_svar(r, "99", **{"48_10": TOMORROW})


@case("tstrk1009", "a delsvar with id 48.10 and a past date", True)
def _(r):
    add_svar(r, "99", **{"48_10": "2020-01-01"})


# -------------------------------------------------------------- TSTRK1062


@case("tstrk1062", "year with trailing space", False)
def _(r):
    set_delsvar(r, "51.3", year("2020 "))


@case("tstrk1062", "year next year", False)
def _(r):
    set_delsvar(r, "51.3", year(NEXT_YEAR))


@case("tstrk1062", "year without partialDate", False)
def _(r):
    set_delsvar(r, "51.3", "2020")


@case("tstrk1062", "61.1 no information", True)
def _(r):
    set_delsvar(r, "61.1", cv("2.16.840.1.113883.5.1008", "NI"))


@case("tstrk1062", "61.1 spaced boolean", True)
def _(r):
    set_delsvar(r, "61.1", " true ")


@case("tstrk1062", "58.1 is never checked", True)
def _(r):
    set_delsvar(r, "58.1", "kanske")


@case("tstrk1062", "2.1 is never checked", True)
def _(r):
    set_delsvar(r, "2.1", "vad som helst")


@case("tstrk1062", "53.1 with a child element is still a boolean by its text", True)
def _(r):
    set_delsvar(r, "53.1", "0<tp:x/>")


def _base(type_id: str):
    definition = load_definition(DEFAULT_DIR / type_id / "v1.toml")
    return definition, render(CorpusBuilder(definition, seed=5).valid_model())


BASES = {t: _base(t) for t in ("af00251", "tstrk1009", "tstrk1062")}


@pytest.mark.parametrize("type_id,name,change,accepted", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_edge_case_gets_the_schematron_verdict(type_id, name, change, accepted):
    definition, base = BASES[type_id]
    root = copy.deepcopy(base)
    change(root)
    oracle = SchematronValidator.from_file(published(SCHEMATRON_DIR / f"{type_id}.v1.sch"))
    mine, theirs = definition.validate(root[0]), oracle.validate(root)
    assert (not theirs) == accepted, f"the case does not test what it says: {[f.message for f in theirs]}"
    assert bool(mine) == bool(theirs), ([str(f) for f in mine], [f.message for f in theirs])


@pytest.mark.parametrize("type_id", sorted(BASES))
def test_the_base_certificates_are_valid_for_both(type_id):
    definition, base = BASES[type_id]
    oracle = SchematronValidator.from_file(published(SCHEMATRON_DIR / f"{type_id}.v1.sch"))
    assert definition.validate(base[0]) == [] and oracle.validate(base) == []
