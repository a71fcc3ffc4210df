"""Signed sample certificates: the intyg carries an enveloped signature in ``underskrift``.

Separate from the unsigned builders so that they stay free of key handling;
tests, benchmarks and demos build signed requests here.
"""

from __future__ import annotations

from intygsgw.devtools.samples.certificates import REGISTER, CertificateSpec, intyg_document
from intygsgw.devtools.samples.requests import HUB_ADDRESS, envelope
from intygsgw.signing.sign import SigningKey, sign_enveloped


def signed_intyg(spec: CertificateSpec, key: SigningKey, *, reference_uri: str = "") -> bytes:
    """A standalone ``r:intyg`` (namespaces declared on it) signed the way an issuing system signs it."""
    return sign_enveloped(intyg_document(spec), key, in_underskrift=True, reference_uri=reference_uri)


def register_with_intyg(intyg: bytes, logical_address: str = HUB_ADDRESS) -> bytes:
    """A RegisterCertificate 3 request around ready ``intyg`` bytes, which go in unchanged."""
    return envelope(
        f'<r:RegisterCertificate xmlns:r="{REGISTER}">{intyg.decode("utf-8")}</r:RegisterCertificate>', logical_address
    )


def signed_register_certificate(spec: CertificateSpec, key: SigningKey, logical_address: str = HUB_ADDRESS) -> bytes:
    return register_with_intyg(signed_intyg(spec, key), logical_address)
