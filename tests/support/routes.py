"""A routing table for tests: each contract, to any logical address, at the stub's URL for it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def write_stub_routes(path: Path, base_url: str, contracts: Iterable[str]) -> Path:
    """Write a routes file sending each ``contract`` (``Name:major``) to ``<base_url>/<contract>``."""
    path.write_text(
        "".join(f'[[route]]\ncontract = "{c}"\nlogical_address = "*"\nurl = "{base_url}/{c}"\n\n' for c in contracts)
    )
    return path
