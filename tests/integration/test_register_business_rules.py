"""RegisterCertificate runs the type's business rules (contracts/certificate-types/<id>/v<major>.toml).

Against a real gateway process: a LISJP that breaks its rules is answered
ERROR/VALIDATION_ERROR listing every failed rule with its id and message, and
nothing is stored; the valid sample is accepted.
"""

from __future__ import annotations

import uuid

from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec

CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"


def envelope_without(spec: CertificateSpec, drop_svar: str, bad_code_in: str) -> bytes:
    root = etree.fromstring(samples.register_certificate(spec))
    for svar in list(root.iter(f"{{{CORE}}}svar")):
        if svar.get("id") == drop_svar:
            svar.getparent().remove(svar)
        if svar.get("id") == bad_code_in:
            svar.find(f"{{{CORE}}}delsvar/{{{TYPES}}}cv/{{{TYPES}}}code").text = "INTE_EN_KOD"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_certificate_breaking_its_rules_lists_every_failed_rule(client):
    cid = str(uuid.uuid4())
    body = envelope_without(CertificateSpec(certificate_id=cid), drop_svar="6", bad_code_in="32")
    result = client.call_raw("RegisterCertificate", 3, body)[0].result
    assert (result.resultCode, result.errorId) == ("ERROR", "VALIDATION_ERROR")
    failures = result.resultText.split(";")
    assert "TEST: count(gn:svar[@id='6']) = 1, MSG: \n        Ett 'MU' måste ha en 'Typ av diagnos'\n      " in failures
    assert any(f.startswith("TEST: ") and "Sjukskrivningsnivå" in f for f in failures), failures
    again = client.call_raw("RegisterCertificate", 3, samples.register_certificate(CertificateSpec(certificate_id=cid)))
    assert again[0].result.resultCode == "OK"  # the rejected one was not stored, so the id is still free


def test_the_valid_sample_passes_the_rules(client):
    result = client.call_raw(
        "RegisterCertificate", 3, samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4())))
    )[0]
    assert result.result.resultCode == "OK"
