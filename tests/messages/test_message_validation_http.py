"""Every SendMessageToCare / SendMessageToRecipient rule over HTTP: a failing case with the
reference's exact text, and the passing neighbour that the same gateway relays."""

from __future__ import annotations

import pytest
import requests

from intygsgw.devtools.samples import send_certificate_to_recipient
from tests.messages.test_message_relay_http import XML, post, register, result, to_care, to_recipient

DEADLINE = "<m:sistaDatumForSvar>2026-12-01</m:sistaDatumForSvar>"
KOMPLETTERING = "<m:komplettering><m:frage-id>1</m:frage-id><m:text>Ange diagnos.</m:text></m:komplettering>"
CARE_PREFIX = "Validation of SendMessageToCare failed for message with question id {} and certificate id {}. "


@pytest.fixture(scope="module")
def certs(gateway):
    register(gateway, "v-cert")
    sent = requests.post(
        gateway.base_url + "/clinicalprocess/healthcond/certificate/SendCertificateToRecipient/2/rivtabp21",
        data=send_certificate_to_recipient("v-cert"),
        headers=XML,
        timeout=30,
    )
    assert b">OK<" in sent.content
    register(gateway, "v-unsent")
    # Questions both ways to refer to.
    assert result(post(gateway, "SendMessageToCare", to_care("v-fq", "v-cert", "KOMPLT")))[0] == "OK"
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("v-cq", "v-cert", "AVSTMN")))[0] == "OK"


CARE_CASES = [  # (failing kwargs, expected list, passing kwargs)
    ("part", dict(part="XXX"), "[SkickatAv part code XXX is not valid]", dict(part="FKASSA")),
    ("unique", dict(mid="v-fq"), "[MEDDELANDE_ID_NOT_UNIQUE_ERROR, Meddelande-id is not a GUID]", dict()),
    (
        "subject",
        dict(amne="ARBTID"),
        "[SUBJECT_NOT_SUPPORTED_ERROR,  The supplied certificate subject is invalid. "
        "Supported subjects are KOMPLT, AVSTMN, KONTKT, OVRIGT, PAMINN]",
        dict(amne="OVRIGT"),
    ),
    ("exists", dict(cid="v-none"), "[Unknown certificate ID: v-none, Unknown certificate ID: v-none]", dict()),
    ("person", dict(person="195206172339"), "[CIVIC_REGISTRATION_NUMBER_INCONSISTENCY_ERROR]", dict()),
    (
        "deadline",
        dict(amne="AVSTMN", svar_pa="v-cq", tail=DEADLINE),
        "[MESSAGE_TYPE_CONSISTENCY_ERROR,  Message concerning certificate id v-cert is an answer to a questionand "
        "should not specify a last date of reply 'sistaSvarsDatum'.]",
        dict(amne="AVSTMN", svar_pa="v-cq"),
    ),
    ("paminn-id", dict(amne="PAMINN"), "[PAMINNELSE_ID_INCONSISTENCY_ERROR]", dict(amne="PAMINN", paminnelse="v-fq")),
    (
        "paminn-ref",
        dict(amne="PAMINN", paminnelse="v-nope"),
        "[REFERENCED_MESSAGE_NOT_FOUND_ERROR]",
        dict(amne="PAMINN", paminnelse="v-fq"),
    ),
    ("svar-ref", dict(svar_pa="v-nope"), "[REFERENCED_MESSAGE_NOT_FOUND_ERROR]", dict(amne="AVSTMN", svar_pa="v-cq")),
    (
        "svar-subject",
        dict(amne="KONTKT", svar_pa="v-cq"),
        "[SUBJECT_CONSISTENCY_ERROR,  Message with meddelandeId v-cq referenced by reply message with id {mid} "
        "regarding certificate with id v-cert]",
        dict(amne="AVSTMN", svar_pa="v-cq"),
    ),
    (
        "komplettering",
        dict(amne="OVRIGT", tail=KOMPLETTERING),
        "[KOMPLETTERING_INCONSISTENCY_ERROR]",
        dict(amne="KOMPLT", tail=KOMPLETTERING),
    ),
]


@pytest.mark.parametrize("name,failing,expected,passing", CARE_CASES, ids=[c[0] for c in CARE_CASES])
def test_send_message_to_care_rule(gateway, stub, certs, name, failing, expected, passing):
    args = dict(mid=f"v-care-{name}", cid="v-cert") | failing
    mid, cid = args.pop("mid"), args.pop("cid")
    assert result(post(gateway, "SendMessageToCare", to_care(mid, cid, **args))) == (
        "ERROR",
        "VALIDATION_ERROR",
        CARE_PREFIX.format(mid, cid) + expected.format(mid=mid),
    )
    args = dict(mid=f"v-care-ok-{name}", cid="v-cert") | passing
    mid, cid = args.pop("mid"), args.pop("cid")
    assert result(post(gateway, "SendMessageToCare", to_care(mid, cid, **args))) == ("OK", None, None)


RECIPIENT_CASES = [
    ("subject", dict(amne="ARBTID"), "[Invalid amneskod]", dict(amne="OVRIGT")),
    (
        "deadline",
        dict(amne="KOMPLT", svar_pa="v-fq", tail=DEADLINE),
        "[SistaDatumForSvar is only valid on Questions]",
        dict(amne="KONTKT", tail=DEADLINE),
    ),
    ("unique", dict(mid="v-cq", amne="AVSTMN"), "[MeddelandeId is not globally unique]", dict()),
    (
        "paminn-only",
        dict(amne="KONTKT", paminnelse="v-cq"),
        "[paminnelseMeddelandeId should only be present if amne is PAMINN]",
        dict(amne="PAMINN", paminnelse="v-cq"),
    ),
    (
        "paminn-id",
        dict(amne="PAMINN"),
        "[PAMINN should define paminnelseMeddelandeId]",
        dict(amne="PAMINN", paminnelse="v-cq"),
    ),
    (
        "paminn-ref",
        dict(amne="PAMINN", paminnelse="v-nope"),
        "[Paminnelse Meddelande does not exist]",
        dict(amne="PAMINN", paminnelse="v-cq"),
    ),
    ("svar-ref", dict(svar_pa="v-nope"), "[SvarPa Meddelande does not exist]", dict(amne="KOMPLT", svar_pa="v-fq")),
    (
        "svar-subject",
        dict(amne="OVRIGT", svar_pa="v-fq"),
        "[Svar amne is not consistent with question]",
        dict(amne="KOMPLT", svar_pa="v-fq"),
    ),
    ("person", dict(person="195206172339"), "[PatientPersonId is not consistent with certificate]", dict()),
    ("sent", dict(cid="v-unsent"), "[Certificate is not sent to recipient]", dict()),
]


@pytest.mark.parametrize("name,failing,expected,passing", RECIPIENT_CASES, ids=[c[0] for c in RECIPIENT_CASES])
def test_send_message_to_recipient_rule(gateway, stub, certs, name, failing, expected, passing):
    args = dict(mid=f"v-rec-{name}", cid="v-cert", amne="KONTKT") | failing
    mid, cid = args.pop("mid"), args.pop("cid")
    assert result(post(gateway, "SendMessageToRecipient", to_recipient(mid, cid, **args))) == (
        "ERROR",
        "VALIDATION_ERROR",
        expected,
    )
    args = dict(mid=f"v-rec-ok-{name}", cid="v-cert", amne="KONTKT") | passing
    mid, cid = args.pop("mid"), args.pop("cid")
    assert result(post(gateway, "SendMessageToRecipient", to_recipient(mid, cid, **args))) == ("OK", None, None)


def test_unknown_certificate_replaces_all_other_recipient_errors(gateway, stub, certs):
    assert result(
        post(gateway, "SendMessageToRecipient", to_recipient("v-rec-x", "v-none", amne="ARBTID", svar_pa="v-nope"))
    ) == ("ERROR", "APPLICATION_ERROR", "Intyg does not exist")


def test_a_message_to_care_about_a_test_certificate_is_refused_and_not_relayed(gateway, stub, certs):
    # Without a population register nothing registered over SOAP is a test certificate;
    # the flag is set in the gateway's database as the reference sets it from PU's testIndicator.
    from sqlalchemy import create_engine, text

    register(gateway, "v-test")
    engine = create_engine(f"sqlite:///{gateway.workdir / 'intygsgw.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE certificate SET test_certificate = :t WHERE id = 'v-test'"), {"t": True})
    finally:
        engine.dispose()
    stub.clear()
    assert result(post(gateway, "SendMessageToCare", to_care("v-care-test", "v-test"))) == (
        "ERROR",
        "VALIDATION_ERROR",
        CARE_PREFIX.format("v-care-test", "v-test")
        + "[TEST_CERTIFICATE,  The supplied certificate is invalid. Messages cannot be sent for test certificates.]",
    )
    assert stub.messages() == []
