"""Exported certificates (customer termination's format) without a gateway to export them from.

For benchmarks and tests that need a care provider of many certificates fast:
``intygsgw import`` of these stores what registering them would have stored
(the certificate, its document as received, the RECEIVED state).
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from intygsgw.devtools.samples.certificates import CORE, REGISTER, TYPES, CertificateSpec, intyg_content
from intygsgw.domain.records import CertificateExport


def register_element(spec: CertificateSpec) -> bytes:
    """The RegisterCertificate element as the gateway stores it from a request."""
    return (
        f'<r:RegisterCertificate xmlns:r="{REGISTER}" xmlns:c="{CORE}" xmlns:t="{TYPES}">'
        f"<r:intyg>{intyg_content(spec)}</r:intyg></r:RegisterCertificate>"
    ).encode()


def certificate_export(spec: CertificateSpec, received_at: dt.datetime, type_id: str = "lisjp") -> CertificateExport:
    document = register_element(spec)
    at = received_at.isoformat()
    rows = {
        "certificate": [
            {
                "id": spec.certificate_id,
                "type": type_id,
                "type_version": spec.version,
                "person_id": spec.person_id,
                "signed_at": spec.signed_at,
                "care_unit_id": spec.care_unit_id,
                "care_unit_name": spec.care_unit_name,
                "care_giver_id": spec.care_giver_id,
                "doctor_id": spec.doctor_id,
                "doctor_name": spec.doctor_name,
                "test_certificate": False,
                "deleted_by_care_giver": False,
                "received_at": at,
            }
        ],
        "certificate_document": [
            {
                "certificate_id": spec.certificate_id,
                "document": base64.b64encode(document).decode("ascii"),
                "namespaces": json.dumps({}),
            }
        ],
        "certificate_state": [
            {"certificate_id": spec.certificate_id, "state": "RECEIVED", "target": "HSVARD", "timestamp": at}
        ],
    }
    return CertificateExport(spec.certificate_id, spec.care_giver_id, False, document, rows)
