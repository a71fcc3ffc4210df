"""Sample certificates and request envelopes: demos, tests and benchmarks share them.

``register_certificate(CertificateSpec(certificate_id="…"))`` gives a complete
~10 KB RegisterCertificate 3 request for an FK 7804 (LISJP) certificate that
passes the schema and the type's business rules; the other builders give the
requests of the lifecycle and list contracts for the same certificate.
"""

from intygsgw.devtools.samples.certificates import (
    CARE_GIVER,
    CARE_UNIT,
    CORE,
    DOCTOR,
    OTHER_PATIENT,
    PATIENT,
    REGISTER,
    TYPES,
    CertificateSpec,
    intyg_content,
    intyg_document,
    personnummer,
    unique_certificate_ids,
)
from intygsgw.devtools.samples.requests import (
    HUB_ADDRESS,
    envelope,
    get_certificate,
    get_certificate_type_info,
    list_active_sick_leaves_for_care_unit,
    list_certificates_for_care,
    list_certificates_for_citizen,
    list_relations_for_certificate,
    list_sick_leaves_for_care,
    list_sick_leaves_for_person,
    register_certificate,
    revoke_certificate,
    send_certificate_to_recipient,
    set_certificate_status,
)

__all__ = [
    "CARE_GIVER",
    "CARE_UNIT",
    "CORE",
    "DOCTOR",
    "HUB_ADDRESS",
    "OTHER_PATIENT",
    "PATIENT",
    "REGISTER",
    "TYPES",
    "CertificateSpec",
    "envelope",
    "get_certificate",
    "get_certificate_type_info",
    "intyg_content",
    "intyg_document",
    "list_active_sick_leaves_for_care_unit",
    "list_certificates_for_care",
    "list_certificates_for_citizen",
    "list_relations_for_certificate",
    "list_sick_leaves_for_care",
    "list_sick_leaves_for_person",
    "personnummer",
    "register_certificate",
    "revoke_certificate",
    "send_certificate_to_recipient",
    "set_certificate_status",
    "unique_certificate_ids",
]
