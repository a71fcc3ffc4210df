"""Evaluate a certificate type definition (see contracts/certificate-types/FORMAT.md).

:func:`compile_definition` turns the parsed TOML of one ``<id>/v<major>.toml``
into a :class:`CompiledDefinition`: a flat tuple of small closures over
precomputed sets and regexes. :meth:`CompiledDefinition.validate` indexes the
answers of one ``intyg`` once (a single pass over its children, no XPath) and
runs every check on that index, so a LISJP takes tens of microseconds.

The checks reproduce the verdicts of the published Schematron rules, including
their XPath details: code systems compared as written, codes after
``normalize-space``, booleans by ``xs:boolean`` lexical form, dates by
``xs:date`` plus the ``YYYY-MM-DD`` prefix, periods compared as strings.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from intygsgw.errors import GatewayError

GN = "{urn:riv:clinicalprocess:healthcond:certificate:3}"
TP = "{urn:riv:clinicalprocess:healthcond:certificate:types:3}"
SVAR, DELSVAR, INSTANS = GN + "svar", GN + "delsvar", GN + "instans"
SIGNED = "{urn:riv:clinicalprocess:healthcond:certificate:3}signeringstidpunkt"
CV, CODE, CODE_SYSTEM, DISPLAY_NAME = TP + "cv", TP + "code", TP + "codeSystem", TP + "displayName"
DATE_PERIOD, START, END = TP + "datePeriod", TP + "start", TP + "end"
PQ, PQ_VALUE, PQ_UNIT = TP + "pq", TP + "value", TP + "unit"
PARTIAL_DATE, PARTIAL_VALUE = TP + "partialDate", TP + "value"

DATATYPES = (
    "text",
    "boolean",
    "date",
    "period",
    "cv",
    "quantity",
    "partial_date",
    "any",
    "boolean_or_cv",
    "year",
    "partial_date_day",
    "partial_date_year",
    "decimal",
)
XML_SPACE = " \t\r\n"
_SPACE_RUN = re.compile(r"[ \t\r\n]+")
_XS_DATE = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)
_DATE_PREFIX = re.compile(r"\d{4}-\d\d-\d\d")
_PLAIN_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LEAP_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_XS_DOUBLE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|-INF|\+INF|NaN")


def date_today() -> datetime.date:
    return datetime.date.today()


class DefinitionError(GatewayError, ValueError):
    """A definition that cannot be compiled; the text names the question and rule."""


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.message}"


# --------------------------------------------------------------- XPath values


def normalize(text: str | None) -> str:
    if not text:
        return ""
    # Fast path, the common case: isprintable() is false for tab, CR and LF, so a printable text
    # without a double space or an outer space has no whitespace run to collapse or strip.
    if text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return text
    return _SPACE_RUN.sub(" ", text).strip(" ")


def string_value(element) -> str:
    """XPath string value: all descendant text, comments and PIs excluded."""
    if len(element) == 0:
        return element.text or ""
    return _text_of(element)


def _text_of(element) -> str:
    parts = [element.text or ""]
    for child in element[:]:
        if isinstance(child.tag, str):
            parts.append(_text_of(child))
        parts.append(child.tail or "")
    return "".join(parts)


def has_child_element(element) -> bool:
    for child in element[:]:
        if isinstance(child.tag, str):
            return True
    return False


def is_xs_date(value: str) -> bool:
    value = value.strip(XML_SPACE)
    m = _PLAIN_DATE.fullmatch(value)
    if m:
        # Fast path for the common YYYY-MM-DD without time zone: the same checks as below.
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not 1 <= month <= 12 or day < 1:
            return False
        return day <= (_LEAP_DAYS if calendar.isleap(year) else _DAYS)[month - 1]
    m = _XS_DATE.fullmatch(value)
    if not m:
        return False
    year = int(value[: value.index("-", 1)])
    month, day = int(m.group(2)), int(m.group(3))
    leap = calendar.isleap(year) if year > 0 else calendar.isleap(year + 1 if year < 0 else 0) or year == 0
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return day <= days


def is_date_value(element) -> bool:
    """The ``date`` abstract rule: no child element, castable, YYYY-MM-DD prefix."""
    if len(element) == 0:
        return is_date_text(element.text or "")  # no children at all: the common case
    if has_child_element(element):
        return False
    return is_date_text(string_value(element))


def is_date_text(value: str) -> bool:
    """The string value of a ``date``: castable to ``xs:date`` and starting YYYY-MM-DD."""
    m = _PLAIN_DATE.fullmatch(value)
    if m:
        # Exactly YYYY-MM-DD (no space, no zone): the prefix holds, only the day is left to check.
        month, day = int(m.group(2)), int(m.group(3))
        if not 1 <= month <= 12 or day < 1:
            return False
        return day <= (_LEAP_DAYS if calendar.isleap(int(m.group(1))) else _DAYS)[month - 1]
    return is_xs_date(value) and _DATE_PREFIX.match(value) is not None


def xpath_number(text: str) -> float:
    text = text.strip(XML_SPACE)
    if not _XS_DOUBLE.fullmatch(text):
        return float("nan")
    if "N" not in text:
        return float(text)  # digits, sign, point, exponent: float() reads them as XPath does
    return float(text.replace("INF", "inf").replace("NaN", "nan"))


# ---------------------------------------------------------- the answer index


class View:
    """One ``svar`` with its children sorted out once."""

    __slots__ = ("all_ds", "ds", "el", "id", "instans")

    def __init__(self, el, sid, instans, ds, all_ds):
        self.el, self.id, self.instans, self.ds, self.all_ds = el, sid, instans, ds, all_ds


class Answers:
    """The answers of one intyg, indexed in a single pass over its children."""

    __slots__ = ("cvs", "delsvar", "instans", "intyg", "order", "periods", "pid", "svar")

    def __init__(self, intyg):
        # Runs once per message. The svar are taken from intyg's children; their delsvar and
        # instans from one tag-filtered walk each (in C), kept only when the parent is one of
        # those svar: cheaper than a Python loop over every svar's children reading tags.
        self.intyg = intyg
        self.cvs: dict = {}  # delsvar element -> CvInfo (the index keeps the proxies alive)
        self.periods: dict = {}  # delsvar element -> its (starts, ends)
        self.pid: str | None = None  # the patient's person id, read on first use
        self.svar = svar = {}
        self.delsvar = delsvar = {}
        self.order = order = []
        self.instans = all_instans = []  # every svar's instans elements, in document order
        view_of = {}  # svar element -> View; lxml keeps one proxy per node while it is referenced
        for child in intyg.iterchildren(SVAR):
            sid = child.get("id")
            view = View(child, sid, [], {}, [])
            view_of[child] = view
            order.append(view)
            same = svar.get(sid)
            if same is None:
                svar[sid] = [view]
            else:
                same.append(view)
        if not order:
            return
        for sub in intyg.iter(DELSVAR):
            view = view_of.get(sub.getparent())
            if view is None:
                continue  # not directly inside one of this intyg's svar
            did = sub.get("id")
            view.all_ds.append(sub)
            ds = view.ds
            same = ds.get(did)
            if same is None:
                ds[did] = [sub]
            else:
                same.append(sub)
            same = delsvar.get(did)
            if same is None:
                delsvar[did] = [sub]
            else:
                same.append(sub)
        for sub in intyg.iter(INSTANS):
            view = view_of.get(sub.getparent())
            if view is not None:
                view.instans.append(sub)
                all_instans.append(sub)


class CvInfo:
    """What the rules read from the ``tp:cv`` of one delsvar, read in one pass."""

    __slots__ = ("code", "codes", "ok", "raw_codes", "systems")

    def __init__(self, delsvar):
        self.codes = codes = []
        self.raw_codes = raw_codes = []
        self.systems = systems = []
        n_cv = displays = 0
        ok = True
        for cv in delsvar[:]:  # slices: see Answers
            if cv.tag != CV:
                continue
            n_cv += 1
            for c in cv[:]:
                tag = c.tag
                if tag == CODE:
                    if len(c):
                        raw = string_value(c)
                        ok = ok and not has_child_element(c)
                    else:
                        raw = c.text or ""
                    raw_codes.append(raw)
                    codes.append(normalize(raw))
                elif tag == CODE_SYSTEM:
                    if len(c):
                        systems.append(string_value(c))
                        ok = ok and not has_child_element(c)
                    else:
                        systems.append(c.text or "")
                elif tag == DISPLAY_NAME:
                    displays += 1
        self.ok = ok and n_cv == 1 and len(codes) == 1 and len(systems) == 1 and displays <= 1
        # normalize-space(tp:cv/tp:code); two nodes are an XPath error, here a non-value
        self.code = "\x00" if len(codes) > 1 else (codes[0] if codes else "")

    def one_code(self) -> str:
        """``normalize-space(tp:cv/tp:code)``; two nodes are an XPath error, here a non-value."""
        return self.code

    def one_system(self) -> str | None:
        if len(self.systems) > 1:
            return None
        return normalize(self.systems[0]) if self.systems else ""


def cv_info(a: Answers, delsvar) -> CvInfo:
    info = a.cvs.get(delsvar)
    if info is None:
        info = a.cvs[delsvar] = CvInfo(delsvar)
    return info


def person_id(a: Answers) -> str:
    """The patient's person id, found once per message (a path search costs a few µs)."""
    pid = a.pid
    if pid is None:
        pid = a.pid = _person_id(a.intyg)
    return pid


def period_of(a: Answers, delsvar) -> tuple[list, list]:
    """The ``datePeriod/start`` and ``datePeriod/end`` elements of a delsvar, read once per
    message: the period type check and the overlap rule both need them."""
    found = a.periods.get(delsvar)
    if found is None:
        found = a.periods[delsvar] = _period_parts(delsvar)
    return found


def local_delsvar(view: View, delsvar_id: str) -> list:
    return view.ds.get(delsvar_id, ())


def _check_counts(index: dict, bounds: tuple, out: list) -> None:
    """Count limits of svar (or of one svar's delsvar): ``bounds`` holds
    (id, min, max, failure if too few, failure if too many)."""
    for key, lo, hi, too_few, too_many in bounds:
        n = len(index.get(key, ()))
        if n > hi:
            out.append(too_many)
        elif n < lo:
            out.append(too_few)


# ----------------------------------------------------------------- compiling

Check = Callable[[Answers, list], None]


@dataclass
class CompiledDefinition:
    type_id: str
    major: str
    source: str
    checks: tuple[Check, ...]
    svar_ids: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, repr=False)
    # (rule id, our message) -> (the published assert's test, its message untrimmed): how the
    # reference words a failed rule (published-v<major>.toml beside the definition).
    published: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict, repr=False)

    def refusal_text(self, failure: RuleFailure) -> str:
        """The reference's ``TEST: <test>, MSG: <message>`` for a rule with a published assert; else ours."""
        found = self.published.get((failure.rule_id, failure.message))
        return f"TEST: {found[0]}, MSG: {found[1]}" if found else str(failure)

    def validate(self, intyg, answers: Answers | None = None) -> list[RuleFailure]:
        """Every failed rule of ``intyg`` (the ``intyg`` element), in definition order.

        ``answers``: ``Answers(intyg)``, when the caller built it already (a registration reads its sick-leave
        fields from the same one).
        """
        if answers is None:
            answers = Answers(intyg)
        failures: list[RuleFailure] = []
        for check in self.checks:
            check(answers, failures)
        return failures


def compile_definition(data: dict[str, Any], source: str = "<definition>") -> CompiledDefinition:
    return _Compiler(data, source).compile()


class _Compiler:
    def __init__(self, data: dict[str, Any], source: str):
        self.data = data
        self.source = source
        self.checks: list[Check] = []
        self.subject = data.get("subject", "intyg")
        self.delsvar_specs: dict[str, dict] = {}
        self.svar_specs: dict[str, dict] = {}
        self.by_svar: dict[str, list[Check]] = {}
        self.by_delsvar: dict[str, list[Check]] = {}

    def add(self, check: Check, *, svar: str | None = None, delsvar: str | None = None) -> None:
        """A check that can only fail when that svar/delsvar is present runs only then."""
        table, key = (self.by_svar, svar) if svar is not None else (self.by_delsvar, delsvar)
        table.setdefault(key, []).append(check)

    def fail(self, where: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{self.source}: {where}: {problem}")

    def regex(self, where: str, pattern: Any) -> re.Pattern:
        if not isinstance(pattern, str):
            raise self.fail(where, "a regular expression must be a string")
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise self.fail(where, f"bad regular expression {pattern!r}: {exc}") from None

    def compile(self) -> CompiledDefinition:
        d = self.data
        for key in ("type", "major"):
            if key not in d:
                raise self.fail("definition", f"missing field {key!r}")
        svars = d.get("svar", [])
        if not isinstance(svars, list) or not svars:
            raise self.fail("definition", "needs at least one [[svar]]")
        for s in svars:
            self.register_svar(s)
        self.intyg_checks(svars)
        for s in svars:
            self.svar_checks(s)
        for s in svars:
            for ds in s.get("delsvar", []):
                self.delsvar_checks(s, ds)
        for i, rule in enumerate(d.get("rule", [])):
            self.rule(rule, i)
        if d.get("extra_questions"):
            self.extra_questions(int(d["extra_questions"]))
        if d.get("instans_positive", True):
            self.checks.append(_instans_positive)
        by_svar = {k: tuple(v) for k, v in self.by_svar.items()}
        by_delsvar = {k: tuple(v) for k, v in self.by_delsvar.items()}

        # One check per svar id (svar_checks adds exactly one): called directly.
        svar_check_of = {k: v[0] for k, v in by_svar.items()}
        assert all(len(v) == 1 for v in by_svar.values())

        def present_answers(a: Answers, out: list) -> None:
            for sid in a.svar:
                check = svar_check_of.get(sid)
                if check is not None:
                    check(a, out)
            for did in a.delsvar:
                for check in by_delsvar.get(did, ()):
                    check(a, out)

        self.checks.insert(0, present_answers)
        return CompiledDefinition(
            str(d["type"]), str(d["major"]), self.source, tuple(self.checks), tuple(self.svar_specs), d
        )

    # -- declarations

    def register_svar(self, s: dict) -> None:
        sid = s.get("id")
        if not isinstance(sid, str) or not sid:
            raise self.fail("svar", f"every [[svar]] needs a string id, got {sid!r}")
        where = f"svar {sid}"
        if sid in self.svar_specs:
            raise self.fail(where, "defined twice")
        unknown = set(s) - {
            "id",
            "name",
            "min",
            "max",
            "instans",
            "unique_code",
            "delsvar_ids",
            "delsvar",
            "check_delsvar_ids",
            "min_message",
            "max_message",
            "instans_message",
            "unique_message",
            "delsvar_ids_message",
        }
        if unknown:
            raise self.fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
        self.svar_specs[sid] = s
        for ds in s.get("delsvar", []):
            did = ds.get("id")
            if not isinstance(did, str) or not did:
                raise self.fail(where, f"every [[svar.delsvar]] needs a string id, got {did!r}")
            dwhere = f"delsvar {did}"
            if did in self.delsvar_specs:
                raise self.fail(dwhere, "defined twice")
            unknown = set(ds) - {
                "id",
                "name",
                "type",
                "min",
                "max",
                "value_pattern",
                "value_message",
                "code_system",
                "code_system_pattern",
                "codes",
                "code_pattern",
                "max_length",
                "max_abs",
                "unit",
                "min_message",
                "max_message",
                "code_system_message",
                "code_message",
                "max_length_message",
                "type_message",
                "type_checked",
                "value_min",
                "value_max",
                "unit_pattern",
                "unit_message",
            }
            if unknown:
                raise self.fail(dwhere, f"unknown field(s) {', '.join(sorted(unknown))}")
            if not isinstance(ds.get("type_checked", True), bool):
                raise self.fail(dwhere, "type_checked must be true or false")
            if ds.get("type") not in DATATYPES:
                raise self.fail(dwhere, f"type must be one of {', '.join(DATATYPES)}, got {ds.get('type')!r}")
            self.delsvar_specs[did] = ds

    def name(self, sid: str) -> str:
        return (
            self.svar_specs.get(sid, {}).get("name", sid)
            if sid in self.svar_specs
            else self.delsvar_specs.get(sid, {}).get("name", sid)
        )

    # -- intyg level

    def intyg_checks(self, svars: list[dict]) -> None:
        subject = self.subject
        bounds = []
        for s in svars:
            sid, lo, hi = s["id"], int(s.get("min", 0)), int(s.get("max", 1))
            msg_hi = s.get("max_message") or f"Ett '{subject}' får ha högst {hi} '{self.name(sid)}'"
            msg_lo = s.get("min_message") or f"Ett '{subject}' måste ha minst {lo} '{self.name(sid)}'"
            bounds.append((sid, lo, hi, RuleFailure(f"{sid}.count", msg_lo), RuleFailure(f"{sid}.count", msg_hi)))
        bounds_t = tuple(bounds)
        # As for delsvar counts: every svar id once, the required ones there, no max or min
        # outside 1 -> nothing can fail, so the loop over all declared svar is skipped.
        required = frozenset(sid for sid, lo, _, _, _ in bounds if lo >= 1)
        simple = all(hi >= 1 and lo <= 1 for _, lo, hi, _, _ in bounds)

        def count(a: Answers, out: list) -> None:
            present = a.svar
            if simple and len(present) == len(a.order) and required.issubset(present):
                return
            _check_counts(present, bounds_t, out)

        self.checks.append(count)
        pattern = self.data.get("svar_ids")
        if pattern:
            rx = self.regex("svar_ids", pattern)
            msg = f'Oväntat svars-id. Svars-id:n måste matcha "{pattern}".'

            # The declared ids that match, decided once; only other ids go through the regex.
            matching = frozenset(sid for sid in self.svar_specs if rx.search(sid))

            def svar_ids(a: Answers, out: list) -> None:
                if matching.issuperset(a.svar):
                    return
                for sid in a.svar:
                    if sid in matching:
                        continue
                    if sid is None or not rx.search(sid):
                        out.append(RuleFailure("intyg.svar-ids", msg))
                        return

            self.checks.append(svar_ids)

    # -- svar level

    def svar_checks(self, s: dict) -> None:
        sid = s["id"]
        name = self.name(sid)
        # The checks of one svar run as one closure (one call per present svar id instead of
        # four), in the order instans, delsvar counts, delsvar ids, unique code.
        needs_instans = bool(s.get("instans"))
        delsvar = s.get("delsvar", [])
        counts = []
        for ds in delsvar:
            did, lo = ds["id"], int(ds.get("min", 0))
            if lo > 1:
                raise self.fail(f"delsvar {did}", "min can be 0 or 1")
            msg_lo = ds.get("min_message") or f"'{name}' måste ha ett '{ds.get('name', did)}'."
            msg_hi = ds.get("max_message") or f"'{name}' får ha högst ett '{ds.get('name', did)}'."
            hi = int(ds.get("max", 1))
            counts.append((did, lo, hi, RuleFailure(f"{did}.count", msg_lo), RuleFailure(f"{did}.count", msg_hi)))
        counts_t = tuple(counts)
        # When every delsvar id occurs once in an answer, all the required ones are there and no
        # max is 0, no count can fail: the common case skips the loop over counts_t.
        required = frozenset(did for did, lo, _, _, _ in counts if lo >= 1)
        no_zero_max = all(hi >= 1 for _, _, hi, _, _ in counts)
        pattern = s.get("delsvar_ids")
        allowed = allowed_ids = None
        known_ok: frozenset = frozenset()
        if s.get("check_delsvar_ids", True) is False:
            pass
        elif pattern:
            rx = self.regex(f"svar {sid}: delsvar_ids", pattern)
            allowed = rx.search
            # The declared ids the pattern accepts: answers with only those need no regex.
            known_ok = frozenset(ds["id"] for ds in delsvar if rx.search(ds["id"]))
        else:
            # A set of ids: one issuperset() per answer replaces the loop (None is never in it).
            allowed_ids = frozenset(ds["id"] for ds in delsvar)
            pattern = "|".join(sorted(allowed_ids))
        ids_msg = (
            s.get("delsvar_ids_message")
            or f'Oväntat delsvars-id i delsvar till svar "{sid}". Delsvars-id:n måste matcha "{pattern}".'
        )
        instans_msg = s.get("instans_message") or f"'{name}' måste ha ett instansnummer."
        unique = s.get("unique_code")
        umsg = ""
        if unique:
            if unique not in {ds["id"] for ds in delsvar}:
                raise self.fail(f"svar {sid}: unique_code", f"{unique!r} is not a delsvar of this svar")
            umsg = (
                s.get("unique_message")
                or f"Samma '{self.name(unique)}' kan inte användas flera gånger i samma '{self.subject}'."
            )

        def svar_check(a: Answers, out: list) -> None:
            views = a.svar.get(sid, ())
            if needs_instans:
                for el in views:
                    if len(el.instans) != 1:
                        out.append(RuleFailure(f"{sid}.instans", instans_msg))
            for el in views:
                ds = el.ds
                if no_zero_max and len(ds) == len(el.all_ds) and required.issubset(ds):
                    continue
                _check_counts(ds, counts_t, out)
            if allowed_ids is not None:
                for el in views:
                    if not allowed_ids.issuperset(el.ds):
                        out.append(RuleFailure(f"{sid}.delsvar-ids", ids_msg))
            elif allowed is not None:
                for el in views:
                    if known_ok.issuperset(el.ds):
                        continue
                    for did in el.ds:
                        if did is None or not allowed(did):
                            out.append(RuleFailure(f"{sid}.delsvar-ids", ids_msg))
                            break
            if unique:
                seen: set[str] = set()
                for el in views:
                    mine = {c for d in el.ds.get(unique, ()) for c in cv_info(a, d).codes}
                    if mine & seen:
                        out.append(RuleFailure(f"{sid}.unique", umsg))
                    seen |= mine

        self.add(svar_check, svar=sid)

    # -- delsvar level

    def delsvar_checks(self, s: dict, ds: dict) -> None:
        did, kind = ds["id"], ds["type"]
        rid = f"{did}.{kind}"
        where = f"delsvar {did}"
        tmsg = ds.get("type_message") or _TYPE_MESSAGES[kind]
        value_check = _VALUE_CHECKS[kind]
        extra: list[Callable[[Any], str | None]] = []
        # The CV code checks, in this order: code system (exact or pattern), code (set or
        # pattern), code length. Kept as data and tested inline in the check below.
        system = system_rx = codes = code_rx = max_code = None
        system_fail = code_fail = length_fail = None
        if kind in ("cv", "boolean_or_cv"):
            if "code_system" in ds:
                system = ds["code_system"]
                m = ds.get("code_system_message") or f"'codeSystem' måste vara '{system}'."
                system_fail = RuleFailure(f"{did}.value", m)
            elif "code_system_pattern" in ds:
                system_rx = self.regex(f"{where}: code_system_pattern", ds["code_system_pattern"])
                m = ds.get("code_system_message") or f"'codeSystem' måste matcha '{system_rx.pattern}'."
                system_fail = RuleFailure(f"{did}.value", m)
            if "codes" in ds:
                codes = frozenset(ds["codes"])
                m = ds.get("code_message") or f"'{ds.get('name', did)}' kan ha ett av värdena {', '.join(ds['codes'])}."
                code_fail = RuleFailure(f"{did}.value", m)
            elif "code_pattern" in ds:
                code_rx = self.regex(f"{where}: code_pattern", ds["code_pattern"])
                m = ds.get("code_message") or f"Koden måste matcha '{code_rx.pattern}'."
                code_fail = RuleFailure(f"{did}.value", m)
            if "max_length" in ds:
                max_code = int(ds["max_length"])
                m = ds.get("max_length_message") or f"Koden får inte vara längre än {max_code} tecken."
                length_fail = RuleFailure(f"{did}.value", m)
        elif kind == "text" and "max_length" in ds:
            n = int(ds["max_length"])
            m = ds.get("max_length_message") or f"Texten får inte vara längre än {n} tecken."
            extra.append(lambda info, d, n=n, m=m: None if len(normalize(string_value(d))) <= n else m)
        elif kind == "decimal" and "max_abs" in ds:
            limit = float(ds["max_abs"])
            m = ds.get("value_message") or f"Decimal-värde får inte vara över {limit}"
            extra.append(lambda info, d, limit=limit, m=m: None if abs(xpath_number(string_value(d))) <= limit else m)
        elif kind == "quantity":
            if "unit" in ds:
                unit = ds["unit"]
                extra.append(
                    lambda info, d, unit=unit: (
                        None
                        if any(string_value(u) == unit for p in d.iterchildren(PQ) for u in p.iterchildren(PQ_UNIT))
                        else f"Enheten måste vara '{unit}'."
                    )
                )
            if "value_pattern" in ds:
                rx = self.regex(f"{where}: value_pattern", ds["value_pattern"])
                m = ds.get("value_message") or f"Värdet måste matcha '{rx.pattern}'."

                def value_ok(info, d, rx=rx, m=m):
                    values = [string_value(v) for p in d.iterchildren(PQ) for v in p.iterchildren(PQ_VALUE)]
                    return None if len(values) <= 1 and rx.search(values[0] if values else "") else m

                extra.append(value_ok)
            if "unit_pattern" in ds:
                rx = self.regex(f"{where}: unit_pattern", ds["unit_pattern"])
                m = ds.get("unit_message") or f"Enheten måste matcha '{rx.pattern}'."

                def unit_ok(info, d, rx=rx, m=m):
                    units = [string_value(u) for p in d.iterchildren(PQ) for u in p.iterchildren(PQ_UNIT)]
                    return None if len(units) <= 1 and rx.search(normalize(units[0]) if units else "") else m

                extra.append(unit_ok)
            if "value_min" in ds or "value_max" in ds:
                lo, hi = float(ds.get("value_min", "-inf")), float(ds.get("value_max", "inf"))
                m = (
                    ds.get("value_message")
                    or f"Värdet måste vara mellan {ds.get('value_min')} och {ds.get('value_max')}."
                )

                def in_range(info, d, lo=lo, hi=hi, m=m):
                    # number() of one value; none is NaN and several an XPath error: both fail
                    values = [string_value(v) for p in d.iterchildren(PQ) for v in p.iterchildren(PQ_VALUE)]
                    return None if len(values) == 1 and lo <= xpath_number(values[0]) <= hi else m

                extra.append(in_range)
        if kind not in ("quantity", "cv", "boolean_or_cv") and "value_pattern" in ds:
            rx = self.regex(f"{where}: value_pattern", ds["value_pattern"])
            m = ds.get("value_message") or f"Värdet måste matcha '{rx.pattern}'."
            extra.append(lambda info, d, rx=rx, m=m: None if rx.search(normalize(string_value(d))) else m)
        extra_t = tuple(extra)
        is_cv = kind == "cv"
        either = kind == "boolean_or_cv"
        # type_checked = false: the published rules never check this delsvar's datatype, only
        # the code or value checks declared on it (the datatype still shapes the corpus).
        typed = ds.get("type_checked", True) is not False

        # Each extra check gets (CvInfo or None, delsvar); the CV form reads its CvInfo once.
        if is_cv or either:
            assert not extra_t  # a CV's checks are the inline ones

            def check(a: Answers, out: list) -> None:
                for d in a.delsvar.get(did, ()):
                    if either and _is_boolean_text(d):
                        if has_child_element(d):
                            out.append(RuleFailure(rid, tmsg))
                        continue  # a boolean answer: the code checks are for the CV form
                    info = cv_info(a, d)
                    if typed and not info.ok:
                        out.append(RuleFailure(rid, tmsg))
                    if system is not None:
                        if system not in info.systems:
                            out.append(system_fail)
                    elif system_rx is not None and not system_rx.search(info.one_system() or "\x00"):
                        out.append(system_fail)
                    code = info.code
                    if codes is not None:
                        if code not in codes:
                            out.append(code_fail)
                    elif code_rx is not None and not code_rx.search(code):
                        out.append(code_fail)
                    if max_code is not None and len(code) > max_code:
                        out.append(length_fail)
        else:
            if kind == "period":
                value_check = None  # read through the message's period cache below

            if typed and value_check is not None and not extra_t:
                type_failure = RuleFailure(rid, tmsg)

                def check(a: Answers, out: list) -> None:  # the common case: only the type
                    for d in a.delsvar.get(did, ()):
                        if not value_check(d):
                            out.append(type_failure)

                self.add(check, delsvar=did)
                return

            def check(a: Answers, out: list) -> None:
                for d in a.delsvar.get(did, ()):
                    if typed and not (value_check(d) if value_check else _period_parts_ok(*period_of(a, d))):
                        out.append(RuleFailure(rid, tmsg))
                    for e in extra_t:
                        m = e(None, d)
                        if m is not None:
                            out.append(RuleFailure(f"{did}.value", m))

        self.add(check, delsvar=did)

    # -- rules

    def rule(self, rule: dict, index: int) -> None:
        rid = rule.get("id")
        if not isinstance(rid, str) or not rid:
            raise self.fail(f"rule #{index + 1}", "needs a string id")
        where = f"rule {rid}"
        kind = rule.get("kind", "implies")
        message = rule.get("message") or f"Regel {rid} är inte uppfylld."
        # A kind that is no string (a TOML array or table) is unknown too, not a TypeError from
        # looking an unhashable value up in the table.
        compile_kind = RULE_KINDS.get(kind) if isinstance(kind, str) else None
        if compile_kind is None:
            raise self.fail(where, f"unknown kind {kind!r}")
        compile_kind(self, rule, where, rid, message)

    def scoped(self, where: str, rule: dict):
        scope = rule.get("scope", "intyg")
        if scope == "intyg":
            scope_of = lambda a: (None,)  # noqa: E731
        elif scope.startswith("svar:") and scope[5:] in self.svar_specs:
            sid = scope[5:]
            scope_of = lambda a: a.svar.get(sid, ())  # noqa: E731
        elif scope.startswith("delsvar:") and scope[8:] in self.delsvar_specs:
            # Every answer holding that delsvar, whatever its id: XPath '../' from the delsvar.
            did = scope[8:]
            scope_of = lambda a: [v for v in a.order if did in v.ds] if did in a.delsvar else ()  # noqa: E731
        else:
            raise self.fail(where, f"scope must be 'intyg', 'svar:<known id>' or 'delsvar:<known id>', got {scope!r}")
        when = self.condition(where + ": when", rule["when"]) if "when" in rule else (lambda a, el: True)
        return scope_of, when

    def known_delsvar(self, where: str, did: Any) -> str:
        if did not in self.delsvar_specs:
            raise self.fail(where, f"names unknown delsvar {did!r}")
        return did

    def svar_of(self, did: str) -> str:
        for sid, s in self.svar_specs.items():
            if any(ds["id"] == did for ds in s.get("delsvar", [])):
                return sid
        raise AssertionError(did)

    def delsvar_scope(self, where: str, cond: dict, did: str) -> Callable[[Answers, Any], list]:
        """The delsvar a condition looks at: those in the rule's svar, else (``in_svar``) those
        in answers with that id, else all of them."""
        holder = cond.get("in_svar")
        if holder is not None and holder not in self.svar_specs:
            raise self.fail(where, f"in_svar names unknown svar {holder!r}")

        if holder is None:

            def in_scope(a: Answers, el) -> list:
                return el.ds.get(did, ()) if el is not None else a.delsvar.get(did, ())

            return in_scope

        def in_holder(a: Answers, el) -> list:
            if el is not None:
                return el.ds.get(did, ())
            return [d for v in a.svar.get(holder, ()) for d in v.ds.get(did, ())]

        return in_holder

    def condition(self, where: str, cond: Any) -> Callable[[Answers, Any], bool]:
        if not isinstance(cond, dict):
            raise self.fail(where, "a condition is a table")
        if "any" in cond or "all" in cond:
            key = "any" if "any" in cond else "all"
            parts = [self.condition(f"{where}.{key}[{i}]", c) for i, c in enumerate(cond[key])]
            # Plain loops: a generator inside any()/all() costs more than the few parts it tries.
            if key == "any":

                def any_of(a: Answers, el) -> bool:
                    for p in parts:
                        if p(a, el):
                            return True
                    return False

                return any_of

            def all_of(a: Answers, el) -> bool:
                for p in parts:
                    if not p(a, el):
                        return False
                return True

            return all_of
        if "not" in cond:
            inner = self.condition(f"{where}.not", cond["not"])
            return lambda a, el: not inner(a, el)
        predicates = [
            k
            for k in (
                "absent",
                "codes",
                "not_codes",
                "matches",
                "not_matches",
                "code_matches",
                "code_not_matches",
                "less_than",
                "at_least",
            )
            if k in cond
        ]
        if predicates == ["less_than", "at_least"]:
            predicates = ["less_than"]  # one numeric range
        if len(predicates) > 1:
            raise self.fail(where, f"use one predicate, got {', '.join(predicates)}")
        pred = predicates[0] if predicates else None
        if any(k in cond for k in ("count", "min", "max")):
            if pred is not None:
                raise self.fail(where, f"count/min/max cannot be combined with {pred!r}")
            lo = int(cond.get("count", cond.get("min", 0)))
            hi = int(cond.get("count", cond.get("max", 1 << 30)))
            if "svar" in cond:
                sid = cond["svar"]
                if sid not in self.svar_specs:
                    raise self.fail(where, f"names unknown svar {sid!r}")
                return lambda a, el: lo <= len(a.svar.get(sid, ())) <= hi
            did = self.known_delsvar(where, cond.get("delsvar"))
            counted = self.delsvar_scope(where, cond, did)
            return lambda a, el: lo <= len(counted(a, el)) <= hi
        if "svar" in cond:
            sid = cond["svar"]
            if sid not in self.svar_specs:
                raise self.fail(where, f"names unknown svar {sid!r}")
            if pred not in (None, "absent"):
                raise self.fail(where, f"predicate {pred!r} applies to a delsvar, not a svar")
            if pred == "absent":
                return lambda a, el: not a.svar.get(sid)
            return lambda a, el: bool(a.svar.get(sid))
        did = self.known_delsvar(where, cond.get("delsvar"))
        scoped = self.delsvar_scope(where, cond, did)
        if cond.get("single"):
            # XPath applied to the node sequence itself (number(x), matches(x, ...)): it holds only for
            # exactly one node; none gives no value, several raise an error, which a rule context treats
            # as no match.
            def in_scope(a: Answers, el) -> list:
                found = scoped(a, el)
                return found if len(found) == 1 else ()
        else:
            in_scope = scoped
        if pred is None:
            return lambda a, el: bool(in_scope(a, el))
        if pred == "absent":
            return lambda a, el: not in_scope(a, el)
        # The predicates below hold when any delsvar in scope satisfies them; written as loops
        # (and set operations) because a generator inside any() costs more than the test itself.
        if pred in ("codes", "not_codes"):
            codes = frozenset(cond[pred])
            if pred == "codes":

                def has_code(a: Answers, el) -> bool:
                    for d in in_scope(a, el):
                        if not codes.isdisjoint(cv_info(a, d).codes):
                            return True
                    return False

                return has_code

            def has_other_code(a: Answers, el) -> bool:
                for d in in_scope(a, el):
                    if not codes.issuperset(cv_info(a, d).codes):
                        return True
                return False

            return has_other_code
        if pred in ("less_than", "at_least"):
            try:
                high = float(cond.get("less_than", "inf"))
                low = float(cond.get("at_least", "-inf"))
            except (TypeError, ValueError):
                raise self.fail(where, "less_than and at_least need numbers") from None

            # XPath number(.) < high and number(.) >= low: a value that is no number (NaN) never is
            def in_range(a: Answers, el) -> bool:
                for d in in_scope(a, el):
                    if low <= xpath_number(string_value(d)) < high:
                        return True
                return False

            return in_range
        rx = self.regex(where, cond[pred])
        search = rx.search
        if pred == "code_matches":

            def code_matches(a: Answers, el) -> bool:
                for d in in_scope(a, el):
                    if search(cv_info(a, d).one_code()):
                        return True
                return False

            return code_matches
        if pred == "code_not_matches":

            def code_not_matches(a: Answers, el) -> bool:
                for d in in_scope(a, el):
                    if not search(cv_info(a, d).one_code()):
                        return True
                return False

            return code_not_matches
        if pred == "matches":

            def matches(a: Answers, el) -> bool:
                for d in in_scope(a, el):
                    if search(normalize(string_value(d))):
                        return True
                return False

            return matches

        def not_matches(a: Answers, el) -> bool:
            for d in in_scope(a, el):
                if not search(normalize(string_value(d))):
                    return True
            return False

        return not_matches

    # -- tilläggsfrågor

    def extra_questions(self, first: int) -> None:
        text_ok = _VALUE_CHECKS["text"]
        declared = frozenset(sid for sid in self.svar_specs if not xpath_number(sid) >= first)

        def extra(a: Answers, out: list) -> None:
            if declared.issuperset(a.svar):
                return  # only declared questions: no tilläggsfråga to check
            seen: set[str] = set()
            for el in a.order:
                if el.id in declared:
                    seen.add(el.id)
                    continue
                n = xpath_number(el.id or "")
                if not n >= first:
                    seen.add(el.id)
                    continue
                sid = el.id
                ds = el.all_ds
                if len(ds) != 1:
                    out.append(
                        RuleFailure(
                            f"{sid}.extra",
                            "En tilläggsfråga måste ha ett delsvar med delfråge-id som består av frågans id plus '.1'.",
                        )
                    )
                if sid in seen:
                    out.append(RuleFailure(f"{sid}.extra", "Två tilläggsfrågor kan inte ha samma id."))
                seen.add(sid)
                for d in ds:
                    if not text_ok(d):
                        out.append(RuleFailure(f"{sid}.extra", "Sträng kan inte vara tom."))

        self.checks.append(extra)


# -- rule kinds: each compiles one kind of rule of a type definition into checks --


def _implies(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    if "then" not in rule:
        raise c.fail(where, "an 'implies' rule needs 'then' (and 'when' unless it always applies)")
    scope_of, when = c.scoped(where, rule)
    then = c.condition(where + ": then", rule["then"])

    if rule.get("scope", "intyg") == "intyg":
        # Once per message, no answer in scope: skip the one-element loop.
        def implies(a: Answers, out: list) -> None:
            if when(a, None) and not then(a, None):
                out.append(RuleFailure(rid, message))
    else:

        def implies(a: Answers, out: list) -> None:
            for el in scope_of(a):
                if when(a, el) and not then(a, el):
                    out.append(RuleFailure(rid, message))

    c.checks.append(implies)


def _no_overlap(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = c.known_delsvar(where, rule.get("delsvar"))
    sid = c.svar_of(did)

    def no_overlap(a: Answers, out: list) -> None:
        seen: list[tuple[list, list]] = []
        for el in a.svar.get(sid, ()):
            starts, ends = [], []
            for d in el.ds.get(did, ()):
                period_starts, period_ends = period_of(a, d)
                starts += [normalize(string_value(x)) for x in period_starts]
                ends += [normalize(string_value(x)) for x in period_ends]
            if len(starts) > 1 or len(ends) > 1:
                out.append(RuleFailure(rid, message))  # XPath would raise: not one value
            else:
                cs = starts[0] if starts else ""
                ce = ends[0] if ends else ""
                if _overlaps(seen, cs, ce):
                    out.append(RuleFailure(rid, message))
            seen.append((starts, ends))

    c.checks.append(no_overlap)


def _same_code_system(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    ids = rule.get("delsvar")
    if not isinstance(ids, list) or len(ids) < 2:
        raise c.fail(where, "'delsvar' must list at least two delsvar ids")
    for did in ids:
        c.known_delsvar(where, did)
    sid = c.svar_of(ids[0])
    first, others = ids[0], ids[1:]

    def same_system(a: Answers, out: list) -> None:
        for el in a.svar.get(sid, ()):
            base = _joined_norm(a, local_delsvar(el, first))
            for other in others:
                pattern = _joined_norm(a, local_delsvar(el, other))
                try:
                    ok = base is not None and pattern is not None and re.search(pattern, base)
                except re.error:
                    ok = False
                if not ok:
                    out.append(RuleFailure(rid, message))
                    break

    c.checks.append(same_system)


def _exclusive_code(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = c.known_delsvar(where, rule.get("delsvar"))
    code = rule.get("code")
    sid = c.svar_of(did)

    def exclusive(a: Answers, out: list) -> None:
        has_it = has_other = False
        for el in a.svar.get(sid, ()):
            mine_it = mine_other = False
            for d in el.ds.get(did, ()):
                for r in cv_info(a, d).raw_codes:
                    if r == code:
                        mine_it = True
                    else:
                        mine_other = True
            if (has_other and mine_it) or (has_it and mine_other):
                out.append(RuleFailure(rid, message))
            has_it |= mine_it
            has_other |= mine_other

    c.checks.append(exclusive)


def _not_later(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    ids = rule.get("delsvar")
    if not isinstance(ids, list) or len(ids) != 2:
        raise c.fail(where, "'delsvar' must list two ids: [earlier, later]")
    first, second = (c.known_delsvar(where, x) for x in ids)
    scope = rule.get("scope", "intyg")
    sid = scope[5:] if scope.startswith("svar:") else None
    if scope != "intyg" and sid not in c.svar_specs:
        raise c.fail(where, f"scope must be 'intyg' or 'svar:<known id>', got {scope!r}")
    when = c.condition(where + ": when", rule["when"]) if "when" in rule else (lambda a, el: True)
    local = {x for x in (first, second) if sid is not None and c.svar_of(x) == sid}

    def value(a: Answers, el, did):
        found = local_delsvar(el, did) if did in local else a.delsvar.get(did, ())
        if len(found) > 1:
            return None  # normalize-space() of two nodes: an XPath error
        return normalize(string_value(found[0])) if found else ""

    def not_later(a: Answers, out: list) -> None:
        for el in a.svar.get(sid, ()) if sid else (None,):
            if not when(a, el):
                continue
            x, y = value(a, el, first), value(a, el, second)
            if x is None or y is None or x > y:
                out.append(RuleFailure(rid, message))

    c.checks.append(not_later)


def _value_type(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = c.known_delsvar(where, rule.get("delsvar"))
    vtype = rule.get("type")
    if vtype not in _VALUE_CHECKS:
        raise c.fail(where, f"type must be one of {', '.join(DATATYPES)}, got {vtype!r}")
    ok = _VALUE_CHECKS[vtype]
    scope_of, when = c.scoped(where, rule)

    def value_type(a: Answers, out: list) -> None:
        for el in scope_of(a):
            if when(a, el):
                for d in local_delsvar(el, did) if el is not None else a.delsvar.get(did, ()):
                    if not ok(d):
                        out.append(RuleFailure(rid, message))

    c.checks.append(value_type)


def _date_after_or_not(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    ids = rule.get("delsvar")
    if not isinstance(ids, list) or len(ids) != 2:
        raise c.fail(where, "'delsvar' must list two ids")
    first, second = (c.known_delsvar(where, x) for x in ids)
    scope_of, when = c.scoped(where, rule)
    strict_after = rule["kind"] == "date_after"

    def dates(a: Answers, out: list) -> None:
        for el in scope_of(a):
            if not when(a, el):
                continue
            subjects = (
                local_delsvar(el, first) if el is not None and c.svar_of(first) == el.id else a.delsvar.get(first, ())
            )
            refs = a.delsvar.get(second, ())
            if strict_after:
                # [earlier, later]: a later value that is a date must follow the earlier one
                # (as dates when the earlier is one, else as strings); an empty earlier is no check.
                if len(subjects) > 1 or len(refs) > 1:
                    out.append(RuleFailure(rid, message))
                    continue
                if not refs or not subjects:
                    continue
                later, earlier = string_value(refs[0]), string_value(subjects[0])
                if not is_xs_date(later) or not earlier:
                    continue
                if is_xs_date(earlier):
                    bad = not _date_key(later) > _date_key(earlier)
                else:
                    bad = not later > earlier
                if bad:
                    out.append(RuleFailure(rid, message))
            else:
                # [date, reference]: the date may not be after the reference when that is a date.
                ref = string_value(refs[0]) if len(refs) == 1 else ""
                if not is_xs_date(ref):
                    continue
                for d in subjects:
                    v = string_value(d)
                    if not is_xs_date(v) or _date_key(v) > _date_key(ref):
                        out.append(RuleFailure(rid, message))

    c.checks.append(dates)


def _newborn(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    date_id = c.known_delsvar(where, rule.get("date"))
    flag_id = c.known_delsvar(where, rule.get("flag"))
    days = int(rule.get("days", 28))
    scope_of, when = c.scoped(where, rule)

    def newborn(a: Answers, out: list) -> None:
        for el in scope_of(a):
            if not when(a, el):
                continue
            local = local_delsvar(el, date_id) if el is not None else a.delsvar.get(date_id, ())
            if len(local) != 1 or not is_xs_date(string_value(local[0])):
                continue
            death = _date_key(string_value(a.delsvar[date_id][0])) if len(a.delsvar[date_id]) == 1 else None
            birth = _birth_date(person_id(a))
            flags = a.delsvar.get(flag_id, ())
            flag = normalize(string_value(flags[0])) if len(flags) == 1 else ("\x00" if flags else "")
            if death is None or birth is None or flag == "\x00":
                out.append(RuleFailure(rid, message))
                continue
            young = death <= birth + datetime.timedelta(days=days)
            yes, no = re.search("1|true", flag), re.search("0|false", flag)
            if not ((no or young) and (yes or not young)):
                out.append(RuleFailure(rid, message))

    c.checks.append(newborn)


def _date_sequence(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = c.known_delsvar(where, rule.get("delsvar"))
    limit = c.known_delsvar(where, rule["not_after"]) if "not_after" in rule else None
    sid = c.svar_of(did)

    def sequence(a: Answers, out: list) -> None:
        items = []  # (instance number, date key or None, raw) per delsvar, in document order
        for el in a.svar.get(sid, ()):
            n = xpath_number(string_value(el.instans[0])) if len(el.instans) == 1 else float("nan")
            for d in el.ds.get(did, ()):
                items.append((n, _date_key(string_value(d)) if is_xs_date(string_value(d)) else None))
        refs = a.delsvar.get(limit, ()) if limit else ()
        ref = _date_key(string_value(refs[0])) if len(refs) == 1 and is_xs_date(string_value(refs[0])) else None
        for n, day in items:
            if ref is not None and (day is None or day > ref):
                out.append(RuleFailure(rid, message))
                continue
            same = [d for m, d in items if m == n]
            earlier = [d for m, d in items if m < n]
            if not earlier:
                continue
            if len(same) != 1 or same[0] is None or any(d is None for d in earlier):
                out.append(RuleFailure(rid, message))  # xs:date() of several or of a non-date
            elif any(d < same[0] for d in earlier):
                out.append(RuleFailure(rid, message))

    c.checks.append(sequence)


def _sequential_instans(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    sid = rule.get("svar")
    if sid not in c.svar_specs:
        raise c.fail(where, f"names unknown svar {sid!r}")

    def sequential(a: Answers, out: list) -> None:
        numbers = [
            xpath_number(string_value(el.instans[0])) if len(el.instans) == 1 else float("nan")
            for el in a.svar.get(sid, ())
        ]
        for n in numbers:
            if n >= 2 and sum(1 for m in numbers if m == n - 1) != 1:
                out.append(RuleFailure(rid, message))

    c.checks.append(sequential)


def _year_not_after_today(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = rule["delsvar"]

    def year_not_after_today(a: Answers, out: list) -> None:
        this_year = date_today().year
        for d in a.delsvar.get(did, ()):
            values = _partial_values(d)
            # number() of no value is NaN and of several an XPath error: both fail
            if len(values) != 1 or not xpath_number(string_value(values[0])) <= this_year:
                out.append(RuleFailure(rid, message))

    c.checks.append(year_not_after_today)


def _not_after_today(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    if c.delsvar_specs.get(rule.get("delsvar"), {}).get("type") == "year":
        # A year alone compares with this year, not with today's date.
        _year_not_after_today(c, rule, where, rid, message)
        return
    did = c.known_delsvar(where, rule.get("delsvar"))
    if rule.get("numeric_id"):
        # The published context is //gn:delsvar[@id=48.1]: ids compared as numbers,
        # so '48.10' or ' 48.1' are checked too; an id that is no number is not.
        number = xpath_number(did)

        def selected(a: Answers) -> list:
            return [
                d for key, found in a.delsvar.items() if key is not None and xpath_number(key) == number for d in found
            ]
    else:

        def selected(a: Answers) -> list:
            return a.delsvar.get(did, ())

    def not_after_today(a: Answers, out: list) -> None:
        today = date_today().isoformat()
        for d in selected(a):
            value = string_value(d).strip(XML_SPACE)
            if not is_xs_date(value):
                out.append(RuleFailure(rid, message))  # xs:date() would raise
            elif value.startswith("-"):
                continue  # a year before our era is never after today
            elif len(value.split("-", 1)[0]) > 4 or value[:10] > today:
                out.append(RuleFailure(rid, message))

    c.checks.append(not_after_today)


def _within_life(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = c.known_delsvar(where, rule.get("delsvar"))
    precision = rule.get("precision", "day")
    if precision not in ("day", "year"):
        raise c.fail(where, f"precision must be 'day' or 'year', got {precision!r}")
    by_year = precision == "year"

    def within_life(a: Answers, out: list) -> None:
        today = date_today()
        for d in a.delsvar.get(did, ()):
            values = _partial_values(d)
            if len(values) != 1:
                out.append(RuleFailure(rid, message))  # no value compares false, several raise
            elif by_year:
                year = xpath_number(string_value(values[0]))
                born = xpath_number(person_id(a)[:4])
                if not born <= year:
                    out.append(RuleFailure(rid, message))
                elif not year <= today.year:
                    # The published schema words the two bounds apart: a rule id of its own lets the
                    # refusal carry the right one (published-v<major>.toml).
                    out.append(RuleFailure(f"{rid}/today", message))
            else:
                day, born = _date_key(string_value(values[0])), _xpath_birth_date(person_id(a))
                if day is None or born is None or not born <= day:
                    out.append(RuleFailure(rid, message))
                elif not day <= today:
                    out.append(RuleFailure(f"{rid}/today", message))

    c.add(within_life, delsvar=did)


def _not_after_signing(c: _Compiler, rule: dict, where: str, rid: str, message: str) -> None:
    did = c.known_delsvar(where, rule.get("delsvar"))

    def not_after(a: Answers, out: list) -> None:
        signed = a.intyg.find(SIGNED)
        day = normalize(string_value(signed))[:10] if signed is not None else ""
        for d in a.delsvar.get(did, ()):
            ends = [normalize(string_value(x)) for p in d.iterchildren(DATE_PERIOD) for x in p.iterchildren(END)] or [
                normalize(string_value(d))
            ]
            if day and any(e > day for e in ends):
                out.append(RuleFailure(rid, message))

    c.checks.append(not_after)


# The rule kinds a type definition may use, by the name its ``kind`` gives.
RULE_KINDS: dict[str, Callable[[_Compiler, dict, str, str, str], None]] = {
    "implies": _implies,
    "no_overlap": _no_overlap,
    "same_code_system": _same_code_system,
    "exclusive_code": _exclusive_code,
    "not_later": _not_later,
    "value_type": _value_type,
    "date_after": _date_after_or_not,
    "date_not_after": _date_after_or_not,
    "newborn": _newborn,
    "date_sequence": _date_sequence,
    "sequential_instans": _sequential_instans,
    "not_after_today": _not_after_today,
    "within_life": _within_life,
    "not_after_signing": _not_after_signing,
}


def _date_key(value: str) -> datetime.date | None:
    """The calendar date of an ``xs:date`` (time zones ignored: the published rules' data has none)."""
    value = value.strip(XML_SPACE)
    m = _XS_DATE.fullmatch(value)
    if not m or value.startswith("-") or len(m.group(1)) > 4 or m.group(1) == "0000":
        return None
    return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


PERSON_ID = GN + "patient/" + GN + "person-id/" + TP + "extension"


def _birth_date(pid: str) -> datetime.date | None:
    """Birth date from the personnummer (samordningsnummer: day + 60), as the DB rules compute it."""
    day = pid[6:8]
    try:
        if day >= "60":
            day = str(int(day) - 60)
        return datetime.date(int(pid[0:4]), int(pid[4:6]), int(day))
    except ValueError:
        return None


def _person_id(intyg) -> str:
    node = intyg.find(PERSON_ID)
    return string_value(node) if node is not None else ""


def _xpath_birth_date(pid: str) -> datetime.date | None:
    """Birth date as the TS rules compute it: the samordningsnummer day minus 60 is not padded,
    so a day 61-69 makes no ``xs:date`` (an XPath error, which rejects the message)."""
    day = pid[6:8]
    if not day < "60":
        try:
            day = str(int(day.strip(XML_SPACE)) - 60)
        except ValueError:
            return None
    text = "-".join((pid[0:4], pid[4:6], day))
    return _date_key(text) if _XS_DATE.fullmatch(text) and is_xs_date(text) else None


def _instans_positive(a: Answers, out: list) -> None:
    for i in a.instans:  # the same order as each answer's instans, answer by answer
        text = i.text
        if text and len(i) == 0 and text.isdigit() and text.isascii():
            ok = int(text) >= 1
        else:
            ok = xpath_number(string_value(i)) >= 1
        if not ok:
            out.append(RuleFailure("instans", "'Instans' måste vara större än 0."))


def _overlaps(seen: list, cs: str, ce: str) -> bool:
    """Some earlier start is before ``ce`` while its end is after ``cs`` (as strings)."""
    for ps, pe in seen:
        for s in ps:
            if s < ce:
                for e in pe:
                    if e > cs:
                        return True
    return False


def _joined_norm(a: Answers, delsvar: list) -> str | None:
    systems = [x for d in delsvar for x in cv_info(a, d).systems]
    if len(systems) > 1:
        return None
    return normalize(systems[0]) if systems else ""


# ------------------------------------------------------------- datatypes


def _text_ok(d) -> bool:
    text = d.text
    if len(d) == 0:
        return bool(text and text.strip(XML_SPACE))  # one text node, the common case
    texts = 1 if text else 0
    for child in d[:]:
        if isinstance(child.tag, str):
            return False
        if child.tail:
            texts += 1
    if texts != 1:
        return False  # none is an empty string; two are an XPath error
    if d.text:
        return bool(d.text.strip(XML_SPACE))
    return any(c.tail and c.tail.strip(XML_SPACE) for c in d)


_BOOLEAN_TEXTS = frozenset(("true", "false", "1", "0"))


def _is_boolean_text(d) -> bool:
    return string_value(d).strip(XML_SPACE) in ("true", "false", "1", "0")


def _boolean_ok(d) -> bool:
    if len(d) == 0:
        return (d.text or "").strip(XML_SPACE) in _BOOLEAN_TEXTS  # text only, the common case
    return not has_child_element(d) and string_value(d).strip(XML_SPACE) in ("true", "false", "1", "0")


def _cv_ok(d) -> bool:
    cvs = list(d.iterchildren(CV))
    if len(cvs) != 1:
        return False
    cv = cvs[0]
    systems = list(cv.iterchildren(CODE_SYSTEM))
    codes = list(cv.iterchildren(CODE))
    if len(systems) != 1 or len(codes) != 1:
        return False
    if has_child_element(systems[0]) or has_child_element(codes[0]):
        return False
    return sum(1 for _ in cv.iterchildren(DISPLAY_NAME)) <= 1


def _period_parts(d) -> tuple[list, list]:
    # One walk over the children: iterchildren(tag) sets up a tag matcher per call, which
    # costs more than comparing the few tags here.
    starts, ends = [], []
    for p in d[:]:  # slices: see Answers
        if p.tag == DATE_PERIOD:
            for x in p[:]:
                tag = x.tag
                if tag == START:
                    starts.append(x)
                elif tag == END:
                    ends.append(x)
    return starts, ends


def _period_ok(d) -> bool:
    return _period_parts_ok(*_period_parts(d))


def _period_parts_ok(starts: list, ends: list) -> bool:
    if len(starts) != 1 or len(ends) != 1:
        return False  # one start and one end over all periods
    start, end = starts[0], ends[0]
    if len(start) == 0 and len(end) == 0:  # text only, the common case: read each text once
        s, e = start.text or "", end.text or ""
        return is_date_text(s) and is_date_text(e) and normalize(s) <= normalize(e)
    if not (is_date_value(start) and is_date_value(end)):
        return False
    return normalize(string_value(start)) <= normalize(string_value(end))


def _quantity_ok(d) -> bool:
    """The published ``pq`` rule: one pq with one value and one unit, neither with child elements."""
    pqs = list(d.iterchildren(PQ))
    if len(pqs) != 1:
        return False
    values = list(pqs[0].iterchildren(PQ_VALUE))
    units = list(pqs[0].iterchildren(PQ_UNIT))
    return len(values) == 1 and len(units) == 1 and not has_child_element(values[0]) and not has_child_element(units[0])


def _partial_date_ok(d) -> bool:
    return not has_child_element(d) and _PARTIAL_DATE.fullmatch(string_value(d)) is not None


_PARTIAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR = re.compile(r"\d{4}")


def _partial_values(d) -> list:
    # Slices and tag tests: cheaper than two iterchildren(tag) matchers on a few children.
    return [v for p in d[:] if p.tag == PARTIAL_DATE for v in p[:] if v.tag == PARTIAL_VALUE]


def _year_ok(d) -> bool:
    """One ``partialDate/value`` of exactly four digits (XPath ``matches(..., '^\\d{4}$')``).

    The datatypes ``year`` (TSTRK1062) and ``partial_date_year`` (TS diabetes)
    were written for the same published check and share it."""
    values = _partial_values(d)
    return len(values) == 1 and _YEAR.fullmatch(string_value(values[0])) is not None


def _partial_date_day_ok(d) -> bool:
    """``tp:partialDate/tp:value`` is one ``xs:date`` written YYYY-MM-DD, without child elements."""
    values = _partial_values(d)
    return len(values) == 1 and is_date_value(values[0])


_XS_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _decimal_ok(d) -> bool:
    return not has_child_element(d) and _XS_DECIMAL.fullmatch(string_value(d).strip(XML_SPACE)) is not None


_VALUE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "text": _text_ok,
    "boolean": _boolean_ok,
    "date": is_date_value,
    "period": _period_ok,
    "cv": _cv_ok,
    "quantity": _quantity_ok,
    "partial_date": _partial_date_ok,
    "any": lambda d: True,
    "boolean_or_cv": lambda d: True,  # handled in the delsvar check itself
    "year": _year_ok,
    "partial_date_day": _partial_date_day_ok,
    "partial_date_year": _year_ok,
    "decimal": _decimal_ok,
}
_TYPE_MESSAGES = {
    "text": "Sträng kan inte vara tom.",
    "boolean": "Kan bara vara 'true/1' eller 'false/0'",
    "date": "Datumet måste uttryckas som YYYY-MM-DD.",
    "period": "'from' måste vara mindre än eller lika med 'to'",
    "cv": "Ett värde av typen CV måste ha ett cv-element med ett codeSystem och en code",
    "quantity": "Ett värde av typen PQ måste ha ett pq-element med ett value och en unit",
    "partial_date": "Partiellt datum måste uttryckas som YYYY-MM-DD (enbart 0:or är acceptabelt.",
    "any": "",
    "boolean_or_cv": "Värdet måste vara ett booleskt värde eller ett CV",
    "year": "Datumet måste uttryckas som YYYY.",
    "partial_date_day": "Datumet måste uttryckas som YYYY-MM-DD.",
    "partial_date_year": "Datumet måste uttryckas som YYYY.",
    "decimal": "Decimalvärde",
}
