"""Load every certificate type, catalogue entry and business rules, and keep them current.

The types folder holds ``<id>.toml`` per type (the catalogue entry, see
intygsgw.rules.catalog) and ``<id>/v<major>.toml`` (a data definition, see
FORMAT.md) or ``<id>/v<major>.sch`` (Schematron mode) per major version. Both
are loaded together as one :class:`TypeSet`, and a type version without rules
or rules without a type are errors, so a type is never served unvalidated.
:class:`TypeBook` re-reads the folder when a file in it changes and keeps the
previous set when the new one has an error, so a bad edit never takes a
running gateway down and never half-applies; adding a type needs two files
and no restart.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from xml.sax.saxutils import quoteattr

from lxml import etree

from intygsgw.config.reloadable import Reloadable
from intygsgw.domain.records import StoredDocument
from intygsgw.rules.catalog import CertificateType, SummaryFields, TypeCatalog, load_catalog
from intygsgw.rules.engine import Answers, CompiledDefinition, DefinitionError, compile_definition
from intygsgw.rules.sick_leave_fields import (
    SickLeaveAnswers,
    WorkCapacityAnswers,
    read_diagnoses,
    read_sick_leave,
    read_summary_value,
    read_work_capacity,
)

_F = TypeVar("_F")  # the fields a type names for one reading
_R = TypeVar("_R")

# Stored documents are the gateway's own, but are read as carefully as any other.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class SchematronUnavailable(DefinitionError):
    pass


@dataclass(frozen=True)
class SchematronRules:
    """A type validated by running its ``.sch`` file (compiled once, cached)."""

    type_id: str
    major: str
    source: str

    def validate(self, intyg) -> list[str]:
        from intygsgw.rules.schematron import SchematronEvaluationError, SchematronValidator

        root = intyg.getparent() if intyg.getparent() is not None else intyg
        try:
            failures = SchematronValidator.from_file(self.source).validate(root)
        except SchematronEvaluationError as exc:
            # A rule that cannot be evaluated on this document rejects it, as the reference hub does.
            return [f"Schematron rules could not be evaluated: {exc}"]
        return [f"TEST: {f.test}, MSG: {f.raw_message}" for f in failures]

    def compile(self) -> None:
        from intygsgw.rules.schematron import SchematronError, SchematronValidator

        try:
            SchematronValidator.from_file(self.source)
        except SchematronError as exc:
            if "saxonche" in str(exc):
                raise SchematronUnavailable(
                    f"{self.source}: Schematron mode needs saxonche: install intygsgw[schematron]"
                ) from None
            raise DefinitionError(f"{self.source}: {exc}") from None
        except Exception as exc:
            raise DefinitionError(f"{self.source}: {exc}") from None


def load_definition(path: Path) -> CompiledDefinition:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DefinitionError(f"{path}: {exc}") from None
    compiled = compile_definition(data, str(path))
    expected_type, expected_major = path.parent.name, path.stem.removeprefix("v")
    if compiled.type_id != expected_type or compiled.major != expected_major:
        raise DefinitionError(
            f"{path}: declares type {compiled.type_id!r} major {compiled.major!r}, "
            f"but its place says {expected_type!r} major {expected_major!r}"
        )
    compiled.published = load_published_texts(path.parent / f"published-v{compiled.major}.toml")
    return compiled


def load_published_texts(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(rule id, our message) -> (test, message) from a file intygsgw.devtools.published_texts wrote; {} without one."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return {(r["id"], r["ours"]): (r["test"], r["message"]) for r in data.get("rule", [])}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise DefinitionError(f"{path}: {exc!r}") from None


def _rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*/v*") if p.suffix in (".toml", ".sch") and p.is_file())


def _published_text_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*/published-v*.toml"))


def _type_files_stamp(directory: str) -> tuple:
    """Changes when a catalogue or rule file is added, removed or edited."""
    folder = Path(directory)
    stamp = []
    for path in sorted(folder.glob("*.toml")) + _rule_files(folder) + _published_text_files(folder):
        with contextlib.suppress(OSError):  # removed between listing and stat: the next check sees it gone
            stamp.append((str(path), os.stat(path).st_mtime_ns))
    return tuple(stamp)


def _load_rule_file(path: Path) -> CompiledDefinition | SchematronRules:
    if path.suffix == ".toml":
        return load_definition(path)
    sch = SchematronRules(path.parent.name, path.stem.removeprefix("v"), str(path))
    sch.compile()
    return sch


class CompiledFiles:
    """Rules files compiled before, by path and file identity, so that a reload compiles only
    the files that changed: with 200 types, compiling them all again takes over a second, in
    the request that notices the change."""

    def __init__(self) -> None:
        self._by_path: dict[str, tuple[tuple, CompiledDefinition | SchematronRules]] = {}

    def load(self, path: Path) -> CompiledDefinition | SchematronRules:
        st = os.stat(path)
        identity: tuple = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
        texts = path.parent / f"published-{path.stem}.toml"
        if texts.exists():  # the published texts are part of what a definition answers
            tt = os.stat(texts)
            identity += (tt.st_mtime_ns, tt.st_size, tt.st_ino)
        known = self._by_path.get(str(path))
        if known is not None and known[0] == identity:
            return known[1]
        compiled = _load_rule_file(path)
        self._by_path[str(path)] = (identity, compiled)
        return compiled

    def keep_only(self, paths: list[Path]) -> None:
        """Forget removed files."""
        wanted = {str(p) for p in paths}
        for gone in set(self._by_path) - wanted:
            del self._by_path[gone]


def load_rules(
    directory: Path, compiled: CompiledFiles | None = None
) -> dict[tuple[str, str], CompiledDefinition | SchematronRules]:
    """Every rule file under ``directory``, keyed by (type id, major version)."""
    rules: dict[tuple[str, str], CompiledDefinition | SchematronRules] = {}
    paths = _rule_files(directory)
    for path in paths:
        key = (path.parent.name, path.stem.removeprefix("v"))
        if key in rules:
            raise DefinitionError(f"{path}: {key[0]} v{key[1]} has both a data definition and a .sch file")
        rules[key] = compiled.load(path) if compiled is not None else _load_rule_file(path)
    if compiled is not None:
        compiled.keep_only(paths)
    return rules


@dataclass(frozen=True)
class TypeSet:
    """The certificate types in force: the catalogue and the rules of each type version."""

    catalog: TypeCatalog
    rules: dict[tuple[str, str], CompiledDefinition | SchematronRules]

    @staticmethod
    def index(document) -> Answers | None:
        """``document``'s (the ``intyg``'s) answers found once, for :meth:`check` and
        :meth:`sick_leave_answers` of the same document to share: each would otherwise walk it."""
        return None if document is None else Answers(document)

    def check(self, type_id: str, version: str, document, index: Answers | None = None) -> list[str]:
        """The business-rule failures of ``document`` (the ``intyg``) as texts; empty passes.

        ``index``: :meth:`index` of ``document``, if the caller has it."""
        major = (version or "").strip().split(".", 1)[0]
        rules = self.rules.get((type_id, major))
        if rules is None or document is None:
            return []
        if isinstance(rules, SchematronRules):
            return rules.validate(document)
        return [rules.refusal_text(f) for f in rules.validate(document, index)]

    def sick_leave_answers(self, type_id: str, document, index: Answers | None = None) -> SickLeaveAnswers | None:
        """What the sick-leave lists show of ``document`` (the ``intyg``); None when its type feeds none
        or the certificate is left out of them. ``index``: :meth:`index` of ``document``, if the caller has it."""
        ctype = self.catalog.by_id(type_id)
        if ctype is None or ctype.sick_leave_data is None or document is None:
            return None
        return read_sick_leave(document, ctype.sick_leave_data, index)

    def diagnoses(self, type_id: str, stored: StoredDocument) -> tuple[str, ...] | None:
        """The diagnosis codes of a stored certificate (its RegisterCertificate element), the main one
        first; None when its type names no diagnoses or the document cannot be read."""
        return self._read_stored(type_id, stored, lambda t: t.diagnosis_fields, read_diagnoses)

    def work_capacity(self, type_id: str, stored: StoredDocument) -> WorkCapacityAnswers | None:
        """The work capacity and occupations of a stored certificate to the employer; None when its type
        names none (``[work_capacity_data]``) or the document cannot be read."""
        return self._read_stored(type_id, stored, lambda t: t.work_capacity_data, read_work_capacity)

    def summary_value(self, type_id: str, stored: StoredDocument) -> str | None:
        """The value of the summary Mina intyg shows of a stored certificate (its type's ``[summary]``);
        None when its type gives none or the document cannot be read."""

        def reading(t: CertificateType) -> SummaryFields | None:
            return t.summary if t.summary is not None and t.summary.reads_document else None

        return self._read_stored(type_id, stored, reading, read_summary_value)

    def _read_stored(
        self,
        type_id: str,
        stored: StoredDocument,
        fields_of: Callable[[CertificateType], _F | None],
        read: Callable[[etree._Element, _F], _R | None],
    ) -> _R | None:
        """``read`` of the stored certificate's intyg with the fields its type names (``fields_of``);
        None when the type names none or the document cannot be read."""
        ctype = self.catalog.by_id(type_id)
        fields = fields_of(ctype) if ctype is not None else None
        if fields is None:
            return None
        intyg = _stored_intyg(stored)
        return read(intyg, fields) if intyg is not None else None


def _stored_intyg(stored: StoredDocument):
    """The ``intyg`` of a stored RegisterCertificate (or intyg) element; None when it cannot be read."""
    # The element was stored as received: the namespaces it inherited are declared around it.
    declared = "".join(
        f" xmlns:{prefix}={quoteattr(uri)}" if prefix else f" xmlns={quoteattr(uri)}"
        for prefix, uri in sorted(stored.namespaces.items())
    )
    try:
        root = etree.fromstring(f"<stored{declared}>".encode() + stored.document + b"</stored>", _PARSER)
    except etree.XMLSyntaxError:
        return None
    if not len(root):
        return None
    element = root[0]
    return element if etree.QName(element).localname == "intyg" else element.find("{*}intyg")


def load_types(directory: Path, compiled: CompiledFiles | None = None) -> TypeSet:
    """The catalogue and rules under ``directory``, checked against each other."""
    catalog = load_catalog(directory)
    rules = load_rules(directory, compiled)
    for ctype in catalog:
        for major in sorted(ctype.majors):
            if (ctype.id, major) not in rules:
                raise DefinitionError(
                    f"{directory / ctype.source}: version {major}.x of {ctype.id!r} has no rules; "
                    f"add {ctype.id}/v{major}.toml or {ctype.id}/v{major}.sch"
                )
    for type_id, major in rules:
        ctype = catalog.by_id(type_id)
        if ctype is None:
            raise DefinitionError(
                f"{directory / type_id}/v{major}: no catalogue entry for type {type_id!r}; add {type_id}.toml"
            )
        if major not in ctype.majors:
            raise DefinitionError(
                f"{directory / type_id}/v{major}: {ctype.source} accepts no version {major}.x of {type_id!r}"
            )
    return TypeSet(catalog, rules)


class TypeBook:
    """The certificate types in force, re-read when the folder changes."""

    def __init__(self, directory: Path, check_every: float = 2.0, on_reload: Callable[[bool], None] | None = None):
        self.directory = Path(directory)
        compiled = CompiledFiles()
        # A bad set at start is a start failure; later, a bad edit keeps the set in force.
        self._source = Reloadable(
            str(self.directory),
            lambda d: load_types(Path(d), compiled),
            check_every=check_every,
            stamp=_type_files_stamp,
            on_reload=on_reload,
        )

    def current(self) -> TypeSet:
        """One consistent set: read it once per request, then ask it everything."""
        return self._source.current()

    @property
    def last_error(self) -> str | None:
        return self._source.last_error
