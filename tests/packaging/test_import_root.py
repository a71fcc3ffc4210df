"""The wheel installs one import root, ``intygsgw``, and nothing beside it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "gateway": "intygsgw",
    "storage": "intygsgw.storage",
    "signing": "intygsgw.signing",
    "schemas": "intygsgw.schemas",
    "contracts": "intygsgw.contracts",
}


def declared_packages() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return {line.strip() for line in cfg["options"]["packages"].splitlines() if line.strip()}


def packages_on_disk() -> set[str]:
    found = set()
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *rel)))
    return found


def test_every_package_folder_is_declared():
    # setup.cfg lists packages by hand (package_dir maps several folders under
    # one root, which find: cannot express); a forgotten one would be missing
    # from the wheel while the editable checkout still imported it.
    assert packages_on_disk() == declared_packages()


def test_wheel_has_one_top_level_package(tmp_path):
    # Built from a copy: setuptools writes build/ and egg-info next to the sources.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__", "*.db*", ".pytest_cache"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next(tmp_path.glob("intygsgw-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"intygsgw"}
    # Data the gateway reads at run time travels inside the root.
    assert "intygsgw/schemas/interactions/RegisterCertificateResponder-3.xsd" in names
    assert "intygsgw/contracts/recipients.json" in names
    assert any(n.startswith("intygsgw/storage/migrations/versions/") for n in names)
    assert "intygsgw/cli/__main__.py" in names
