"""Enveloped XML signatures (RSA or ECDSA with SHA-256, exclusive c14n).

The signature is computed by signxml on a parsed copy, then its serialised
``ds:Signature`` is spliced into the original bytes just before the element's
end tag. Everything that was there stays byte for byte: a doctor's signature
inside a RegisterCertificate that the gateway signs again on the way out is
untouched, and the new signature verifies because the digest is over the
canonical form, which the copy and the original share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod

from intygsgw.errors import GatewayError
from intygsgw.signing.xml import DS, UNDERSKRIFT, UNDERSKRIFT_NS, parse


class SigningError(GatewayError, ValueError):
    pass


@dataclass(frozen=True)
class SigningKey:
    key: object  # RSA or EC private key
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()  # intermediates to put in KeyInfo after the certificate

    @property
    def method(self) -> SignatureMethod:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return SignatureMethod.RSA_SHA256
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return SignatureMethod.ECDSA_SHA256
        raise SigningError("the signing key must be RSA or EC")

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def cert_pems(self) -> list[str]:
        return [c.public_bytes(serialization.Encoding.PEM).decode() for c in (self.certificate, *self.chain)]


def load_signing_key(key_file: str | Path, cert_file: str | Path) -> SigningKey:
    """A PEM private key and its certificate (the file may hold intermediates after it)."""
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        certs = x509.load_pem_x509_certificates(Path(cert_file).read_bytes())
    except OSError as exc:
        raise SigningError(f"cannot read {exc.filename}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise SigningError(f"not a usable PEM key and certificate: {exc}") from None
    signing = SigningKey(key, certs[0], tuple(certs[1:]))
    _ = signing.method  # refuse DSA and friends now, not at the first message
    if certs[0].public_key().public_numbers() != key.public_key().public_numbers():
        raise SigningError(f"{cert_file} is not the certificate of the key in {key_file}")
    return signing


_PLACEHOLDER_ID = "placeholder"  # the id signxml looks for


def _signer(signing: SigningKey) -> XMLSigner:
    return XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=signing.method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )


def signature_element(
    xml: bytes, signing: SigningKey, *, in_underskrift: bool = False, reference_uri: str = ""
) -> bytes:
    """The serialised ``ds:Signature`` (wrapped in ``underskrift`` if asked) for ``xml``'s root element.

    With ``in_underskrift`` the digest covers the root with an empty
    ``underskrift`` as its last child, which is what remains once a verifier
    applies the enveloped transform to the spliced result.
    """
    root = parse(xml)
    holder = etree.SubElement(root, UNDERSKRIFT, nsmap={"u": UNDERSKRIFT_NS}) if in_underskrift else root
    etree.SubElement(holder, f"{{{DS}}}Signature", {"Id": _PLACEHOLDER_ID}, nsmap={"ds": DS})
    signed = _signer(signing).sign(
        root, key=signing.key, cert=signing.cert_pems, reference_uri=reference_uri or None, always_add_key_value=False
    )
    # Where the placeholder was: the last child (or inside it), never an
    # earlier signature such as the doctor's in a RegisterCertificate.
    sig = signed[-1][-1] if in_underskrift else signed[-1]
    if sig.tag != f"{{{DS}}}Signature":
        raise SigningError("signxml did not put the signature where it was asked to")
    sig.tail = None
    out = etree.tostring(sig, encoding="utf-8", xml_declaration=False)
    if in_underskrift:
        out = f'<u:underskrift xmlns:u="{UNDERSKRIFT_NS}">'.encode() + out + b"</u:underskrift>"
    return out


_END_TAG = re.compile(rb"</[^\s<>/]+\s*>\s*\Z")


def sign_enveloped(xml: bytes, signing: SigningKey, *, in_underskrift: bool = False, reference_uri: str = "") -> bytes:
    """``xml`` (one element, no XML declaration needed) with an enveloped signature as its last child."""
    if in_underskrift and parse(xml).find(UNDERSKRIFT) is not None:
        raise SigningError("the intyg is already signed (it has an underskrift)")
    end = _END_TAG.search(xml)
    if end is None:
        raise SigningError("the element must end with an end tag to take a signature")
    return (
        xml[: end.start()]
        + signature_element(xml, signing, in_underskrift=in_underskrift, reference_uri=reference_uri)
        + xml[end.start() :]
    )
