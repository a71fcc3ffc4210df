"""The XML namespaces the gateway reads and writes, each spelt once here."""

from __future__ import annotations

CERTIFICATE_DOMAIN = "clinicalprocess:healthcond:certificate"
REHABILITATION_DOMAIN = "clinicalprocess:healthcond:rehabilitation"
# Every certificate contract's namespace starts with this.
CERT = f"urn:riv:{CERTIFICATE_DOMAIN}"
# intyg, ResultType and their parts in contracts of major version 3 and up.
CORE = f"{CERT}:3"
# The same in the version 1 contracts (recipients, approved receivers).
CORE_1 = f"{CERT}:1"
# underskrift: the signature extension of the core schema.
CORE_3_2 = f"{CERT}:3.2"
TYPES = f"{CERT}:types:3"
RECEIVER_TYPES = f"{CERT}:receiver:types:1"
# The rehabilitation contracts' model and the older data types it is built on.
REHAB = f"urn:riv:{REHABILITATION_DOMAIN}:1"
TYPES_2 = f"{CERT}:types:2"
# The legacy insurance-process contracts (RIV-TA Basic Profile 2.0).
INSURANCE_DOMAIN = "insuranceprocess:healthreporting"
# ResultOfCall and its parts.
HEALTHREPORTING = f"urn:riv:{INSURANCE_DOMAIN}:2"
# CertificateMetaType and the version 1 status names.
INSURANCE_CERTIFICATE = "urn:riv:insuranceprocess:certificate:1"

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
RIV_REGISTRY = "urn:riv:itintegration:registry:1"
WS_ADDRESSING = "http://www.w3.org/2005/08/addressing"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
