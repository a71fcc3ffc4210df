"""From a plain clone, without the published contracts, the suite says what is missing and nothing else breaks."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.support.paths import REPO_ROOT

NOWHERE = "/nonexistent/riv-ta"
MESSAGE = f"the published RIV-TA contracts are not at {NOWHERE}"

# Modules holding both conformance tests and tests of the project's own files:
# where a module-wide mark, or a unit test that quietly reads a published file,
# would show.
MIXED = (
    "tests/rules/test_schematron.py",
    "tests/rules/test_definitions.py",
    "tests/conformance/test_schema_equivalence.py",
    "tests/stub/test_stub_recipient.py",
)


def run_pytest(*args: str, rivta: str = NOWHERE) -> subprocess.CompletedProcess:
    # No short summary (-rN): its lines are cut to the terminal width, so how often the message
    # shows would depend on the machine's COLUMNS rather than on the fixture.
    env = {**os.environ, "INTYGSGW_RIVTA_DIR": rivta, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rN", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def counts(stdout: str) -> dict[str, int]:
    """The final summary line's counts, e.g. {"passed": 16, "errors": 9}."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected)", stdout)}


def test_conformance_tests_fail_with_one_message_and_unit_tests_pass():
    done = run_pytest("tests/rules/test_schematron.py", "tests/unit/test_states.py")
    assert done.returncode == 1, done.stdout
    summary = counts(done.stdout.splitlines()[-1])
    # Each conformance test stops in the fixture, with the message and nothing else.
    assert summary.get("errors", 0) >= 2 and summary.get("passed", 0) > 0, summary
    assert "failed" not in summary and "skipped" not in summary, summary
    assert done.stdout.count("ERROR at setup of") == summary["errors"]
    assert done.stdout.count(MESSAGE) == summary["errors"], done.stdout
    for noise in ("OSError", "FileNotFoundError", "Traceback"):
        assert noise not in done.stdout, done.stdout


def test_an_empty_contracts_folder_counts_as_missing(tmp_path):
    done = run_pytest(
        "tests/rules/test_schematron.py::test_the_published_folder_has_the_expected_schemas_and_fixtures",
        rivta=str(tmp_path),
    )
    assert done.returncode == 1, done.stdout
    assert f"the published RIV-TA contracts are not at {tmp_path}" in done.stdout, done.stdout
    assert counts(done.stdout.splitlines()[-1]) == {"error": 1}


def test_deselecting_conformance_runs_the_rest_green():
    done = run_pytest("-m", "not conformance", *MIXED)
    assert done.returncode == 0, done.stdout[-3000:]
    summary = counts(done.stdout.splitlines()[-1])
    assert summary.get("passed", 0) > 0 and summary.get("deselected", 0) > 0, summary
