"""Load the business rules of every certificate type, and keep them current.

Each type directory ``<types dir>/<id>/`` holds ``v<major>.toml`` (a data
definition, see FORMAT.md) or ``v<major>.sch`` (Schematron mode). The whole set
is loaded at once; :class:`RuleBook` re-reads it when a file changes and keeps
the previous set when the new one has an error, so a bad edit never takes a
running gateway down and never half-applies.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..reloadable import Reloadable
from .engine import CompiledDefinition, DefinitionError, compile_definition


class SchematronUnavailable(DefinitionError):
    pass


@dataclass(frozen=True)
class SchematronRules:
    """A type validated by running its ``.sch`` file (compiled once, cached)."""

    type_id: str
    major: str
    source: str

    def validate(self, intyg) -> list[str]:
        from .schematron import SchematronEvaluationError, SchematronValidator
        root = intyg.getparent() if intyg.getparent() is not None else intyg
        try:
            failures = SchematronValidator.from_file(self.source).validate(root)
        except SchematronEvaluationError as exc:
            # A rule that cannot be evaluated on this document rejects it, as the reference hub does.
            return [f"Schematron rules could not be evaluated: {exc}"]
        return [f"TEST: {f.test}, MSG: {f.raw_message}" for f in failures]

    def compile(self) -> None:
        from .schematron import SchematronError, SchematronValidator
        try:
            SchematronValidator.from_file(self.source)
        except SchematronError as exc:
            if "saxonche" in str(exc):
                raise SchematronUnavailable(f"{self.source}: Schematron mode needs saxonche: "
                                            "install intygsgw[schematron]") from None
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
        raise DefinitionError(f"{path}: declares type {compiled.type_id!r} major {compiled.major!r}, "
                              f"but its place says {expected_type!r} major {expected_major!r}")
    return compiled


def _rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*/v*") if p.suffix in (".toml", ".sch") and p.is_file())


def _rule_files_stamp(directory: str) -> tuple:
    """Changes when a rule file is added, removed or edited."""
    stamp = []
    for path in _rule_files(Path(directory)):
        try:
            stamp.append((str(path), os.stat(path).st_mtime_ns))
        except OSError:  # removed between listing and stat: the next check sees it gone
            pass
    return tuple(stamp)


def load_rules(directory: Path) -> dict[tuple[str, str], CompiledDefinition | SchematronRules]:
    """Every rule file under ``directory``, keyed by (type id, major version)."""
    rules: dict[tuple[str, str], CompiledDefinition | SchematronRules] = {}
    for path in _rule_files(directory):
        key = (path.parent.name, path.stem.removeprefix("v"))
        if key in rules:
            raise DefinitionError(f"{path}: {key[0]} v{key[1]} has both a data definition and a .sch file")
        if path.suffix == ".toml":
            rules[key] = load_definition(path)
        else:
            sch = SchematronRules(key[0], key[1], str(path))
            sch.compile()
            rules[key] = sch
    return rules


class RuleBook:
    """The type rules in force; callable as the service layer's ``type_rules``."""

    def __init__(self, directory: Path, check_every: float = 2.0,
                 loader: Callable[[Path], dict] = load_rules):
        self.directory = Path(directory)
        # A bad set at start is a start failure; later, a bad edit keeps the set in force.
        self._source = Reloadable(str(self.directory), lambda d: loader(Path(d)),
                                  check_every=check_every, stamp=_rule_files_stamp)

    @property
    def rules(self) -> dict:
        return self._source.current()

    @property
    def last_error(self) -> str | None:
        return self._source.last_error

    def __call__(self, type_id: str, version: str, document) -> list[str]:
        major = (version or "").strip().split(".", 1)[0]
        rules = self.rules.get((type_id, major))
        if rules is None or document is None:
            return []
        if isinstance(rules, SchematronRules):
            return rules.validate(document)
        return [str(f) for f in rules.validate(document)]
