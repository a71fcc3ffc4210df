"""Trust anchors for signing certificates: the CAs whose signers are believed.

Loaded once from PEM bundle files and kept as a ready verification store, so
verifying a signature does not re-read the bundle (signxml's default would).
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import Store

from intygsgw.errors import GatewayError


class TrustError(GatewayError, ValueError):
    pass


class TrustAnchors:
    """CA certificates plus the verification store built from them once (a Store is immutable)."""

    def __init__(self, certificates, sources=()):
        self.certificates = tuple(certificates)
        self.sources = tuple(sources)
        self.store = Store(list(self.certificates))
        # chain fingerprints -> (leaf, validity windows), filled by intygsgw.signing.verify
        self.chains: dict = {}

    def describe(self) -> str:
        return ", ".join(self.sources) or f"{len(self.certificates)} CA certificate(s)"


def load_trust_anchors(paths: str | list[str] | tuple[str, ...]) -> TrustAnchors:
    """``paths``: PEM bundle files, as a list or comma-separated."""
    if isinstance(paths, str):
        paths = [p.strip() for p in paths.split(",") if p.strip()]
    certs: list[x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TrustError(f"cannot read CA bundle {path}: {exc.strerror}") from None
        try:
            found = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise TrustError(f"{path}: no PEM certificates in it") from None
        certs.extend(found)
    if not certs:
        raise TrustError("no CA bundle given for signing certificates")
    return TrustAnchors(tuple(certs), tuple(str(p) for p in paths))
