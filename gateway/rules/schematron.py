"""Run ISO Schematron rules (query binding ``xslt2``/``xslt3``) from Python.

The published per-type rules use XPath 2.0, so neither ``lxml.isoschematron``
(XSLT 1.0) nor a pure-Python engine can run them at a usable speed. We
translate each ``.sch`` file into an XSLT 3.0 stylesheet ourselves, with lxml,
compile it once with Saxon (``saxonche``) and keep the compiled executable.

Supported Schematron:

* ``sch:ns``; the ``xs`` prefix is also available when the schema does not
  bind it, because the published rules rely on that.
* ``sch:pattern``, including abstract patterns instantiated with ``is-a`` and
  ``sch:param`` (parameters are substituted into attribute values, as ISO
  describes it).
* ``sch:rule`` with ``context``; abstract rules (in patterns or in
  ``sch:rules``) pulled in by ``sch:extends rule=...``, recursively.
* ``sch:assert`` and ``sch:report``, with ``id``, ``subject`` and
  ``diagnostics``; ``sch:diagnostics``/``sch:diagnostic``.
* ``sch:let`` at schema, phase, pattern and rule level (``value`` or element
  content, optional ``as``). As in the ISO reference implementation, lets
  outside rules become global variables evaluated against the document
  root: the published rules use pattern-level variables inside rule
  contexts, which only a global variable can serve. Two such lets with the
  same name in one schema are therefore rejected.
* ``sch:value-of``, ``sch:name``, ``sch:emph``/``sch:dir``/``sch:span`` in
  messages; comments inside messages are not part of the text.
* ``sch:phase``/``sch:active`` (``defaultPhase`` or an explicit phase).
* Top-level ``xsl:key`` and ``xsl:function`` are copied into the stylesheet.

Anything else in the Schematron namespace (``sch:include``, external
``extends href=``, ``sch:properties``...) raises :class:`SchematronSyntaxError`
rather than being skipped, because a silently ignored rule would make the
oracle lie.

Rule firing follows ISO: every pattern gets its own XSLT mode, its rules
become templates in that mode with descending priorities, so a node is
handled by the first rule of the pattern whose context matches it and by no
other. When every rule context in a pattern ends in a plain element name
test (the usual ``//gn:svar[...]``), the pattern is applied only to the
elements with those names instead of walking the whole tree once per pattern;
a node with another name cannot match any rule of the pattern, so the result
is the same and validation is several times faster.

Saxon and threads (saxonche 13.1):

* The library wraps one GraalVM runtime per process. Create the
  ``PySaxonProcessor`` once and never use it as a context manager: leaving
  the ``with`` block tears the runtime down and later processors fail. This
  module keeps a single lazily created processor.
* A compiled ``PyXsltExecutable`` is documented as not thread-safe and must
  be cloned for each thread; :class:`SchematronValidator` keeps one clone
  per thread. Compiling is rare and is serialised under a lock.
* The calls hold the GIL, so threads add safety, not throughput; use
  processes to validate in parallel.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from intygsgw.errors import GatewayError

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
XS_NS = "http://www.w3.org/2001/XMLSchema"
ERR_NS = "http://www.w3.org/2005/xqt-errors"
# Names the generated stylesheet needs for itself live in a namespace of their
# own so that they can never collide with a variable the schema declares.
INTERNAL_NS = "urn:intygsgw:schematron:internal"

SUPPORTED_QUERY_BINDINGS = frozenset({"xslt2", "xslt3"})

ASSERT = "assert"
REPORT = "report"
ERROR = "error"


class SchematronError(GatewayError):
    """Base class for everything this module raises on purpose."""


class SchematronSyntaxError(SchematronError):
    """The schema is malformed or uses a construct the translator lacks."""


class SchematronCompileError(SchematronError):
    """Saxon rejected the stylesheet generated from a schema."""


class SchematronEvaluationError(SchematronError):
    """The transformation stopped before all rules had been evaluated."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One finding of a validation run.

    ``kind`` is ``"assert"`` for an assertion that did not hold, ``"report"``
    for a report whose test held, and ``"error"`` when the test itself could
    not be evaluated (for example ``xs:date()`` of a malformed date); the
    last is a rejection too, since the rule could not be shown to hold.

    ``rule_id`` is the id of the rule the assertion is written in: for an
    assertion inherited through ``sch:extends`` that is the abstract rule
    (``cv``, ``date``...), while ``context`` is always the context of the
    rule that fired. ``message`` has its whitespace normalised;
    ``raw_message`` is the text exactly as the schema spells it, which is
    what the reference hub puts into its result text. An error raised by a
    rule's variables rather than by one test has an empty ``test``.
    """

    kind: str
    pattern_id: str | None
    rule_id: str | None
    context: str
    test: str
    message: str
    location: str | None
    assertion_id: str | None = None
    diagnostics: tuple[str, ...] = ()
    raw_message: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Check:
    """What Python knows about one emitted assert or report.

    The stylesheet reports a finding by the check's index, so the static
    parts of a finding never travel through the serializer.
    """

    index: int
    kind: str
    pattern_id: str | None
    rule_id: str | None
    context: str
    test: str
    assertion_id: str | None
    static_message: str | None


@dataclass(frozen=True)
class Translation:
    """A schema translated to XSLT, plus the metadata needed to read results."""

    source: str
    stylesheet: str
    checks: tuple[Check, ...]
    namespaces: dict[str, str]
    pattern_ids: tuple[str | None, ...]
    walked_pattern_ids: tuple[str | None, ...]


def translate(
    schema: str | os.PathLike[str] | etree._Element | etree._ElementTree,
    *,
    phase: str | None = None,
    full_walk: bool = False,
) -> Translation:
    """Translate an ISO Schematron schema into an XSLT 3.0 stylesheet.

    ``full_walk`` turns off candidate selection, so every pattern visits
    every node as a plain ISO implementation does; it exists to prove that
    the shortcut changes nothing.
    """
    if isinstance(schema, (str, os.PathLike)):
        source = os.fspath(schema)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.parse(source, parser).getroot()
    else:
        root = schema.getroot() if isinstance(schema, etree._ElementTree) else schema
        source = root.getroottree().docinfo.URL or "<schema>"
    return _Translator(root, source, phase, full_walk).translate()


# --------------------------------------------------------------------------
# Translation
# --------------------------------------------------------------------------

_NCNAME = r"[^\W\d][\w.\-]*"
_QNAME = rf"(?:{_NCNAME}:)?{_NCNAME}"
_NAME_STEP = rf"(?:child::)?{_QNAME}"
_NAME_PATH = re.compile(rf"^(?://?)?{_NAME_STEP}(?://?{_NAME_STEP})*$")
_LAST_NAME = re.compile(rf"({_QNAME})$")


def _strip_predicates(expression: str) -> str | None:
    """Return the pattern without its predicates, or None if unsure.

    Parentheses and braces outside predicates mean function calls, grouping
    or ``Q{}`` names, which the candidate analysis does not try to read.
    """
    out: list[str] = []
    depth = 0
    quote: str | None = None
    for char in expression:
        if quote:
            if char == quote:
                quote = None
            if depth == 0:
                out.append(char)
            continue
        if char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
            continue
        elif char == "]":
            depth -= 1
            if depth < 0:
                return None
            continue
        elif depth == 0 and char in "(){}":
            return None
        if depth == 0:
            out.append(char)
    if depth or quote:
        return None
    return "".join(out)


def _element_names(context: str) -> set[str] | None:
    """The element names a rule context can match, or None if not only names."""
    skeleton = _strip_predicates(context)
    if skeleton is None:
        return None
    names: set[str] = set()
    for branch in skeleton.split("|"):
        branch = re.sub(r"\s+", "", branch)
        if not _NAME_PATH.match(branch):
            return None
        names.add(_LAST_NAME.search(branch).group(1))
    return names


def _xpath_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _free_prefix(preferred: str, taken: dict[str, str], uri: str) -> str:
    if taken.get(preferred) == uri:
        return preferred
    candidate, counter = preferred, 0
    while candidate in taken:
        counter += 1
        candidate = f"{preferred}{counter}"
    return candidate


def _sch_children(element: etree._Element) -> Iterator[tuple[str | None, etree._Element]]:
    """Element children as (local name if in the Schematron namespace, element)."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        yield (qname.localname if qname.namespace == SCH_NS else None), child


@dataclass
class _Pattern:
    id: str | None
    element: etree._Element


class _Translator:
    def __init__(self, root: etree._Element, source: str, phase: str | None, full_walk: bool) -> None:
        self.root = root
        self.source = source
        self.phase = phase
        self.full_walk = full_walk
        self.namespaces: dict[str, str] = {}
        self.abstract_rules: dict[str, etree._Element] = {}
        self.diagnostics: dict[str, etree._Element] = {}
        self.checks: list[Check] = []

    def fail(self, element: etree._Element, problem: str) -> SchematronSyntaxError:
        return SchematronSyntaxError(f"{self.source}:{element.sourceline}: {problem}")

    # -- schema level ------------------------------------------------------

    def translate(self) -> Translation:
        root = self.root
        if root.tag != f"{{{SCH_NS}}}schema":
            raise self.fail(root, f"root element is {root.tag}, not sch:schema")
        binding = (root.get("queryBinding") or "xslt").strip().lower()
        if binding not in SUPPORTED_QUERY_BINDINGS:
            raise self.fail(
                root,
                f"queryBinding {binding!r} is not supported (supported: {', '.join(sorted(SUPPORTED_QUERY_BINDINGS))})",
            )

        schema_lets: list[etree._Element] = []
        patterns: list[etree._Element] = []
        phases: dict[str, etree._Element] = {}
        xslt_declarations: list[etree._Element] = []
        for name, child in _sch_children(root):
            if name == "ns":
                self._declare_namespace(child)
            elif name == "let":
                schema_lets.append(child)
            elif name == "pattern":
                patterns.append(child)
            elif name == "phase":
                phases[child.get("id", "")] = child
            elif name == "diagnostics":
                for diag_name, diagnostic in _sch_children(child):
                    if diag_name != "diagnostic":
                        raise self.fail(diagnostic, f"unexpected {diagnostic.tag} in sch:diagnostics")
                    self.diagnostics[diagnostic.get("id", "")] = diagnostic
            elif name == "rules":
                for rule_name, rule in _sch_children(child):
                    if rule_name == "rule":
                        self._register_abstract_rule(rule)
            elif name in ("title", "p"):
                pass
            elif name is not None:
                raise self.fail(child, f"sch:{name} is not supported at schema level")
            elif etree.QName(child).namespace == XSL_NS:
                if etree.QName(child).localname not in ("key", "function"):
                    raise self.fail(child, f"top-level {child.tag} is not supported")
                xslt_declarations.append(child)

        concrete = self._instantiate_patterns(patterns)
        for pattern in concrete:
            for name, rule in _sch_children(pattern.element):
                if name == "rule" and rule.get("abstract") == "true":
                    self._register_abstract_rule(rule)
        concrete, phase_lets = self._select_phase(concrete, phases)

        return self._build(concrete, schema_lets + phase_lets, xslt_declarations)

    def _declare_namespace(self, element: etree._Element) -> None:
        prefix, uri = element.get("prefix"), element.get("uri")
        if not prefix or uri is None or not re.fullmatch(_NCNAME, prefix):
            raise self.fail(element, "sch:ns needs a valid prefix and a uri")
        if self.namespaces.get(prefix, uri) != uri:
            raise self.fail(element, f"prefix {prefix!r} is bound twice to different namespaces")
        self.namespaces[prefix] = uri

    def _register_abstract_rule(self, rule: etree._Element) -> None:
        rule_id = rule.get("id")
        if rule.get("abstract") != "true" or not rule_id:
            raise self.fail(rule, "only abstract rules with an id may be declared here")
        if rule_id in self.abstract_rules and self.abstract_rules[rule_id] is not rule:
            raise self.fail(rule, f"abstract rule id {rule_id!r} is declared twice")
        self.abstract_rules[rule_id] = rule

    def _instantiate_patterns(self, patterns: list[etree._Element]) -> list[_Pattern]:
        abstract = {p.get("id"): p for p in patterns if p.get("abstract") == "true"}
        concrete: list[_Pattern] = []
        for pattern in patterns:
            if pattern.get("abstract") == "true":
                continue
            if "documents" in pattern.attrib:
                raise self.fail(pattern, "sch:pattern/@documents is not supported")
            base = pattern.get("is-a")
            if base is None:
                concrete.append(_Pattern(pattern.get("id"), pattern))
                continue
            if base not in abstract:
                raise self.fail(pattern, f"is-a refers to unknown abstract pattern {base!r}")
            params = {}
            for name, param in _sch_children(pattern):
                if name == "param":
                    params[param.get("name")] = param.get("value", "")
                elif name not in ("title", "p"):
                    raise self.fail(param, "an is-a pattern may only contain sch:param")
            concrete.append(_Pattern(pattern.get("id"), self._substitute(abstract[base], params)))
        return concrete

    def _substitute(self, abstract: etree._Element, params: dict[str, str]) -> etree._Element:
        instance = copy.deepcopy(abstract)
        if not params:
            return instance
        names = sorted(params, key=len, reverse=True)
        reference = re.compile(r"\$(" + "|".join(map(re.escape, names)) + r")(?![\w.\-])")
        for element in instance.iter():
            if not isinstance(element.tag, str):
                continue
            for key, value in element.attrib.items():
                if key != "id" and "$" in value:
                    element.set(key, reference.sub(lambda m: params[m.group(1)], value))
        return instance

    def _select_phase(
        self, patterns: list[_Pattern], phases: dict[str, etree._Element]
    ) -> tuple[list[_Pattern], list[etree._Element]]:
        phase = self.phase or self.root.get("defaultPhase") or "#ALL"
        if phase == "#ALL":
            return patterns, []
        if phase not in phases:
            raise SchematronSyntaxError(f"{self.source}: no phase {phase!r}")
        active: set[str] = set()
        lets: list[etree._Element] = []
        for name, child in _sch_children(phases[phase]):
            if name == "active":
                active.add(child.get("pattern", ""))
            elif name == "let":
                lets.append(child)
        return [p for p in patterns if p.id in active], lets

    # -- stylesheet ---------------------------------------------------------

    def _build(
        self, patterns: list[_Pattern], global_lets: list[etree._Element], xslt_declarations: list[etree._Element]
    ) -> Translation:
        nsmap = dict(self.namespaces)
        if "xs" not in nsmap:
            nsmap["xs"] = XS_NS
        self.xsl = _free_prefix("xsl", nsmap, XSL_NS)
        nsmap[self.xsl] = XSL_NS
        self.err = _free_prefix("err", nsmap, ERR_NS)
        nsmap[self.err] = ERR_NS
        self.internal = _free_prefix("intygsgw", nsmap, INTERNAL_NS)
        nsmap[self.internal] = INTERNAL_NS

        stylesheet = etree.Element(self._x("stylesheet"), nsmap=nsmap, version="3.0")
        stylesheet.set("exclude-result-prefixes", "#all")
        etree.SubElement(stylesheet, self._x("output"), method="json", indent="no")
        for declaration in xslt_declarations:
            stylesheet.append(copy.deepcopy(declaration))
        global_names: dict[str, etree._Element] = {}
        pattern_lets = [let for pattern in patterns for let in self._pattern_parts(pattern)[1]]
        for let in global_lets + pattern_lets:
            name = let.get("name")
            if name in global_names:
                raise self.fail(
                    let,
                    f"variable {name!r} is also declared on line "
                    f"{global_names[name].sourceline}; "
                    "lets outside rules share one scope",
                )
            global_names[name] = let
            self._emit_let(stylesheet, let)

        entry = etree.SubElement(stylesheet, self._x("template"), match="/")
        results = f"{self.internal}:findings"
        collect = etree.SubElement(entry, self._x("variable"), name=results)
        collect.set("as", "array(*)*")
        etree.SubElement(entry, self._x("sequence"), select=f"array{{${results}}}")

        pattern_ids: list[str | None] = []
        walked: list[str | None] = []
        # Most patterns select the same few element names; scanning the tree
        # once per distinct selection instead of once per pattern saves about
        # a quarter of the run time on the published rules.
        candidate_sets: dict[str, str] = {}
        for number, pattern in enumerate(patterns):
            rules, _ = self._pattern_parts(pattern)
            if not rules:
                continue
            mode = f"{self.internal}:p{number}"
            candidates = None if self.full_walk else self._candidates(rules)
            pattern_ids.append(pattern.id)
            if candidates is None:
                walked.append(pattern.id)
                etree.SubElement(stylesheet, self._x("mode"), name=mode, **{"on-no-match": "shallow-skip"})
                etree.SubElement(collect, self._x("apply-templates"), select=".", mode=mode)
            else:
                etree.SubElement(stylesheet, self._x("mode"), name=mode, **{"on-no-match": "deep-skip"})
                if candidates not in candidate_sets:
                    candidate_sets[candidates] = f"{self.internal}:candidates{len(candidate_sets)}"
                    cached = etree.Element(self._x("variable"), name=candidate_sets[candidates], select=candidates)
                    collect.addprevious(cached)
                etree.SubElement(
                    collect, self._x("apply-templates"), select=f"${candidate_sets[candidates]}", mode=mode
                )
            for position, rule in enumerate(rules):
                self._emit_rule(
                    stylesheet, pattern, rule, mode, priority=len(rules) - position, descend=candidates is None
                )

        return Translation(
            source=self.source,
            stylesheet=etree.tostring(stylesheet, encoding="unicode"),
            checks=tuple(self.checks),
            namespaces=dict(self.namespaces),
            pattern_ids=tuple(pattern_ids),
            walked_pattern_ids=tuple(walked),
        )

    def _x(self, local: str) -> str:
        return f"{{{XSL_NS}}}{local}"

    def _pattern_parts(self, pattern: _Pattern) -> tuple[list[etree._Element], list[etree._Element]]:
        rules: list[etree._Element] = []
        lets: list[etree._Element] = []
        for name, child in _sch_children(pattern.element):
            if name == "rule":
                if child.get("abstract") == "true":
                    continue
                if not child.get("context"):
                    raise self.fail(child, "a rule that is not abstract needs a context")
                rules.append(child)
            elif name == "let":
                lets.append(child)
            elif name in ("title", "p", "param"):
                pass
            elif name is not None:
                raise self.fail(child, f"sch:{name} is not supported in sch:pattern")
        return rules, lets

    def _candidates(self, rules: list[etree._Element]) -> str | None:
        """An expression selecting every node any rule could match, if known."""
        names: set[str] = set()
        for rule in rules:
            rule_names = _element_names(rule.get("context", ""))
            if rule_names is None:
                return None
            names |= rule_names
        for name in names:
            prefix = name.partition(":")[0] if ":" in name else None
            if prefix is not None and prefix not in self.namespaces and prefix != "xs":
                raise SchematronSyntaxError(f"{self.source}: undeclared prefix {prefix!r} in a rule context")
        ordered = sorted(names)
        return "//" + (ordered[0] if len(ordered) == 1 else "(" + " | ".join(ordered) + ")")

    def _emit_let(self, parent: etree._Element, let: etree._Element) -> None:
        name = let.get("name")
        if not name:
            raise self.fail(let, "sch:let needs a name")
        variable = etree.SubElement(parent, self._x("variable"), name=name)
        if let.get("as"):
            variable.set("as", let.get("as"))
        value = let.get("value")
        if value is not None:
            variable.set("select", value)
            return
        variable.text = let.text
        for child in let:
            variable.append(copy.deepcopy(child))

    def _emit_rule(
        self,
        stylesheet: etree._Element,
        pattern: _Pattern,
        rule: etree._Element,
        mode: str,
        priority: int,
        *,
        descend: bool,
    ) -> None:
        template = etree.SubElement(
            stylesheet, self._x("template"), match=rule.get("context"), mode=mode, priority=str(priority)
        )
        # Saxon may evaluate a rule's variables eagerly, outside the try
        # around each check; this outer try keeps such an error to one
        # finding for the rule instead of aborting the whole validation.
        body = etree.SubElement(template, self._x("try"))
        for item, owner in self._rule_items(rule, seen=()):
            name = etree.QName(item).localname
            if name == "let":
                self._emit_let(body, item)
            else:
                self._emit_check(body, pattern, rule, owner, item, name)
        rule_error = self._add_check(ERROR, pattern, rule, owner=rule, test="", assertion_id=None, static_message=None)
        self._emit_catch(body, rule_error)
        if descend:
            etree.SubElement(template, self._x("apply-templates"), select="@*|node()", mode="#current")

    def _rule_items(
        self, rule: etree._Element, seen: tuple[str, ...]
    ) -> Iterator[tuple[etree._Element, etree._Element]]:
        """Lets and checks of a rule in document order, with extends expanded.

        Each item comes with the rule element it is written in.
        """
        for name, child in _sch_children(rule):
            if name in ("let", "assert", "report"):
                yield child, rule
            elif name == "extends":
                if child.get("href") is not None:
                    raise self.fail(child, "sch:extends with href is not supported")
                target_id = child.get("rule")
                target = self.abstract_rules.get(target_id or "")
                if target is None:
                    raise self.fail(child, f"sch:extends refers to unknown abstract rule {target_id!r}")
                if target_id in seen:
                    raise self.fail(child, f"abstract rule {target_id!r} extends itself")
                yield from self._rule_items(target, (*seen, target_id))
            elif name in ("title", "p"):
                pass
            elif name is not None:
                raise self.fail(child, f"sch:{name} is not supported in sch:rule")
            elif etree.QName(child).namespace == XSL_NS:
                raise self.fail(child, f"{child.tag} inside a rule is not supported")

    def _emit_check(
        self,
        template: etree._Element,
        pattern: _Pattern,
        rule: etree._Element,
        owner: etree._Element,
        check: etree._Element,
        kind: str,
    ) -> None:
        test = check.get("test")
        if test is None:
            raise self.fail(check, f"sch:{kind} needs a test")
        parts = self._message_parts(check)
        static = None
        if all(part_kind == "text" for part_kind, _ in parts):
            static = "".join(value for _, value in parts)
        index = self._add_check(kind, pattern, rule, owner, test, check.get("id"), static)

        message = "()" if static is not None else self._message_expression(parts)
        diagnostics = []
        for reference in (check.get("diagnostics") or "").split():
            diagnostic = self.diagnostics.get(reference)
            if diagnostic is None:
                raise self.fail(check, f"unknown diagnostic {reference!r}")
            diagnostics.append(self._message_expression(self._message_parts(diagnostic)))
        subject = check.get("subject") or rule.get("subject")
        location = "path()" if subject is None else f"((({subject})[1] treat as node()?), .)[1] ! path()"

        attempt = etree.SubElement(template, self._x("try"))
        finding = f"[{index}, 0, {message}, {location}, [{', '.join(diagnostics)}]]"
        if kind == ASSERT:
            choose = etree.SubElement(attempt, self._x("choose"))
            etree.SubElement(choose, self._x("when"), test=test)
            target = etree.SubElement(choose, self._x("otherwise"))
        else:
            target = etree.SubElement(attempt, self._x("if"), test=test)
        etree.SubElement(target, self._x("sequence"), select=finding)
        self._emit_catch(attempt, index)

    def _add_check(
        self,
        kind: str,
        pattern: _Pattern,
        rule: etree._Element,
        owner: etree._Element,
        test: str,
        assertion_id: str | None,
        static_message: str | None,
    ) -> int:
        index = len(self.checks)
        self.checks.append(
            Check(
                index=index,
                kind=kind,
                pattern_id=pattern.id,
                rule_id=owner.get("id"),
                context=rule.get("context"),
                test=test,
                assertion_id=assertion_id,
                static_message=static_message,
            )
        )
        return index

    def _emit_catch(self, attempt: etree._Element, index: int) -> None:
        catch = etree.SubElement(attempt, self._x("catch"))
        etree.SubElement(
            catch,
            self._x("sequence"),
            select=(f"[{index}, 1, string(${self.err}:code) || ': ' || ${self.err}:description, path(), []]"),
        )

    def _message_parts(self, element: etree._Element) -> list[tuple[str, str]]:
        parts: list[tuple[str, str]] = []

        def walk(node: etree._Element) -> None:
            if node.text:
                parts.append(("text", node.text))
            for child in node:
                if isinstance(child.tag, str):
                    qname = etree.QName(child)
                    if qname.namespace == SCH_NS:
                        if qname.localname == "value-of":
                            if not child.get("select"):
                                raise self.fail(child, "sch:value-of needs a select")
                            parts.append(("value-of", child.get("select")))
                        elif qname.localname == "name":
                            parts.append(("name", child.get("path") or ""))
                        elif qname.localname in ("emph", "dir", "span"):
                            walk(child)
                        else:
                            raise self.fail(child, f"sch:{qname.localname} is not supported in a message")
                    else:
                        walk(child)
                if child.tail:
                    parts.append(("text", child.tail))

        walk(element)
        return parts

    def _message_expression(self, parts: list[tuple[str, str]]) -> str:
        pieces = []
        for kind, value in parts:
            if kind == "text":
                pieces.append(_xpath_string(value))
            elif kind == "value-of":
                pieces.append(f"string-join(({value}) ! string(), ' ')")
            elif value:
                pieces.append(f"string-join(({value}) ! name(), ' ')")
            else:
                pieces.append("name()")
        if not pieces:
            return "''"
        return f"string-join(({', '.join(pieces)}), '')"


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

_saxon_lock = threading.RLock()
_saxon_module: Any = None
_saxon_processor: Any = None


def _processor() -> Any:
    global _saxon_module, _saxon_processor
    with _saxon_lock:
        if _saxon_processor is None:
            try:
                _saxon_module = importlib.import_module("saxonche")
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise SchematronError("running Schematron rules needs the saxonche package") from exc
            _saxon_processor = _saxon_module.PySaxonProcessor(license=False)
        return _saxon_processor


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str | None], tuple[int, SchematronValidator]] = {}
_EQNAME = re.compile(r"Q\{([^}]*)\}")

Document = bytes | bytearray | memoryview | etree._Element | etree._ElementTree


class SchematronValidator:
    """A compiled schema, ready to validate documents from any thread."""

    def __init__(self, translation: Translation) -> None:
        self.translation = translation
        processor = _processor()
        with _saxon_lock:
            compiler = processor.new_xslt30_processor()
            try:
                self._executable = compiler.compile_stylesheet(stylesheet_text=translation.stylesheet, encoding="UTF-8")
            except _saxon_module.PySaxonApiError as exc:
                raise SchematronCompileError(f"{translation.source}: {exc}") from exc
        if self._executable is None:  # pragma: no cover - older saxonche returned None
            raise SchematronCompileError(f"{translation.source}: Saxon returned no executable")
        self._per_thread = threading.local()
        self._prefixes: dict[str, str] = {}
        for prefix, uri in translation.namespaces.items():
            self._prefixes.setdefault(uri, prefix)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, phase: str | None = None) -> SchematronValidator:
        """The validator for a ``.sch`` file, compiled once per path and mtime."""
        resolved = os.path.realpath(path)
        mtime = os.stat(resolved).st_mtime_ns
        key = (resolved, phase)
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None and cached[0] == mtime:
                return cached[1]
            validator = cls(translate(Path(resolved), phase=phase))
            _cache[key] = (mtime, validator)
            return validator

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.translation.checks

    def validate(self, document: Document) -> list[Failure]:
        """Run every active pattern over ``document``.

        ``document`` is the ``RegisterCertificate`` element (or its
        serialized bytes, which are parsed without DTDs or entities); the
        rules address ``//rg:intyg`` and its descendants. Findings come in
        pattern order and, within a pattern, in document order.
        """
        text = self._serialize(document)
        executable, builder = self._thread_tools()
        try:
            node = builder.parse_xml(xml_text=text, encoding="UTF-8")
            output = executable.transform_to_string(xdm_node=node)
        except _saxon_module.PySaxonApiError as exc:
            raise SchematronEvaluationError(f"{self.translation.source}: {exc}") from exc
        if output is None:  # pragma: no cover - older saxonche signalled errors this way
            raise SchematronEvaluationError(f"{self.translation.source}: transformation failed")
        return [self._failure(record) for record in json.loads(output)]

    def _thread_tools(self) -> tuple[Any, Any]:
        tools = getattr(self._per_thread, "tools", None)
        if tools is None:
            with _saxon_lock:
                tools = (self._executable.clone(), _processor().new_document_builder())
            self._per_thread.tools = tools
        return tools

    @staticmethod
    def _serialize(document: Document) -> str:
        if isinstance(document, (bytes, bytearray, memoryview)):
            tree = etree.ElementTree(etree.fromstring(bytes(document), _safe_parser()))
            if tree.docinfo.doctype:
                raise ValueError("documents with a DOCTYPE are not accepted")
            element = tree.getroot()
        elif isinstance(document, etree._ElementTree):
            element = document.getroot()
        elif isinstance(document, etree._Element):
            element = document
        else:
            raise TypeError(f"cannot validate a {type(document).__name__}")
        return etree.tostring(element, encoding="unicode", with_tail=False)

    def _failure(self, record: list[Any]) -> Failure:
        index, flag, text, location, diagnostics = record
        check = self.translation.checks[index]
        if flag:
            kind, raw = ERROR, text
        else:
            kind = check.kind
            raw = check.static_message if text is None else text
        return Failure(
            kind=kind,
            pattern_id=check.pattern_id,
            rule_id=check.rule_id,
            context=check.context,
            test=check.test,
            message=_normalize_space(raw),
            location=self._readable_path(location),
            assertion_id=check.assertion_id,
            diagnostics=tuple(_normalize_space(d) for d in diagnostics),
            raw_message=raw,
        )

    def _readable_path(self, path: str | None) -> str | None:
        if not path:
            return path

        def prefixed(match: re.Match[str]) -> str:
            uri = match.group(1)
            if not uri:
                return ""
            prefix = self._prefixes.get(uri)
            return f"{prefix}:" if prefix else match.group(0)

        return _EQNAME.sub(prefixed, path)


def _normalize_space(text: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", text).strip(" ")


def format_result_text(failures: list[Failure]) -> str:
    """The hub's resultText for Schematron failures.

    Each finding reads ``TEST: <test>, MSG: <message>`` with the message as
    the schema spells it (not trimmed), and findings are joined with ``;``.
    """
    return ";".join(f"TEST: {f.test}, MSG: {f.raw_message}" for f in failures)
