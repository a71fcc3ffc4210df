"""Sub-units of care units, for the sick-leave lists.

The reference hub asks the HSA directory which units (mottagningar) lie
under a care unit. The gateway has no directory, so an operator who needs a
unit's list to include its sub-units names them in a TOML file:

    [sub_units]
    "SE2321000016-LNE6" = ["SE2321000016-MOT1", "SE2321000016-MOT2"]

Without the file a unit is just itself. A file with an error is rejected
whole, naming the key, and the lists in force stay.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

from intygsgw.errors import GatewayError

SubUnits = Mapping[str, tuple[str, ...]]


class CareUnitFileError(GatewayError, ValueError):
    pass


def load_sub_units(path: str) -> SubUnits:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CareUnitFileError(f"{path}: {exc}") from None
    unknown = set(data) - {"sub_units"}
    if unknown:
        raise CareUnitFileError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; only [sub_units] is read")
    table = data.get("sub_units", {})
    if not isinstance(table, dict):
        raise CareUnitFileError(f"{path}: sub_units must be a table of unit id = [sub-unit ids]")
    out: dict[str, tuple[str, ...]] = {}
    for unit, subs in table.items():
        if not isinstance(subs, list) or not all(isinstance(s, str) and s.strip() for s in subs):
            raise CareUnitFileError(f"{path}: sub_units.{unit} must be a list of non-empty HSA ids")
        out[unit.strip()] = tuple(dict.fromkeys(s.strip() for s in subs if s.strip() != unit.strip()))
    return out
