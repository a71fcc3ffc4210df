"""From a plain clone, without the published contracts, the suite says what is missing and nothing else breaks."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import REPO_ROOT


def run_pytest(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "INTYGSGW_RIVTA_DIR": "/nonexistent/riv-ta"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_conformance_tests_fail_with_one_message_and_unit_tests_pass():
    done = run_pytest(
        "tests/rules/test_schematron.py::test_the_published_folder_has_the_expected_schemas_and_fixtures",
        "tests/rules/test_equivalence.py::test_published_fixtures_get_the_schematron_verdict",
        "tests/unit/test_states.py",
    )
    assert done.returncode == 1, done.stdout
    assert "the published RIV-TA contracts are not at /nonexistent/riv-ta" in done.stdout
    assert "2 errors" in done.stdout and "passed" in done.stdout
    for noise in ("OSError", "FileNotFoundError", "Traceback", "skipped"):
        assert noise not in done.stdout, done.stdout


def test_deselecting_conformance_runs_the_rest_green():
    done = run_pytest("-m", "not conformance", "tests/rules/test_equivalence.py", "tests/rules/test_definitions.py")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "deselected" in done.stdout
