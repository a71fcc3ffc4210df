"""Where the test suite finds things outside the package.

The published RIV-TA contract files are the test oracle. They live beside the
checkout (``../shared/riv-ta``), never inside it; ``INTYGSGW_RIVTA_DIR``
points elsewhere when a checkout is laid out differently.
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
SCHEMATRON_DIR = RIVTA / "intyg" / "clinicalprocess-healthcond-certificate-schematron"


def published(path: Path) -> Path:
    """``path`` inside the published contracts, failing the test when it is not there.

    Never a skip: the published files are the oracle, and a skipped
    conformance check reads as a pass in a summary nobody inspects.
    """
    if not path.exists():
        import pytest

        pytest.fail(f"the published contracts are not at {path} (set INTYGSGW_RIVTA_DIR)", pytrace=False)
    return path
