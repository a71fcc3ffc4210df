"""Two writers at once on PostgreSQL: a write computed from rows the other has not committed yet.

PostgreSQL runs several workers' and gateways' transactions side by side, each statement reading
what was committed when it began; SQLite lets one writer in at a time, so none of this can happen
there. Each test holds a first transaction open until the second is seen waiting for a lock, then
commits both and checks that the second wrote with the first's rows in view.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import text

from intygsgw.app import build_services
from intygsgw.config.settings import Settings
from intygsgw.domain.records import TO_CARE, ApprovedReceiver, MessageRecord
from intygsgw.domain.sick_leave import SickLeaveCertificate, WorkCapacity
from intygsgw.service import care_provider
from intygsgw.service import messages as svc_messages
from intygsgw.storage import sick_leave as sick_leave_storage
from tests.service.test_lifecycle import register
from tests.support.databases import waiting_for_locks
from tests.support.waiting import wait_until

T = TypeVar("T")
PATIENT = "191212121212"
GIVER = "SE-GIVER-TW"
SIGNED = dt.datetime(2026, 12, 1, 10)


@pytest.fixture(scope="module")
def services(postgres_database):
    made = build_services(Settings(db=postgres_database), migrate=True)
    yield made
    made.store.engine.dispose()


def _leave(cid: str, unit: str, minutes: int, patient: str = PATIENT) -> SickLeaveCertificate:
    return SickLeaveCertificate(
        cid, patient, "Tolvan", GIVER, unit, "Enheten", "SE-DOC-1", "Doktor",
        SIGNED + dt.timedelta(minutes=minutes), "M544",
        (WorkCapacity(dt.date(2026, 12, 1), dt.date(2026, 12, 20), 100),),
    )  # fmt: skip


def _listed(services, unit: str) -> list[list[str]]:
    today = dt.date(2026, 12, 5)
    with services.store.reading() as uow:
        return [ids for _, ids, _ in uow.sick_leave.unit_listing(GIVER, [unit], today, today)]


def _written(services, step: Callable) -> None:
    with services.store.writing() as uow:
        step(uow)
        uow.commit()


def _one_waiting_for_the_other(services, first: Callable, second: Callable) -> None:
    """``first`` in a transaction held open until ``second``, on another thread, waits for a lock; then both commit."""
    _held_until_waiting(services, first, lambda: _written(services, second))


def _held_until_waiting(services, first: Callable, action: Callable[[], T]) -> T:
    """``first`` in a transaction held open until ``action``, on another thread, waits for a lock; then
    ``first`` commits and ``action``'s result is returned once it has finished."""
    failures: list[BaseException] = []
    results: list[T] = []

    def run_second() -> None:
        try:
            results.append(action())
        except Exception as exc:
            failures.append(exc)

    def second_waits() -> int:
        return len(failures) or waiting_for_locks(services.store)

    with services.store.writing() as uow:
        first(uow)
        writer = threading.Thread(target=run_second)
        writer.start()
        wait_until(second_waits, "the second writer waiting for the first")
        uow.commit()
    writer.join(30)
    assert not writer.is_alive() and failures == []
    return results[0]


def test_two_certificates_added_for_one_patient_on_one_unit_are_both_listed(services):
    # Without the patient's lock each listed only its own, and the later commit won.
    _one_waiting_for_the_other(
        services,
        lambda uow: uow.sick_leave.add(_leave("tw-a", "SE-U-ADD", 0), "<a/>"),
        lambda uow: uow.sick_leave.add(_leave("tw-b", "SE-U-ADD", 1), "<b/>"),
    )
    assert _listed(services, "SE-U-ADD") == [["tw-a", "tw-b"]]


def test_revoking_both_certificates_that_replace_one_brings_it_back(services):
    # Each revocation saw the other newer certificate still standing, so neither cleared the old
    # one's replaced flag, and it stayed off the lists (§2.4).
    unit = "SE-U-BACK"

    def stored(uow) -> None:
        for cid, minutes in (("tw-old", 0), ("tw-ersatt", 1), ("tw-komplt", 2)):
            uow.sick_leave.add(_leave(cid, unit, minutes), f"<{cid}/>")
        uow.certificates.add_relation("tw-ersatt", "tw-old", "ERSATT", SIGNED)
        uow.certificates.add_relation("tw-komplt", "tw-old", "KOMPLT", SIGNED)

    _written(services, stored)
    assert _listed(services, unit) == [["tw-ersatt", "tw-komplt"]]
    _one_waiting_for_the_other(
        services,
        lambda uow: uow.sick_leave.mark_deleted("tw-ersatt"),
        lambda uow: uow.sick_leave.mark_deleted("tw-komplt"),
    )
    assert _listed(services, unit) == [["tw-old"]]


def test_a_revocation_while_the_row_is_being_added_finds_the_row(services):
    # The certificate-service's signed and revoked events of one certificate handled at once on two
    # gateways: the revocation's update found no committed row, changed nothing, and the certificate
    # stayed listed.
    def signed(uow) -> None:
        uow.sick_leave.lock("tw-cs")
        assert not uow.sick_leave.has("tw-cs")
        uow.sick_leave.add(_leave("tw-cs", "SE-U-CS", 0), "<cs/>")

    _one_waiting_for_the_other(services, signed, lambda uow: uow.sick_leave.mark_deleted("tw-cs"))
    with services.store.reading() as uow:
        rows = uow.sick_leave.of_patient(PATIENT, include_deleted=True)
    assert [deleted for c, deleted in rows if c.certificate_id == "tw-cs"] == [True]
    assert _listed(services, "SE-U-CS") == []


def test_two_choices_of_approved_receivers_at_once_leave_the_later_one(services):
    # Each deleted only the rows committed before it, so both choices were kept: FKASSA approved
    # and not approved.
    _written(services, lambda uow: uow.approved_receivers.replace("tw-ar", [ApprovedReceiver("FKASSA", True)]))
    _one_waiting_for_the_other(
        services,
        lambda uow: uow.approved_receivers.replace(
            "tw-ar", [ApprovedReceiver("FKASSA", True), ApprovedReceiver("AF", False)]
        ),
        lambda uow: uow.approved_receivers.replace(
            "tw-ar", [ApprovedReceiver("FKASSA", False), ApprovedReceiver("AF", True)]
        ),
    )
    with services.store.reading() as uow:
        assert uow.approved_receivers.for_certificate("tw-ar") == [
            ApprovedReceiver("FKASSA", False),
            ApprovedReceiver("AF", True),
        ]


def test_a_change_to_many_patients_at_once_locks_the_table_and_still_lists_what_others_add(services, monkeypatch):
    # A care provider's erasure or restore may touch thousands of patients, more than PostgreSQL's
    # lock table has room for: past the limit the sick-leave table is locked instead.
    monkeypatch.setattr(sick_leave_storage, "PATIENT_LOCKS_AT_MOST", 1)
    unit, other = "SE-U-MANY", "197705232382"

    def stored(uow) -> None:
        uow.sick_leave.add(_leave("tw-m1", unit, 0), "<m1/>")
        uow.sick_leave.add(_leave("tw-m2", unit, 1, patient=other), "<m2/>")

    _written(services, stored)

    def both_patients_again(uow) -> None:
        sick_leave_storage.refresh_derived(uow.connection, ["tw-m1", "tw-m2"])
        [[mode]] = uow.connection.exec_driver_sql(
            "SELECT mode FROM pg_locks WHERE locktype = 'relation' AND granted"
            " AND relation = 'sick_leave_certificate'::regclass AND pid = pg_backend_pid()"
            " AND mode = 'ExclusiveLock'"
        ).all()
        assert mode == "ExclusiveLock"

    _one_waiting_for_the_other(
        services, both_patients_again, lambda uow: uow.sick_leave.add(_leave("tw-m3", unit, 2), "<m3/>")
    )
    assert _listed(services, unit) == [["tw-m1", "tw-m3"], ["tw-m2"]]


def test_an_import_skips_a_certificate_stored_meanwhile_and_restores_the_rest(services):
    # The import found the id free, then a registration (here another restore) of it committed first:
    # the insert failed and took the import's whole batch with it, the operator left to run it again.
    register(services, "tw-imp-a")
    register(services, "tw-imp-b")
    exported = list(care_provider.export_all(services, "SE-GIVER-1"))
    assert [e.certificate_id for e in exported] == ["tw-imp-a", "tw-imp-b"]
    care_provider.erase_care_provider(services, "SE-GIVER-1")

    report = _held_until_waiting(
        services,
        lambda uow: uow.care_provider.restore(exported[0]),
        lambda: care_provider.import_certificates(services, exported),
    )
    assert report == care_provider.ImportReport(restored=1, skipped=1)
    assert care_provider.export_counts(services, "SE-GIVER-1") == (2, 0)


def _question(cid: str) -> MessageRecord:
    return MessageRecord(
        f"q-{cid}", cid, "KONTKT", None, None, None, "FKASSA", "SE-UNIT-1", TO_CARE, False, None, SIGNED, b"<q/>"
    )


def _messages_of(services, cid: str) -> int:
    with services.store.reading() as uow:
        # Pending claims too, which the repository's reads leave out.
        return uow.connection.execute(
            text("SELECT count(*) FROM message WHERE certificate_id = :c"), {"c": cid}
        ).scalar_one()


def test_a_message_claimed_while_its_certificate_is_erased_finds_it_gone(services):
    # Validated while the certificate was stored, claimed after a care provider's erasure had
    # deleted its messages: the message stayed behind, data of an erased certificate.
    register(services, "tw-msg-a")
    incoming = svc_messages.IncomingMessage("q-tw-msg-a", "tw-msg-a", "KONTKT", PATIENT, "FKASSA", "SE-UNIT-1", b"<q/>")
    claim = _held_until_waiting(
        services,
        lambda uow: uow.care_provider.erase(["tw-msg-a"]),
        lambda: svc_messages.claim_message(services, incoming, TO_CARE),
    )
    assert claim is svc_messages.Claim.NO_CERTIFICATE
    assert _messages_of(services, "tw-msg-a") == 0


def test_an_erasure_deletes_a_message_claimed_while_it_started(services):
    register(services, "tw-msg-b")

    def claimed(uow) -> None:
        uow.certificates.get_for_update("tw-msg-b")
        assert uow.messages.claim(_question("tw-msg-b"))

    _one_waiting_for_the_other(services, claimed, lambda uow: uow.care_provider.erase(["tw-msg-b"]))
    assert _messages_of(services, "tw-msg-b") == 0
