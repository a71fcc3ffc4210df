"""Where the test suite finds things outside the package.

The published RIV-TA contract files are the test oracle. They live beside the
checkout (``../shared/riv-ta``), never inside it; ``INTYGSGW_RIVTA_DIR``
points elsewhere when a checkout is laid out differently. A test that reads
them asks for the ``published_contracts`` fixture (tests/conftest.py), which
fails it with MISSING_MESSAGE when they are not there and marks it
``conformance``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def rivta_dir() -> Path:
    override = os.environ.get("INTYGSGW_RIVTA_DIR")
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "riv-ta"


RIVTA = rivta_dir()
CERT_DOMAIN = RIVTA / "rivta" / "clinicalprocess-healthcond-certificate"
INTYG_DOMAIN = RIVTA / "intyg" / "clinicalprocess-healthcond-certificate"
REHAB_DOMAIN = RIVTA / "intyg" / "clinicalprocess-healthcond-rehabilitation"
INSURANCE_DOMAIN = RIVTA / "rivta" / "insuranceprocess-healthreporting"
SCHEMATRON_DIR = RIVTA / "intyg" / "clinicalprocess-healthcond-certificate-schematron"


MISSING_MESSAGE = (
    "the published RIV-TA contracts are not at {where}. They are the national platform's contract files "
    "(XSD, WSDL, Schematron and its fixtures), laid beside the checkout as ../shared/riv-ta; set "
    "INTYGSGW_RIVTA_DIR to use another folder. Without them run `pytest -m 'not conformance'`."
)


def published_available() -> bool:
    # An empty folder (a submodule not checked out, a bare mount point) is as
    # good as none: the tests would only trip over its missing files.
    return all(folder.is_dir() for folder in (CERT_DOMAIN, INTYG_DOMAIN, SCHEMATRON_DIR))


def require_published() -> Path:
    """The published contracts' folder, or the test fails with one message that says where they come from.

    Never a skip: the published files are the oracle, and a skipped
    conformance check reads as a pass in a summary nobody inspects.
    """
    if not published_available():
        import pytest

        pytest.fail(MISSING_MESSAGE.format(where=RIVTA), pytrace=False)
    return RIVTA


def published(path: Path) -> Path:
    """``path`` inside the published contracts, failing the test when it is not there."""
    require_published()
    if not path.exists():
        import pytest

        pytest.fail(f"{path} is not among the published contracts at {RIVTA}", pytrace=False)
    return path


# Stands for the files a parametrized conformance test would have run on when
# the published folder is missing: the test still runs, once, and fails with
# MISSING_MESSAGE instead of collecting an empty (skipped) parameter set.
NOT_PUBLISHED = RIVTA / "(the published contracts are missing)"


def published_files(folder: Path, pattern: str) -> list[Path]:
    """The published files matching ``pattern`` under ``folder``, for parametrizing at collection."""
    if not published_available():
        return [NOT_PUBLISHED]
    return sorted(folder.glob(pattern))


def child_pythonpath() -> str:
    """PYTHONPATH for a gateway or CLI process a test starts: the caller's own first (a checkout
    that is not the installed one points it at its code), then the repository for ``tests``."""
    return os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(REPO_ROOT)) if p)
