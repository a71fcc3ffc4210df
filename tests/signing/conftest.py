"""Keys for the signature tests: a trusted CA with RSA, EC and expired signers, and a CA nobody trusts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from intygsgw.signing.sign import SigningKey, load_signing_key
from intygsgw.signing.trust import load_trust_anchors
from tests.support.pki import TestCA

DOCTOR = "SE2321000016-1R2F"


def key_of(issued) -> SigningKey:
    return load_signing_key(issued.key_path, issued.cert_path)


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signing-pki")
    ca = TestCA(folder / "ca", "Signing CA")
    other = TestCA(folder / "other", "Other CA")
    k = SimpleNamespace(ca=ca, other_ca=other)
    k.rsa = ca.signer(DOCTOR, key_kind="rsa")
    k.ec = ca.signer(DOCTOR, key_kind="ec")
    k.expired = ca.signer(DOCTOR, key_kind="ec", expired=True)
    k.untrusted = other.signer(DOCTOR, key_kind="ec")
    k.gateway = ca.signer("SE2321000016-GW01", name="gateway-signer", cn="intygsgw")
    k.trust = load_trust_anchors(str(ca.cert_path))
    return k
