"""Verifying intyg signatures: real keys, real signatures, real forgeries."""

from __future__ import annotations

import base64
import copy
import datetime as dt

import pytest
from lxml import etree

from intygsgw.devtools.samples import CertificateSpec, intyg_document
from intygsgw.devtools.samples.signed import signed_intyg
from intygsgw.signing.policy import Policy, parse_policies
from intygsgw.signing.sign import sign_enveloped
from intygsgw.signing.verify import verify_intyg_signature
from intygsgw.signing.xml import CORE_NS, DS, TYPES_NS, UNDERSKRIFT, UNDERSKRIFT_NS

from .conftest import DOCTOR, key_of

SPEC = CertificateSpec(certificate_id="sig-verify-1")


def _sign(keys, which="ec", spec=SPEC, **kw) -> bytes:
    return signed_intyg(spec, key_of(getattr(keys, which)), **kw)


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_valid_signature(keys, which):
    verdict = verify_intyg_signature(_sign(keys, which), keys.trust)
    assert verdict.valid and verdict.present, verdict.reason
    assert verdict.signer_hsa_id == DOCTOR
    assert "SERIALNUMBER=SE2321000016-1R2F" in verdict.signer_subject
    assert "CN=Ingrid Nilsson Läkare" in verdict.signer_subject
    assert verdict.signed_certificate_id == "sig-verify-1"
    assert verdict.signed_person_id == SPEC.person_id
    assert abs(verdict.verified_at - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_signature_method_is_sha256_with_exclusive_c14n(keys, which):
    sig = etree.fromstring(_sign(keys, which)).find(f"{UNDERSKRIFT}/{{{DS}}}Signature")
    algorithms = {el.get("Algorithm") for el in sig.iter() if el.get("Algorithm")}
    method = {
        "rsa": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "ec": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    }[which]
    assert algorithms == {
        method,
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    }


def test_signing_keeps_every_original_byte(keys):
    original = intyg_document(SPEC)
    signed = _sign(keys)
    end = original.rindex(b"</r:intyg>")
    assert signed.startswith(original[:end]) and signed.endswith(b"</r:intyg>")


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_tampered_content(keys, which):
    signed = _sign(keys, which)
    assert b"<c:fornamn>Tolvan</c:fornamn>" in signed
    verdict = verify_intyg_signature(signed.replace(b"<c:fornamn>Tolvan<", b"<c:fornamn>Tolvar<"), keys.trust)
    assert not verdict.valid and verdict.present
    assert "changed after signing" in verdict.reason


def test_tampered_whitespace_counts_as_content(keys):
    signed = _sign(keys)
    verdict = verify_intyg_signature(signed.replace(b"<c:version>", b"\n<c:version>", 1), keys.trust)
    assert not verdict.valid and "changed after signing" in verdict.reason


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_tampered_signature_value(keys, which):
    root = etree.fromstring(_sign(keys, which))
    value = root.find(f"{UNDERSKRIFT}/{{{DS}}}Signature/{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[len(raw) // 2] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    verdict = verify_intyg_signature(etree.tostring(root), keys.trust)
    assert not verdict.valid and verdict.present
    assert "signature value does not verify" in verdict.reason


def test_tampered_signed_info(keys):
    # A new digest for changed content, without re-signing SignedInfo.
    signed = _sign(keys).replace(b"<c:fornamn>Tolvan<", b"<c:fornamn>Tolvar<")
    root = etree.fromstring(signed)
    digest = root.find(f"{UNDERSKRIFT}//{{{DS}}}DigestValue")
    digest.text = base64.b64encode(b"\0" * 32).decode()
    verdict = verify_intyg_signature(etree.tostring(root), keys.trust)
    assert not verdict.valid and "signature value does not verify" in verdict.reason


def test_untrusted_signer(keys):
    verdict = verify_intyg_signature(_sign(keys, "untrusted"), keys.trust)
    assert not verdict.valid and verdict.present
    assert "not issued by a trusted CA" in verdict.reason


def test_expired_signer(keys):
    verdict = verify_intyg_signature(_sign(keys, "expired"), keys.trust)
    assert not verdict.valid
    assert "signing certificate has expired" in verdict.reason


def test_signer_checked_at_the_given_time(keys):
    # A signature that was fine yesterday is judged at verification time.
    yesterday_signed = _sign(keys, "ec")
    assert verify_intyg_signature(yesterday_signed, keys.trust).valid  # its chain is now cached
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    verdict = verify_intyg_signature(yesterday_signed, keys.trust, at=later)
    assert not verdict.valid and "has expired" in verdict.reason


def test_certificate_in_key_info_swapped_for_another_trusted_one(keys):
    # KeyInfo names the RSA signer, but the EC key signed: the value cannot verify.
    ec_signed = etree.fromstring(_sign(keys, "ec"))
    rsa_signed = etree.fromstring(_sign(keys, "rsa"))
    path = f"{UNDERSKRIFT}/{{{DS}}}Signature/{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"
    ec_signed.find(path).text = rsa_signed.find(path).text
    verdict = verify_intyg_signature(etree.tostring(ec_signed), keys.trust)
    assert not verdict.valid


def test_unsigned(keys):
    verdict = verify_intyg_signature(intyg_document(SPEC), keys.trust)
    assert not verdict.valid and not verdict.present
    assert verdict.reason == "the intyg has no underskrift signature"


def test_signature_elsewhere_than_underskrift_is_not_the_intyg_signature(keys):
    # A valid enveloped signature as a direct child of intyg is not where the schema puts it.
    signed = sign_enveloped(intyg_document(SPEC), key_of(keys.ec))
    verdict = verify_intyg_signature(signed, keys.trust)
    assert not verdict.present and not verdict.valid


# -- signature wrapping --------------------------------------------------------


def _with_id(spec: CertificateSpec, value: str) -> bytes:
    return intyg_document(spec).replace(b"<r:intyg ", f'<r:intyg Id="{value}" '.encode(), 1)


def _forge(genuine_root: etree._Element) -> etree._Element:
    """A copy of the genuine intyg for another patient, whose diagnosis text is changed too."""
    forged = copy.deepcopy(genuine_root)
    forged.find(f"{{{CORE_NS}}}patient/{{{CORE_NS}}}person-id/{{{TYPES_NS}}}extension").text = "197705232382"
    forged.find(f"{{{CORE_NS}}}patient/{{{CORE_NS}}}fornamn").text = "Mallory"
    return forged


def _hide_unsigned_copy(genuine_root: etree._Element, forged: etree._Element) -> None:
    """Put the genuine intyg, its signature taken out as the enveloped transform sees it, inside ``forged``."""
    hidden = copy.deepcopy(genuine_root)
    hidden.remove(hidden.find(UNDERSKRIFT))
    hidden.append(etree.Element(UNDERSKRIFT, nsmap={"u": UNDERSKRIFT_NS}))
    forged.find(f"{{{CORE_NS}}}skapadAv").append(hidden)


def _signed_by_id(keys, value: str = "intyg-A") -> etree._Element:
    return etree.fromstring(
        sign_enveloped(_with_id(SPEC, value), key_of(keys.ec), in_underskrift=True, reference_uri=f"#{value}")
    )


def test_wrapping_signed_element_moved_and_forged_intyg_swapped_in(keys):
    # The issuer signed intyg A by reference to its Id. The attacker makes a
    # forged intyg the document, moves A (unsigned now) inside it and the
    # signature into the forged intyg's underskrift: signxml finds A by Id and
    # its digest matches, but what was signed is not the intyg handed in.
    genuine = _signed_by_id(keys)
    assert verify_intyg_signature(etree.tostring(genuine), keys.trust).valid
    forged = _forge(genuine)
    del forged.attrib["Id"]
    _hide_unsigned_copy(genuine, forged)
    # Without the coverage check this forgery would pass: signxml alone accepts it.
    from signxml import XMLVerifier

    assert XMLVerifier().verify(etree.tostring(forged), ca_pem_file=str(keys.ca.cert_path)).signed_xml is not None
    verdict = verify_intyg_signature(etree.tostring(forged), keys.trust)
    assert not verdict.valid and verdict.present
    assert "not the whole document" in verdict.reason


@pytest.mark.parametrize("spelling", ["ID", "id"])
def test_wrapping_with_the_signed_id_under_another_attribute_name(keys, spelling):
    # The forged root carries the signed id as ID (or id), the hidden genuine
    # copy as Id: a verifier that looks for Id first digests the copy, and a
    # coverage check that accepts any spelling on the root is fooled.
    genuine = _signed_by_id(keys)
    forged = _forge(genuine)
    del forged.attrib["Id"]
    forged.set(spelling, "intyg-A")
    _hide_unsigned_copy(genuine, forged)
    verdict = verify_intyg_signature(etree.tostring(forged), keys.trust)
    assert not verdict.valid and verdict.present
    assert "not the whole document" in verdict.reason


def test_wrapping_genuine_signature_copied_onto_forged_intyg(keys):
    genuine = etree.fromstring(_sign(keys, "rsa"))
    forged = _forge(genuine)  # keeps the genuine underskrift, signature and all
    forged.find(f"{{{CORE_NS}}}svar").addprevious(copy.deepcopy(genuine.find(f"{{{CORE_NS}}}svar")))
    verdict = verify_intyg_signature(etree.tostring(forged), keys.trust)
    assert not verdict.valid and "changed after signing" in verdict.reason


def test_wrapping_duplicated_id(keys):
    # Forged root and the hidden genuine intyg both carry the signed Id.
    genuine = _signed_by_id(keys)
    forged = _forge(genuine)
    _hide_unsigned_copy(genuine, forged)
    verdict = verify_intyg_signature(etree.tostring(forged), keys.trust)
    assert not verdict.valid and verdict.present
    assert "Ambiguous reference" in verdict.reason


def test_wrapping_genuine_signed_intyg_nested_in_unsigned_forgery(keys):
    genuine = etree.fromstring(_sign(keys, "ec"))
    forged = _forge(genuine)
    forged.remove(forged.find(UNDERSKRIFT))
    forged.find(f"{{{CORE_NS}}}skapadAv").append(genuine)
    verdict = verify_intyg_signature(etree.tostring(forged), keys.trust)
    assert not verdict.valid and not verdict.present


def test_hostile_xml_is_a_verdict_not_a_crash(keys):
    for data in (b"<r:intyg", b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', b""):
        verdict = verify_intyg_signature(data, keys.trust)
        assert not verdict.valid and verdict.reason


# -- policy --------------------------------------------------------------------


def test_policy_default_and_overrides():
    policies = parse_policies("verify-if-present", "LISJP=require, ts-bas = off")
    assert policies.for_type("lisjp", "LISJP") is Policy.REQUIRE
    assert policies.for_type("ts-bas", "TSTRK1007") is Policy.OFF
    assert policies.for_type("luse", "LUSE") is Policy.IF_PRESENT
    assert not parse_policies("off").ever_verifies
    assert parse_policies("off", "lisjp=require").ever_verifies
    with pytest.raises(ValueError, match="require, verify-if-present or off"):
        parse_policies("sometimes")
    with pytest.raises(ValueError, match="type=policy"):
        parse_policies("off", "lisjp")


def test_comment_inserted_after_signing_is_refused(keys):
    # Exclusive c14n without comments ignores the comment, so the digest still
    # matches; read naively, the id would be its part before the comment.
    signed = _sign(keys)
    split = signed.replace(b">sig-verify-1<", b">sig-verify<!---->-1<", 1)
    from signxml import XMLVerifier

    assert XMLVerifier().verify(split, ca_pem_file=str(keys.ca.cert_path)).signed_xml is not None
    verdict = verify_intyg_signature(split, keys.trust)
    assert not verdict.valid and "comments" in verdict.reason


@pytest.mark.parametrize(
    "old, new, reason",
    [
        (
            rb"http://www\.w3\.org/2001/04/xmldsig-more#rsa-sha256",
            b"http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "Signature method RSA_SHA1 forbidden by configuration",
        ),
        (
            rb"http://www\.w3\.org/2001/04/xmlenc#sha256",
            b"http://www.w3.org/2000/09/xmldsig#sha1",
            "signature value does not verify",
        ),  # SignedInfo was changed, so its signature fails first
        (rb"<ds:SignatureValue>[^<]+<", b"<ds:SignatureValue>AAAA<", "signature value does not verify"),
        (rb"<ds:X509Certificate>[^<]+<", b"<ds:X509Certificate>AAAA<", "malformed signature"),
    ],
)
def test_weak_or_malformed_signature(keys, old, new, reason):
    import re

    signed = _sign(keys, "rsa")
    changed, n = re.subn(old, new, signed, count=1)
    assert n == 1
    verdict = verify_intyg_signature(changed, keys.trust)
    assert not verdict.valid and verdict.present
    assert reason in verdict.reason


def test_inclusive_c14n_is_refused(keys):
    # Inclusive c14n drags in the envelope's namespaces: it cannot survive forwarding.
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner
    from signxml.algorithms import CanonicalizationMethod

    key = key_of(keys.ec)
    root = etree.fromstring(intyg_document(SPEC))
    holder = etree.SubElement(root, UNDERSKRIFT, nsmap={"u": UNDERSKRIFT_NS})
    etree.SubElement(holder, f"{{{DS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DS})
    signed = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1,
    ).sign(root, key=key.key_pem, cert=key.cert_pems)
    verdict = verify_intyg_signature(etree.tostring(signed), keys.trust)
    assert not verdict.valid and "exclusive c14n" in verdict.reason
