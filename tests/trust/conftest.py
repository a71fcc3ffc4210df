"""Keys, certificates and authorization files made by the tests, and helpers to read the gateway's store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT
from tests.support.pki import TestCA

AUTHORIZED = "SE2321000016-A001"  # may call every contract
READER = "SE2321000016-A002"  # may only call GetCertificate, and only at the hub's address
STRANGER = "SE2321000016-A003"  # has a valid certificate and no authorization
HUB_ADDRESS = "5565594230"


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = TestCA(folder / "ca", "Test CA")
    other = TestCA(folder / "other", "Other CA")

    class Pki:
        pass

    p = Pki()
    p.ca, p.other_ca = ca, other
    p.server = ca.server()
    p.authorized = ca.client(AUTHORIZED)
    p.reader = ca.client(READER)
    p.stranger = ca.client(STRANGER)
    p.no_serial = ca.client(None)
    p.expired = ca.client(AUTHORIZED, expired=True)
    p.wrong_ca = other.client(AUTHORIZED, name="wrong-ca-client")
    return p


def write_authorizations(path: Path, extra: str = "") -> Path:
    path.write_text(
        f'''
[[authorization]]
consumer = "{AUTHORIZED}"
contract = "*"
logical_address = "*"

[[authorization]]
consumer = "{READER.lower()}"
contract = "GetCertificate:2"
logical_address = "{HUB_ADDRESS}"

[[authorization]]
consumer = "{STRANGER}"
contract = "*"
logical_address = "*"
valid_from = 2020-01-01
valid_to = 2021-12-31
{extra}''',
        encoding="utf-8",
    )
    return path


def cli(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "intygsgw.cli", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        timeout=120,
    )


def exported(workdir: Path, *args: str, env: dict | None = None) -> list[dict]:
    done = cli(workdir, "audit", "export", *args, env=env)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
