"""`-m "not postgres"` (the README's run for a machine without PostgreSQL) leaves out every test that needs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.databases import POSTGRESQL

REPO = Path(__file__).resolve().parents[1]


def _collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args, "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def _on_postgresql(node_id: str) -> bool:
    params = re.search(r"\[(.*)\]$", node_id)
    return params is not None and POSTGRESQL in params.group(1).split("-")


def test_no_test_parametrized_onto_postgresql_escapes_the_mark():
    everything = _collected()
    without = _collected("-m", "not postgres")
    # The parametrized fixtures that choose the database by name exist (or this test would prove nothing).
    assert sum(map(_on_postgresql, everything)) > 40
    assert [node for node in without if _on_postgresql(node)] == []
    assert len(without) < len(everything)
