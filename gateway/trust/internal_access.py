"""Who may call which internal API paths: the operator's list of callers (setting internal_authorization_file).

The internal API serves the hub's own applications, each with its own client
certificate; each may call the paths its work needs (Mina intyg the citizen
paths, Intygsadmin the test-certificate erase, customer termination its
export and erase). A TOML file, reloaded when it changes::

    [[caller]]
    hsa_id = "SE2321000016-MI01"          # the SERIALNUMBER of its client certificate
    paths = ["/internalapi/citizen", "/internalapi/citizen/*"]
    methods = ["POST"]                    # optional; every method when left out
    comment = "Mina intyg"

A path pattern's ``*`` matches any run of characters, ``/`` included.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from intygsgw.errors import GatewayError

_FIELDS = {"hsa_id", "paths", "methods", "comment"}
METHODS = {"GET", "POST", "DELETE", "PUT", "PATCH"}


class InternalAccessFileError(GatewayError, ValueError):
    pass


@dataclass(frozen=True)
class PathGrant:
    hsa_id: str  # lower-cased
    patterns: tuple[str, ...]
    methods: frozenset[str]  # empty: any


@dataclass
class InternalAccessTable:
    grants: list[PathGrant] = field(default_factory=list)

    def allows(self, hsa_id: str | None, method: str, path: str) -> bool:
        if not hsa_id:
            return False
        who = hsa_id.strip().lower()
        return any(
            g.hsa_id == who
            and (not g.methods or method.upper() in g.methods)
            and any(fnmatch.fnmatchcase(path, p) for p in g.patterns)
            for g in self.grants
        )


def parse_internal_access(text: str, source: str = "internal authorizations") -> InternalAccessTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InternalAccessFileError(f"{source}: {exc}") from None
    unknown_top = set(data) - {"caller"}
    if unknown_top:
        raise InternalAccessFileError(f"{source}: unknown table(s) {', '.join(sorted(unknown_top))}")
    grants = []
    for i, raw in enumerate(data.get("caller", [])):
        where = f"{source}: caller #{i + 1}"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise InternalAccessFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        hsa_id = raw.get("hsa_id")
        if not isinstance(hsa_id, str) or not hsa_id.strip() or hsa_id.strip() == "*":
            raise InternalAccessFileError(f"{where}: 'hsa_id' must be one HSA id")
        paths = raw.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise InternalAccessFileError(f"{where}: 'paths' must be a list of paths starting with /")
        methods = raw.get("methods", [])
        if not isinstance(methods, list) or not all(isinstance(m, str) and m.upper() in METHODS for m in methods):
            raise InternalAccessFileError(f"{where}: 'methods' must be a list of {', '.join(sorted(METHODS))}")
        grants.append(PathGrant(hsa_id.strip().lower(), tuple(paths), frozenset(m.upper() for m in methods)))
    return InternalAccessTable(grants)


def load_internal_access(path: str | Path) -> InternalAccessTable:
    return parse_internal_access(Path(path).read_text(encoding="utf-8"), str(path))
