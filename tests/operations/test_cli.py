"""The command line as an operator meets it: version, help, pipes, clear errors, a quiet start."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.server import running_gateway

CLI = [sys.executable, "-m", "intygsgw.cli"]


def run(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}, **kwargs
    )


def test_version_and_help_with_defaults():
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("intygsgw ")
    help_text = run("serve", "--help").stdout
    assert "default: 8080 (setting port, or INTYGSGW_PORT)" in help_text
    assert "(default: None)" not in help_text
    assert "(default: 8)" in run("stub-recipient", "--help").stdout


def test_output_cut_short_by_a_pipe_is_not_an_error():
    done = subprocess.run(
        f"{sys.executable} -m intygsgw.cli wsdl RegisterCertificate:3 | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "<?xml vers" or done.stdout.startswith("<")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_wsdl_uses_the_configured_address():
    def location(env):
        out = run("wsdl", "GetCertificate:2", env=env).stdout
        return out.split('location="', 1)[1].split('"', 1)[0]

    assert (
        location({"INTYGSGW_PORT": "9443"})
        == "http://127.0.0.1:9443/clinicalprocess/healthcond/certificate/GetCertificate/2/rivtabp21"
    )
    assert location({"INTYGSGW_PUBLIC_URL": "https://intyg.example.se/"}).startswith(
        "https://intyg.example.se/clinicalprocess/"
    )


def test_a_missing_database_driver_is_one_clear_line(tmp_path):
    code = (
        "import sys; sys.modules['psycopg'] = None; from intygsgw.cli.main import main; "
        "sys.exit(main(['migrate', '--db', 'postgresql+psycopg://gw@127.0.0.1/db']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "pip install 'intygsgw[postgresql]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_start_says_what_it_did_and_nothing_more(tmp_path):
    with running_gateway(tmp_path) as gw:
        log = gw.log()
    assert "database schema migrated from empty to" in log
    assert "serving on http://127.0.0.1" in log
    for noise in ("alembic.runtime.plugins", "Context impl", "Configuration allows spawning", "Websockets"):
        assert noise not in log
