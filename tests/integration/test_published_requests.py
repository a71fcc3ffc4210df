"""Requests that the published request schemas accept, the gateway accepts too.

Each sample request (the shapes EHR systems send) is first checked against the
published schema, then sent; no answer may be a schema rejection.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.published import published_schema
from tests.support.soapclient import endpoint_path

# Every test here compares the gateway with the published contracts; the
# fixture marks each one `conformance` (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("published_contracts")

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CID = str(uuid.uuid4())

REQUESTS = {
    ("RegisterCertificate", 3): lambda: samples.register_certificate(
        CertificateSpec(certificate_id=CID, relation=("KOMPLT", str(uuid.uuid4())))
    ),
    ("GetCertificate", 2): lambda: samples.get_certificate(CID),
    ("SetCertificateStatus", 2): lambda: samples.set_certificate_status(CID, "DELETE"),
    ("ListCertificatesForCare", 3): lambda: samples.list_certificates_for_care(
        care_unit_ids=(samples.CARE_UNIT, "SE2321000016-9999")
    ),
    ("ListCertificatesForCitizen", 3): lambda: samples.list_certificates_for_citizen(
        major=3, type_codes=("LISJP", "LUSE"), from_date="2026-01-01", to_date="2026-12-31"
    ),
    ("ListCertificatesForCitizen", 4): lambda: samples.list_certificates_for_citizen(major=4, archived=True),
    ("ListRelationsForCertificate", 1): lambda: samples.list_relations_for_certificate((CID, "other")),
    ("GetCertificateTypeInfo", 1): lambda: samples.get_certificate_type_info(CID),
    ("RevokeCertificate", 2): lambda: samples.revoke_certificate(CID, message=None),
}


@pytest.fixture(scope="module")
def gateway(sqlite_gateway):
    return sqlite_gateway


@pytest.mark.parametrize("contract", list(REQUESTS), ids=lambda c: f"{c[0]}-{c[1]}")
def test_published_valid_request_is_accepted(gateway, contract):
    envelope = REQUESTS[contract]()
    body = etree.fromstring(envelope).find(f"{{{SOAP_ENV}}}Body")[0]
    schema = published_schema(*contract)
    assert schema.validate(etree.ElementTree(etree.fromstring(etree.tostring(body)))), schema.error_log
    response = requests.post(
        gateway.base_url + endpoint_path(*contract),
        data=envelope,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=UTF-8"},
    )
    assert b"Unmarshalling Error" not in response.content, response.text[:1000]
    assert response.status_code in (200, 500)
    etree.fromstring(response.content)  # a well-formed SOAP answer either way
