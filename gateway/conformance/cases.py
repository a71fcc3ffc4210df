"""Conformance cases as data: loading the TOML files and filling in their placeholders.

A file names its contract and holds ``[[case]]`` tables. A case is one or more
steps; a step is a request body (or a whole ``envelope``) and what its answer
must be. The top-level ``body``/``expect`` of a case is its only step;
``[[case.step]]`` gives several, run in order with the same placeholders, so
a case can register, then read, then revoke. ``use = "register"`` runs a
named step from ``_steps.toml`` of the same folder.

Placeholders are ``${name}``; an unknown one is an error in the case, not a
pass. See ``cases/README.md`` for the list and the expectation keys.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intygsgw import interactions
from intygsgw.errors import GatewayError

CASES_DIR = Path(__file__).resolve().parent / "cases"
EXPECT_KEYS = frozenset(
    {
        "http",
        "result",
        "error_id",
        "text",
        "text_starts",
        "text_contains",
        "fault",
        "fault_string",
        "fault_string_starts",
        "contains",
        "not_contains",
        "xpath",
        "schema",
        "max_seconds",
    }
)


class CaseFileError(GatewayError, ValueError):
    pass


@dataclass(frozen=True)
class Expect:
    http: int | None = None  # HTTP status
    result: str | tuple[str, ...] | None = None  # resultCode, or any of several
    error_id: str | None = None
    text: str | None = None  # exact resultText (comment/resultMessage; errorText/infoText on a ResultOfCall)
    text_starts: str | None = None
    text_contains: str | None = None
    fault: str | None = None  # Client | Server: a SOAP fault with that faultcode
    fault_string: str | None = None
    fault_string_starts: str | None = None
    contains: tuple[str, ...] = ()  # substrings the answer's text must hold
    not_contains: tuple[str, ...] = ()
    xpath: tuple[str, ...] = ()  # XPath 1.0 tests, each true of the answer element with namespaces left out
    schema: bool = True  # a non-fault answer must be valid against the responder schema
    max_seconds: float | None = None


@dataclass(frozen=True)
class Step:
    contract: str  # Name:major
    body: str | None  # the request element, placed in an envelope with the binding's address header
    envelope: str | None  # or the whole HTTP body, as is (hostile input)
    expect: Expect
    writes: bool
    repeat_body_mb: float = 0  # pads the body to this many megabytes (oversize cases)
    replace: tuple[tuple[str, str], ...] = ()  # (old, new) applied to the filled-in request text
    encoding: str = "utf-8"  # how the text is encoded on the wire
    content_type: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    steps: tuple[Step, ...]
    description: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return any(s.writes for s in self.steps)

    @property
    def contract(self) -> str:
        return self.steps[-1].contract


def load_cases(folder: Path) -> list[Case]:
    """Every case in ``folder``'s ``*.toml`` files (``_steps.toml`` holds named steps, not cases)."""
    named = _named_steps(folder)
    out: list[Case] = []
    for path in sorted(folder.glob("*.toml")):
        if path.name.startswith("_"):
            continue
        data = _read(path)
        contract = data.get("contract")
        if not isinstance(contract, str) or interactions.by_key(contract) is None:
            raise CaseFileError(f"{path}: contract must name a known contract as Name:major, not {contract!r}")
        for index, raw in enumerate(data.get("case", []), start=1):
            where = f"{path.name} case {index}"
            if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
                raise CaseFileError(f"{where}: every case needs a name")
            steps = _steps(raw, contract, named, where)
            options = {k: v for k, v in raw.items() if k not in ("name", "description", "step", "body", "expect")}
            out.append(Case(raw["name"], path.name, steps, raw.get("description", ""), options))
    return out


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaseFileError(f"{path}: {exc}") from None


def _named_steps(folder: Path) -> dict[str, dict]:
    path = folder / "_steps.toml"
    if not path.exists():
        return {}
    data = _read(path)
    return {name: raw for name, raw in data.items() if isinstance(raw, dict)}


def _steps(raw: dict, contract: str, named: dict[str, dict], where: str) -> tuple[Step, ...]:
    declared = raw.get("step")
    items = declared if isinstance(declared, list) else [raw]
    steps = []
    for i, item in enumerate(items, start=1):
        if "use" in item:
            if item["use"] not in named:
                raise CaseFileError(f"{where} step {i}: no step named {item['use']!r} in _steps.toml")
            item = {**named[item["use"]], **{k: v for k, v in item.items() if k != "use"}}
        # A case that says it writes nothing makes that its steps' default.
        steps.append(_step({"writes": raw.get("writes", True), **item}, contract, f"{where} step {i}"))
    return tuple(steps)


def _step(item: dict, default_contract: str, where: str) -> Step:
    contract = item.get("contract", default_contract)
    if interactions.by_key(contract) is None:
        raise CaseFileError(f"{where}: unknown contract {contract!r}")
    if ("body" in item) == ("envelope" in item):
        raise CaseFileError(f"{where}: give either body or envelope")
    expect = item.get("expect", {})
    unknown = set(expect) - EXPECT_KEYS
    if unknown:
        raise CaseFileError(f"{where}: unknown expectation(s) {', '.join(sorted(unknown))}")
    result = expect.get("result")
    return Step(
        contract=contract,
        body=item.get("body"),
        envelope=item.get("envelope"),
        expect=Expect(
            **{
                **{k: v for k, v in expect.items() if k not in ("contains", "not_contains", "xpath", "result")},
                "result": tuple(result) if isinstance(result, list) else result,
                "contains": _texts(expect.get("contains", ())),
                "not_contains": _texts(expect.get("not_contains", ())),
                "xpath": _texts(expect.get("xpath", ())),
            }
        ),
        # A step writes unless it says it does not: a read-only run must never guess wrong the other way.
        writes=bool(item.get("writes", True)),
        repeat_body_mb=float(item.get("repeat_body_mb", 0)),
        encoding=item.get("encoding", "utf-8"),
        content_type=item.get("content_type"),
        replace=tuple((str(k), str(v)) for k, v in item.get("replace", {}).items()),
    )


def _texts(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    # One text where a list was meant must not become a tuple of its characters.
    return (value,) if isinstance(value, str) else tuple(value)


def for_each_type(cases: list[Case], type_ids: list[str]) -> list[Case]:
    """A case with ``for_each_type = true`` becomes one case per type, its name saying which."""
    out: list[Case] = []
    for case in cases:
        if not case.options.get("for_each_type"):
            out.append(case)
            continue
        for type_id in type_ids:
            options = {**case.options, "type": type_id}
            out.append(Case(f"{case.name} [{type_id}]", case.file, case.steps, case.description, options))
    return out


def fill(template: str, values: Mapping[str, str], where: str) -> str:
    try:
        return string.Template(template).substitute(values)
    except KeyError as exc:
        raise CaseFileError(f"{where}: unknown placeholder ${{{exc.args[0]}}}") from None
    except ValueError as exc:
        raise CaseFileError(f"{where}: {exc}") from None
