"""Message (ärende) storage and validation against real databases (SQLite file and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from intygsgw.app import build_services
from intygsgw.config.settings import Settings
from intygsgw.domain.records import TO_CARE, TO_RECIPIENT, CertificateRecord
from intygsgw.domain.states import HSVARD, State
from intygsgw.service import messages as svc_messages
from intygsgw.service.messages import Claim, IncomingMessage
from tests.support.databases import BOTH, database_url

PERSON = "191212121212"
NOW = dt.datetime(2026, 11, 23, 10, 0, 0)


@pytest.fixture(params=BOTH)
def services(request, tmp_path):
    url = database_url(request, tmp_path, "msg.db")
    svc = build_services(Settings(db=url), migrate=True)
    with svc.store.writing() as uow:
        # Each test starts from an empty message table (the PostgreSQL database is per module).
        uow.connection.exec_driver_sql("DELETE FROM message")
        uow.connection.exec_driver_sql("DELETE FROM certificate_state")
        uow.connection.exec_driver_sql("DELETE FROM certificate_document")
        uow.connection.exec_driver_sql("DELETE FROM certificate")
        for cid, test in (("cert-1", False), ("cert-test", True)):
            uow.certificates.add(
                CertificateRecord(
                    id=cid,
                    type="lisjp",
                    type_version="1.3",
                    person_id=PERSON,
                    signed_at=NOW,
                    care_unit_id="unit-1",
                    care_unit_name="Enhet",
                    care_giver_id="giver-1",
                    doctor_id="doc-1",
                    doctor_name="Doktor",
                    test_certificate=test,
                    received_at=NOW,
                ),
                b"<intyg/>",
                {},
            )
            uow.certificates.add_state(cid, State.RECEIVED, HSVARD, NOW)
        uow.commit()
    yield svc
    svc.store.engine.dispose()


def msg(message_id="m-1", **kw) -> IncomingMessage:
    values = dict(
        message_id=message_id,
        certificate_id="cert-1",
        subject="KONTKT",
        person_id=PERSON,
        sender="FKASSA",
        recipient_address="unit-1",
        document=b"<m/>",
    )
    values.update(kw)
    return IncomingMessage(**values)


def store(svc, m: IncomingMessage, direction=TO_CARE):
    assert svc_messages.claim_message(svc, m, direction) is Claim.CLAIMED
    svc_messages.settle_message(svc, m.message_id, stored=True)


def test_claim_is_exclusive_under_concurrency(services):
    results = []
    barrier = threading.Barrier(8)

    def claim():
        barrier.wait()
        results.append(svc_messages.claim_message(services, msg("dup"), TO_CARE) is Claim.CLAIMED)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_released_claim_frees_the_id_and_confirmed_one_is_listed(services):
    assert svc_messages.claim_message(services, msg("a"), TO_CARE) is Claim.CLAIMED
    svc_messages.settle_message(services, "a", stored=False)
    assert svc_messages.claim_message(services, msg("a"), TO_CARE) is Claim.CLAIMED
    with services.store.reading() as uow:
        assert uow.messages.stored_for(["cert-1"]) == {"cert-1": []}  # pending is not listed
    svc_messages.settle_message(services, "a", stored=True)
    with services.store.reading() as uow:
        [stored] = uow.messages.stored_for(["cert-1"])["cert-1"]
    assert (stored.message_id, stored.state, stored.document, stored.direction) == ("a", "STORED", b"<m/>", TO_CARE)


def test_to_care_passes_and_fails_with_reference_texts(services):
    assert svc_messages.validate_to_care(services, msg()) is None
    prefix = "Validation of SendMessageToCare failed for message with question id {} and certificate id {}. "
    cases = [
        (msg(sender="NOPE"), "[SkickatAv part code NOPE is not valid]"),
        (
            msg(subject="ARBTID"),
            "[SUBJECT_NOT_SUPPORTED_ERROR,  The supplied certificate subject is invalid. "
            "Supported subjects are KOMPLT, AVSTMN, KONTKT, OVRIGT, PAMINN]",
        ),
        (msg(person_id="195206172339"), "[CIVIC_REGISTRATION_NUMBER_INCONSISTENCY_ERROR]"),
        (msg(subject="PAMINN"), "[PAMINNELSE_ID_INCONSISTENCY_ERROR]"),
        (msg(reminder_of="x"), "[PAMINNELSE_ID_INCONSISTENCY_ERROR]"),
        (msg(subject="PAMINN", reminder_of="missing"), "[REFERENCED_MESSAGE_NOT_FOUND_ERROR]"),
        (msg(reply_to="missing"), "[REFERENCED_MESSAGE_NOT_FOUND_ERROR]"),
        (msg(has_komplettering=True), "[KOMPLETTERING_INCONSISTENCY_ERROR]"),
        (
            msg(certificate_id="cert-test"),
            "[TEST_CERTIFICATE,  The supplied certificate is invalid. Messages cannot be sent for test certificates.]",
        ),
        (msg(certificate_id="nope"), "[Unknown certificate ID: nope, Unknown certificate ID: nope]"),
    ]
    for m, expected in cases:
        result = svc_messages.validate_to_care(services, m)
        assert (result.code, result.error_id.value) == ("ERROR", "VALIDATION_ERROR")
        assert result.text == prefix.format(m.message_id, m.certificate_id) + expected

    store(services, msg("q-1", subject="KOMPLT"))
    dup = svc_messages.validate_to_care(services, msg("q-1"))
    assert dup.text.endswith("[MEDDELANDE_ID_NOT_UNIQUE_ERROR, Meddelande-id is not a GUID]")
    wrong = svc_messages.validate_to_care(services, msg("a-1", reply_to="q-1", subject="OVRIGT"))
    assert wrong.text.endswith(
        "[SUBJECT_CONSISTENCY_ERROR,  Message with meddelandeId q-1 referenced by reply "
        "message with id a-1 regarding certificate with id cert-1]"
    )
    deadline = svc_messages.validate_to_care(services, msg("a-1", reply_to="q-1", subject="KOMPLT", has_deadline=True))
    assert deadline.text.endswith(
        "[MESSAGE_TYPE_CONSISTENCY_ERROR,  Message concerning certificate id cert-1 is an "
        "answer to a questionand should not specify a last date of reply 'sistaSvarsDatum'.]"
    )
    assert svc_messages.validate_to_care(services, msg("a-1", reply_to="q-1", subject="KOMPLT")) is None
    assert svc_messages.validate_to_care(services, msg("p-1", subject="PAMINN", reminder_of="q-1")) is None


def test_to_recipient_passes_and_fails_with_reference_texts(services):
    def check(m, text, error_id="VALIDATION_ERROR"):
        result = svc_messages.validate_to_recipient(services, m)
        assert (result.code, result.error_id.value, result.text) == ("ERROR", error_id, text)

    check(msg(), "[Certificate is not sent to recipient]")
    with services.store.writing() as uow:
        uow.certificates.add_state("cert-1", State.SENT, "FKASSA", NOW)
        uow.commit()
    assert svc_messages.validate_to_recipient(services, msg()) is None
    check(msg(subject="ARBTID"), "[Invalid amneskod]")
    check(msg(reminder_of="x"), "[paminnelseMeddelandeId should only be present if amne is PAMINN]")
    check(msg(subject="PAMINN"), "[PAMINN should define paminnelseMeddelandeId]")
    check(msg(subject="PAMINN", reminder_of="x"), "[Paminnelse Meddelande does not exist]")
    check(msg(reply_to="x"), "[SvarPa Meddelande does not exist]")
    check(msg(person_id="195206172339"), "[PatientPersonId is not consistent with certificate]")
    check(msg(subject="ARBTID", certificate_id="nope"), "Intyg does not exist", "APPLICATION_ERROR")
    store(services, msg("q-1", subject="AVSTMN"), TO_RECIPIENT)
    check(msg("q-1"), "[MeddelandeId is not globally unique]")
    check(
        msg("a-1", reply_to="q-1", has_deadline=True),
        "[SistaDatumForSvar is only valid on Questions, Svar amne is not consistent with question]",
    )
    assert svc_messages.validate_to_recipient(services, msg("a-1", reply_to="q-1", subject="AVSTMN")) is None


def counts(svc, direction) -> tuple[int, int, int, int]:
    """(total, unanswered, answered, handled) of cert-1's questions sent in ``direction``."""
    with svc.store.reading() as uow:
        c = svc_messages.question_counts(uow.messages.stored_for(["cert-1"])["cert-1"], direction)
    return c.total, c.unanswered, c.answered, c.handled


def mark_handled(svc, message_id: str) -> None:
    with svc.store.writing() as uow:
        assert uow.messages.mark_handled(message_id, NOW)
        uow.commit()


def test_question_counts_split_unanswered_answered_handled(services):
    store(services, msg("q-1"))
    store(services, msg("q-2"))
    store(services, msg("q-3"))
    store(services, msg("a-1", reply_to="q-1", sender="unit-1"), TO_RECIPIENT)
    store(services, msg("q-out"), TO_RECIPIENT)
    mark_handled(services, "q-2")
    # q-1 answered by care and q-2 marked handled are both handled.
    assert counts(services, TO_CARE) == (3, 1, 0, 2)
    assert counts(services, TO_RECIPIENT) == (1, 1, 0, 0)


def test_a_recipients_answer_leaves_cares_question_answered_until_handled(services):
    store(services, msg("q-out"), TO_RECIPIENT)
    store(services, msg("a-in", reply_to="q-out"))
    assert counts(services, TO_RECIPIENT) == (1, 0, 1, 0)
    mark_handled(services, "q-out")
    assert counts(services, TO_RECIPIENT) == (1, 0, 0, 1)


def test_claim_left_by_a_dead_relay_is_taken_over_once_stale(services, tmp_path):
    from intygsgw.clock import Clock, write_offset

    offset = tmp_path / "offset"
    write_offset(str(offset), 0)
    services.clock = Clock(str(offset))
    assert (
        svc_messages.claim_message(services, msg("orphan"), TO_CARE) is Claim.CLAIMED
    )  # its process then dies: never settled
    assert (
        svc_messages.claim_message(services, msg("orphan"), TO_CARE) is Claim.DUPLICATE
    )  # a relay may still be running
    write_offset(str(offset), svc_messages.STALE_CLAIM_AGE.total_seconds() + 60)
    time.sleep(0.1)  # the clock re-reads its offset file at most every 50 ms
    assert svc_messages.claim_message(services, msg("orphan"), TO_CARE) is Claim.CLAIMED
    svc_messages.settle_message(services, "orphan", stored=True)
    write_offset(str(offset), 10 * svc_messages.STALE_CLAIM_AGE.total_seconds())
    time.sleep(0.1)
    assert (
        svc_messages.claim_message(services, msg("orphan"), TO_CARE) is Claim.DUPLICATE
    )  # a stored message is never reclaimed


def test_on_postgresql_two_questions_stored_at_once_each_notify_care_of_all_stored(postgres_database, tmp_path):
    # Each settle counted the certificate's questions without the other's uncommitted one, so the
    # later notification told care of one question where two had come.
    from lxml import etree

    from intygsgw.app import build_app
    from intygsgw.devtools.samples import CertificateSpec, register_certificate
    from tests.support.databases import waiting_for_locks
    from tests.support.routes import write_stub_routes
    from tests.support.waiting import wait_until

    routes = write_stub_routes(tmp_path / "routes.toml", "http://127.0.0.1:9", ["CertificateStatusUpdateForCare:3"])
    app = build_app(Settings(db=postgres_database, routes_file=str(routes)), migrate=True)
    svc = app.dispatcher.services
    cid = f"notified-{dt.datetime.now().timestamp()}"
    try:
        envelope = register_certificate(CertificateSpec(certificate_id=cid, care_unit_id="unit-1"))
        assert app.dispatcher.handle(envelope).outcome == "OK"
        questions = [msg(f"{cid}-q{n}", certificate_id=cid) for n in (1, 2)]
        for question in questions:
            assert svc_messages.claim_message(svc, question, TO_CARE) is Claim.CLAIMED
        settles = [
            threading.Thread(target=svc_messages.settle_message, args=(svc, q.message_id, True)) for q in questions
        ]
        with svc.store.writing() as uow:
            uow.certificates.get_for_update(cid)  # both settles now wait for this, then for each other
            for settle in settles:
                settle.start()
            wait_until(lambda: waiting_for_locks(svc.store) >= 2, "both settles waiting for the certificate")
            uow.commit()
        for settle in settles:
            settle.join(30)
        with svc.store.reading() as uow:
            notifications = [item for item in uow.outbox.find(reference=cid) if item.kind == "notification"]
        last = max(notifications, key=lambda item: item.id)  # queued after the other, so delivered after it
        received = etree.fromstring(last.payload).find(".//{*}mottagnaFragor")
        assert received.findtext("{*}totalt") == "2"
    finally:
        svc.store.engine.dispose()
