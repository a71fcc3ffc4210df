"""Validation persons: stored and readable, never sent, revocations not forwarded, purged."""

from __future__ import annotations

import time

import pytest
import requests

from intygsgw.devtools.samples import (
    CertificateSpec,
    get_certificate,
    register_certificate,
    revoke_certificate,
    send_certificate_to_recipient,
    set_certificate_status,
)
from intygsgw.devtools.samples.certificates import OTHER_PATIENT, PATIENT
from intygsgw.domain.validation_persons import parse_validation_persons
from intygsgw.storage.db import connect_sqlite
from tests.messages.test_message_relay_http import to_recipient
from tests.support.server import GatewayProcess

from .conftest import cli

VALIDATION_PERSON = OTHER_PATIENT  # 197705232382
PATHS = {
    "register": "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21",
    "get": "/clinicalprocess/healthcond/certificate/GetCertificate/2/rivtabp21",
    "send": "/clinicalprocess/healthcond/certificate/SendCertificateToRecipient/2/rivtabp21",
    "status": "/clinicalprocess/healthcond/certificate/SetCertificateStatus/2/rivtabp21",
    "revoke": "/clinicalprocess/healthcond/certificate/RevokeCertificate/2/rivtabp21",
    "message": "/clinicalprocess/healthcond/certificate/SendMessageToRecipient/2/rivtabp21",
}


def _gateway(workdir, **env) -> GatewayProcess:
    return GatewayProcess(
        workdir,
        workers=1,
        extra_env={
            "INTYGSGW_DELIVERY": "false",
            "INTYGSGW_VALIDATION_PERSONS": "19770523-2382",
            **{f"INTYGSGW_{k.upper()}": str(v) for k, v in env.items()},
        },
    ).start()


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    g = _gateway(tmp_path_factory.mktemp("gw-validation"), validation_purge_every=0)
    yield g
    g.stop()


def call(gw, kind, body) -> str:
    r = requests.post(gw.base_url + PATHS[kind], data=body, headers={"Content-Type": "text/xml"}, timeout=30)
    return r.text


def register(gw, cid, person):
    assert "<core:resultCode>OK</core:resultCode>" in call(
        gw, "register", register_certificate(CertificateSpec(certificate_id=cid, person_id=person))
    )


def db_rows(gw, sql, *args):
    with connect_sqlite(gw.workdir / "intygsgw.db") as db:
        return db.execute(sql, args).fetchall()


def test_parse_setting():
    assert parse_validation_persons("19770523-2382, 191212121212\n") == {"197705232382", "191212121212"}
    with pytest.raises(ValueError, match="not a person id"):
        parse_validation_persons("197705232382, nonsense")


def test_registered_and_read_but_never_sent(gw):
    register(gw, "val-1", VALIDATION_PERSON)
    assert "val-1" in call(gw, "get", get_certificate("val-1"))
    answer = call(gw, "send", send_certificate_to_recipient("val-1", "FKASSA", person_id=VALIDATION_PERSON))
    assert "<core:resultCode>ERROR</core:resultCode>" in answer
    assert "VALIDATION_ERROR" in answer
    assert "Certificate 'val-1' couldn't be sent to recipient because the patient is a validation person" in answer
    assert not db_rows(gw, "SELECT 1 FROM certificate_state WHERE certificate_id = 'val-1' AND state = 'SENT'")


def mark_sent_before_listing(gw, cid):
    """A certificate sent to FKASSA before its patient was listed as a validation person."""
    with connect_sqlite(gw.workdir / "intygsgw.db") as db:
        db.execute(
            "INSERT INTO certificate_state (certificate_id, state, target, timestamp) "
            "VALUES (?, 'SENT', 'FKASSA', '2026-01-01 10:00:00.000000')",
            (cid,),
        )


def test_revocation_is_not_forwarded_for_validation_persons(gw):
    # Both certificates were sent to FKASSA; only the ordinary patient's
    # revocation is queued for Försäkringskassan.
    register(gw, "ordinary-2", PATIENT)
    assert "OK" in call(gw, "status", set_certificate_status("ordinary-2", "SENTTO", part="FKASSA"))
    register(gw, "val-2", VALIDATION_PERSON)
    mark_sent_before_listing(gw, "val-2")
    for cid, person in (("val-2", VALIDATION_PERSON), ("ordinary-2", PATIENT)):
        assert "<core:resultCode>OK</core:resultCode>" in call(gw, "revoke", revoke_certificate(cid, person))
    queued = {r[0] for r in db_rows(gw, "SELECT reference FROM outbox WHERE kind = 'revoke'")}
    assert "ordinary-2" in queued and "val-2" not in queued


def test_no_recipient_hears_of_a_validation_persons_certificate(gw):
    # SENTTO would open the message relay to recipients; and a certificate
    # that was sent before its patient was listed gets no messages relayed.
    register(gw, "val-4", VALIDATION_PERSON)
    answer = call(gw, "status", set_certificate_status("val-4", "SENTTO", part="FKASSA"))
    assert "VALIDATION_ERROR" in answer
    assert "Cannot set the certificate to SENT as the patient is a validation person" in answer
    assert not db_rows(gw, "SELECT 1 FROM certificate_state WHERE certificate_id = 'val-4' AND state = 'SENT'")
    mark_sent_before_listing(gw, "val-4")
    answer = call(gw, "message", to_recipient("val-4-question", "val-4", "KONTKT", person=VALIDATION_PERSON))
    assert "VALIDATION_ERROR" in answer
    assert (
        "Message about certificate 'val-4' couldn't be sent to recipient because the patient is a validation person"
    ) in answer
    assert not db_rows(gw, "SELECT 1 FROM message WHERE certificate_id = 'val-4'")


def test_cli_purge_removes_only_validation_persons(gw):
    register(gw, "val-3", VALIDATION_PERSON)
    register(gw, "ordinary-3", PATIENT)
    # A question from FK about the certificate and the patient's choice of
    # receivers are the certificate's data too.
    with connect_sqlite(gw.workdir / "intygsgw.db") as db:
        db.execute(
            "INSERT INTO message (message_id, certificate_id, subject, sender, recipient_address, direction, "
            "has_deadline, received_at, state, handled, document) VALUES ('val-3-question', 'val-3', "
            "'KONTKT', 'FKASSA', 'SE2321000016-1003', 'TO_CARE', 0, '2026-01-01 10:00:00.000000', 'STORED', "
            "0, x'3c6d2f3e')"
        )
        db.executemany(
            "INSERT INTO approved_receiver (certificate_id, receiver_id, approved) VALUES (?, 'FKASSA', 1)",
            [("val-3",), ("ordinary-3",)],
        )
    kept = cli(gw.workdir, "purge-validation-persons", env={"INTYGSGW_VALIDATION_PERSONS": VALIDATION_PERSON})
    assert kept.returncode == 0 and "purged 0 certificate(s)" in kept.stdout  # younger than 30 days
    done = cli(
        gw.workdir,
        "purge-validation-persons",
        "--older-than",
        "0",
        env={"INTYGSGW_VALIDATION_PERSONS": VALIDATION_PERSON},
    )
    assert done.returncode == 0, done.stderr
    ids = {r[0] for r in db_rows(gw, "SELECT id FROM certificate")}
    assert {"ordinary-2", "ordinary-3"} <= ids
    assert not ids & {"val-1", "val-2", "val-3", "val-4"}
    assert db_rows(gw, "SELECT message_id FROM message WHERE certificate_id LIKE 'val-%'") == []
    assert db_rows(gw, "SELECT certificate_id FROM approved_receiver") == [("ordinary-3",)]
    assert "is invalid or does not exist" in call(gw, "get", get_certificate("val-3"))
    assert "ordinary-3" in call(gw, "get", get_certificate("ordinary-3"))


def test_serving_gateway_purges_periodically(tmp_path):
    g = _gateway(tmp_path, validation_retention_days=0, validation_purge_every=1)
    try:
        register(g, "val-periodic", VALIDATION_PERSON)
        register(g, "ordinary-periodic", PATIENT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and db_rows(g, "SELECT 1 FROM certificate WHERE id = 'val-periodic'"):
            time.sleep(0.2)
        assert not db_rows(g, "SELECT 1 FROM certificate WHERE id = 'val-periodic'")
        assert db_rows(g, "SELECT 1 FROM certificate WHERE id = 'ordinary-periodic'")
    finally:
        g.stop()
