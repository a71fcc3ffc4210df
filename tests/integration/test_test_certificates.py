"""A test certificate over SOAP (hub-behaviour §2.6): readable by care, never sent.

Without a population register nothing registered over SOAP is a test
certificate, so each test sets the flag in the gateway's database, as the
reference sets it from the register's testIndicator at registration.
"""

from __future__ import annotations

import pytest
import zeep.exceptions
from sqlalchemy import create_engine, text

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.integration.test_lifecycle_contracts import (
    get,
    listed_ids,
    new_id,
    part,
    person,
    register,
    set_status,
    statuses,
)

PATIENT = "196804122399"


def flagged_as_test(gateway, client) -> str:
    cid = new_id()
    assert register(client, CertificateSpec(certificate_id=cid, person_id=PATIENT)).resultCode == "OK"
    url = gateway.db or f"sqlite:///{gateway.workdir / 'intygsgw.db'}"
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE certificate SET test_certificate = :t WHERE id = :id"), {"t": True, "id": cid})
    finally:
        engine.dispose()
    return cid


def test_care_reads_a_test_certificate_and_no_other_part_does(gateway, client):
    cid = flagged_as_test(gateway, client)
    assert statuses(get(client, cid, "HSVARD")) == [("HSVARD", "RECEIV")]
    with pytest.raises(zeep.exceptions.Fault) as fault:
        get(client, cid, "FKASSA")
    assert fault.value.message == (
        f"Failed to retrieve certificate: {cid} because it is flagged as test certificate and part is set as: FKASSA"
    )


def test_a_test_certificate_is_not_sent_and_cannot_be_marked_sent(gateway, client):
    cid = flagged_as_test(gateway, client)
    result, _ = client.call_raw(
        "SendCertificateToRecipient", 2, samples.send_certificate_to_recipient(cid, person_id=PATIENT)
    )
    assert (result.result.resultCode, result.result.errorId, result.result.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        f"Certificate '{cid}' couldn't be sent to recipient because it is a test certificate",
    )
    refused = set_status(client, cid, "SENTTO", part_code="FKASSA")
    assert (refused.resultCode, refused.errorId, refused.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "Cannot set the certificate to SENT as it is flagged as a test certificate",
    )
    # Neither left a trace: care still sees it received only.
    assert statuses(get(client, cid, "HSVARD")) == [("HSVARD", "RECEIV")]


def test_the_citizen_list_holding_a_test_certificate_is_for_care_and_the_citizen_only(gateway, client):
    cid = flagged_as_test(gateway, client)
    request = {"person-id": person(PATIENT), "intygTyp": [], "arkiverade": False}
    for shown_to in ("INVANA", "HSVARD"):
        result, raw = client.call("ListCertificatesForCitizen", 3, **request, part=part(shown_to))
        assert result.result.resultCode == "OK"
        assert cid in listed_ids(raw)
    result, raw = client.call("ListCertificatesForCitizen", 3, **request, part=part("FKASSA"))
    assert (result.result.resultCode, result.result.errorId, result.result.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "Failed to retrieve certificates because it is flagged as test certificate and part is set as: FKASSA",
    )
    assert listed_ids(raw) == []
