"""Verifying the enveloped signature of an intyg (``intyg/underskrift/ds:Signature``).

signxml checks the digest, the signature value and the signer's certificate
chain against the configured trust anchors. Everything this module reports
about *what* was signed comes from what signxml returns (``signed_xml``),
never from the element handed in, and the signature must cover that whole
element (reference URI ""): a signature over some other, moved or duplicated
element — the signature-wrapping forgeries — does not make a forged intyg
valid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import SignXMLException
from signxml.util import X509CertChainVerifier

from intygsgw.signing.trust import TrustAnchors
from intygsgw.signing.xml import CORE_NS, DS, EXC_C14N, EXC_C14N_WITH_COMMENTS, TYPES_NS, UNDERSKRIFT, NotXml, parse

_DS = {"ds": DS}
_METHODS = frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256})
_DIGESTS = frozenset({DigestAlgorithm.SHA256})
_EXCLUSIVE = {EXC_C14N, EXC_C14N_WITH_COMMENTS}
_NAMES = {NameOID.SERIAL_NUMBER: "SERIALNUMBER"}
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


@dataclass(frozen=True)
class SignatureVerdict:
    valid: bool
    present: bool  # False: there was no signature to verify
    signer_subject: str = ""  # RFC 4514 subject of the signing certificate
    signer_hsa_id: str = ""  # SERIALNUMBER of that subject
    verified_at: dt.datetime | None = None  # UTC, naive
    reason: str = ""  # why it is not valid; empty when it is
    # Read from the signed content only, for the caller to match against what it acts on.
    signed_certificate_id: str = ""
    signed_person_id: str = ""

    def describe(self) -> str:
        if self.valid:
            return f"valid signature by {self.signer_subject} (HSA id {self.signer_hsa_id or 'none'})"
        return f"{'invalid' if self.present else 'no'} signature: {self.reason}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _AnchoredChainVerifier(X509CertChainVerifier):
    """signxml's chain check on our preloaded store, remembering built chains.

    A doctor signs many certificates: building and checking the same chain
    again is a third of a verification. The store never changes, so a built
    chain stays good as long as every certificate in it is within its dates,
    which a cache hit re-checks at this verification's time.
    """

    signer: x509.Certificate | None = None

    def __init__(self, anchors: TrustAnchors, verification_time, ee_policy=None, ca_policy=None):
        self._anchors = anchors
        super().__init__(
            ca_pem_file="(preloaded)", verification_time=verification_time, ee_policy=ee_policy, ca_policy=ca_policy
        )

    @property
    def store(self):
        return self._anchors.store

    def _do_verify(self, cert_chain):
        key = tuple(c.fingerprint(hashes.SHA256()) for c in cert_chain)
        when = self.verification_time
        hit = self._anchors.chains.get(key)
        if hit is not None and all(start <= when <= end for start, end in hit[1]):
            self.signer = hit[0]
            return hit[0]
        built = self.verifier.verify(leaf=cert_chain[0], intermediates=cert_chain[1:]).chain
        if len(self._anchors.chains) >= _CHAIN_CACHE_SIZE:
            self._anchors.chains.clear()
        self._anchors.chains[key] = (built[0], [(c.not_valid_before_utc, c.not_valid_after_utc) for c in built])
        self.signer = built[0]
        return built[0]


_CHAIN_CACHE_SIZE = 4096


class _AnchoredVerifier(XMLVerifier):
    chain_verifier: _AnchoredChainVerifier | None = None

    def __init__(self, anchors: TrustAnchors):
        super().__init__()
        self._anchors = anchors

    def get_cert_chain_verifier(self, ca_pem_file, ee_policy, ca_policy):
        self.chain_verifier = _AnchoredChainVerifier(
            self._anchors, self._get_cert_verification_time(), ee_policy, ca_policy
        )
        return self.chain_verifier

    def get_root(self, data):
        # signxml copies an element handed in (serialise + parse, ~15% of a
        # verification) so that it can modify it; it only reads this one and
        # copies again before applying transforms.
        if isinstance(data, etree._Element):
            return data
        return super().get_root(data)


def verify_intyg_signature(
    intyg: bytes | etree._Element, trust: TrustAnchors, at: dt.datetime | None = None
) -> SignatureVerdict:
    """The verdict on the signature in ``intyg/underskrift``; ``at`` defaults to now (UTC)."""
    when = at or _now()
    stamp = when.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    try:
        root = parse(intyg) if isinstance(intyg, bytes) else intyg
    except NotXml as exc:
        return SignatureVerdict(False, False, verified_at=stamp, reason=str(exc))
    holder = root.find(UNDERSKRIFT)
    if holder is None or holder.find(f"{{{DS}}}Signature") is None:
        return SignatureVerdict(False, False, verified_at=stamp, reason="the intyg has no underskrift signature")
    verdict = verify_enveloped(root, trust, when, location=f"./{UNDERSKRIFT}/")
    if verdict.valid and root.xpath("boolean(.//comment() | .//processing-instruction())"):
        # c14n without comments drops them from what was signed, so a comment
        # inserted after signing splits a value (an id read as its first half)
        # while the signature still verifies.
        return SignatureVerdict(
            False, True, verified_at=stamp, reason="a signed intyg must not contain comments or processing instructions"
        )
    return verdict


def verify_enveloped(
    root: bytes | etree._Element, trust: TrustAnchors, at: dt.datetime | None = None, *, location: str = "./"
) -> SignatureVerdict:
    """Verify an enveloped signature over the whole of ``root``, found at ``location`` (signxml's syntax)."""
    when = at or _now()
    stamp = when.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)

    def invalid(reason: str) -> SignatureVerdict:
        return SignatureVerdict(False, True, verified_at=stamp, reason=reason)

    try:
        if isinstance(root, bytes):
            root = parse(root)
    except NotXml as exc:
        return SignatureVerdict(False, False, verified_at=stamp, reason=str(exc))
    config = SignatureConfiguration(
        location=location,
        expect_references=1,
        signature_methods=_METHODS,
        digest_algorithms=_DIGESTS,
        verification_time=when,
    )
    verifier = _AnchoredVerifier(trust)
    try:
        # One id attribute only: with signxml's default list, a reference to
        # "#x" could resolve to a hidden copy carrying Id="x" while the root
        # carried ID="x" (signature wrapping).
        result = verifier.verify(root, expect_config=config, id_attribute="Id")
    except SignXMLException as exc:
        return invalid(_reason(exc))
    except (etree.LxmlError, ValueError, TypeError) as exc:
        # Malformed signature parts (schema, base64, algorithm URIs) land here.
        return invalid(f"malformed signature: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    problem = _coverage_problem(result, root)
    if problem:
        return invalid(problem)
    # The leaf of the chain signxml verified the signature value with.
    signer = verifier.chain_verifier.signer if verifier.chain_verifier else None
    if signer is None:
        return invalid("the signature was not verified with a certificate")
    signed = result.signed_xml
    return SignatureVerdict(
        True,
        True,
        signer_subject=signer.subject.rfc4514_string(_NAMES),
        signer_hsa_id=_hsa_id(signer.subject),
        verified_at=stamp,
        signed_certificate_id=signed.findtext(f"{{{CORE_NS}}}intygs-id/{{{TYPES_NS}}}extension") or "",
        signed_person_id=signed.findtext(f"{{{CORE_NS}}}patient/{{{CORE_NS}}}person-id/{{{TYPES_NS}}}extension") or "",
    )


def _coverage_problem(result, root: etree._Element) -> str:
    """Why the signed content is not the whole element handed in, or ''."""
    signed = result.signed_xml
    if signed is None:
        return "the signed content is not an XML element"
    reference = result.signature_xml.find("ds:SignedInfo/ds:Reference", _DS)
    uri = reference.get("URI")
    # signxml refuses an Id that more than one element carries, so an Id the
    # root carries can only mean the root (Id alone, as signxml was told).
    if uri != "" and not (uri.startswith("#") and root.get("Id") is not None and uri[1:] == root.get("Id")):
        return (
            f"the signature covers the element with reference {uri!r}, "
            "not the whole document (the reference must be empty or the root's Id)"
        )
    algorithms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", _DS)]
    if _ENVELOPED not in algorithms:
        return "the signature is not enveloped"
    if any(a not in _EXCLUSIVE | {_ENVELOPED} for a in algorithms):
        return "only the enveloped transform and exclusive c14n are accepted"
    c14n = result.signature_xml.find("ds:SignedInfo/ds:CanonicalizationMethod", _DS).get("Algorithm")
    if c14n not in _EXCLUSIVE:
        return "SignedInfo must use exclusive c14n"
    if signed.tag != root.tag:
        return f"the signed element is {signed.tag}, not {root.tag}"
    return ""


def _hsa_id(subject: x509.Name) -> str:
    found = subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(found[0].value) if found else ""


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    name = type(exc).__name__
    if name == "InvalidDigest":
        return "the signed content was changed after signing (digest mismatch)"
    if name == "InvalidCertificate":
        window = re.search(r"certificate is not valid (?:after|before) \S+", text)
        if window:
            state = "has expired" if "expired" in text else "is not yet valid"
            return f"the signing certificate {state} ({window.group(0).rstrip('.')})"
        return f"the signing certificate is not issued by a trusted CA ({text})"
    if name == "InvalidSignature":
        detail = text.removeprefix("Signature verification failed:").strip()
        return f"the signature value does not verify{f' ({detail})' if detail else ''}"
    return text
