"""The published responder schemas, as the oracle for what goes over the wire."""
from __future__ import annotations

import functools

from lxml import etree

from .paths import CERT_DOMAIN, INTYG_DOMAIN

# (contract, major) -> (domain folder, published minor version)
PUBLISHED_VERSIONS = {
    ("RegisterCertificate", 3): (CERT_DOMAIN, "3.1"),
    ("GetCertificate", 2): (CERT_DOMAIN, "2.1"),
    ("RevokeCertificate", 2): (CERT_DOMAIN, "2.1"),
    ("SetCertificateStatus", 2): (CERT_DOMAIN, "2.0"),
    ("ListCertificatesForCare", 3): (CERT_DOMAIN, "3.1"),
    ("ListCertificatesForCitizen", 3): (CERT_DOMAIN, "3.0"),
    ("ListCertificatesForCitizen", 4): (CERT_DOMAIN, "4.0"),
    ("SendCertificateToRecipient", 2): (CERT_DOMAIN, "2.1"),
    ("SendMessageToCare", 2): (CERT_DOMAIN, "2.0"),
    ("SendMessageToRecipient", 2): (CERT_DOMAIN, "2.1"),
    ("CertificateStatusUpdateForCare", 3): (CERT_DOMAIN, "3.2"),
    ("ListCertificatesForCareWithQA", 3): (CERT_DOMAIN, "3.3"),
    ("ListRelationsForCertificate", 1): (INTYG_DOMAIN, "1.0"),
    ("GetCertificateTypeInfo", 1): (INTYG_DOMAIN, "1.0"),
    ("GetRecipientsForCertificate", 1): (INTYG_DOMAIN, "1.1"),
    ("ListKnownRecipients", 1): (INTYG_DOMAIN, "1.0"),
}


@functools.lru_cache(maxsize=None)
def published_schema(contract: str, major: int) -> etree.XMLSchema:
    domain, version = PUBLISHED_VERSIONS[(contract, major)]
    path = (domain / "interactions" / f"{contract}Interaction"
            / f"{contract}Responder_{version}.xsd")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def assert_valid_against_published(contract: str, major: int, element: etree._Element) -> None:
    schema = published_schema(contract, major)
    doc = etree.ElementTree(etree.fromstring(etree.tostring(element)))
    if not schema.validate(doc):
        raise AssertionError(f"{contract} {major}: not valid against the published schema: "
                             f"{schema.error_log.last_error}\n{etree.tostring(element)[:2000]!r}")
