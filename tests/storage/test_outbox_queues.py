"""Which queues the delivery loop sees as due, and in which order a queue is claimed (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from intygsgw.interactions import CERTIFICATE_STATUS_UPDATE_FOR_CARE_3, REVOKE_CERTIFICATE_2
from intygsgw.storage.outbox import destination_key

NOW = dt.datetime(2026, 11, 23, 12, 0, 0)
LEASE = dt.timedelta(minutes=2)


@pytest.fixture
def store(outbox_database):
    return outbox_database[1].store


# Larger than INLINE_PAYLOAD_BYTES, as a certificate for a recipient is: kept in outbox_payload.
PAYLOAD = b"<x>" + b"a" * 2000 + b"</x>"


def add(
    store, address: str, reference: str, contract: str = REVOKE_CERTIFICATE_2.namespace, at: dt.datetime = NOW
) -> int:
    with store.writing() as uow:
        uow.outbox.enqueue(
            contract=contract,
            logical_address=address,
            kind="revoke",
            reference=reference,
            payload=PAYLOAD,
            correlation_id=reference,
            now=at,
        )
        uow.commit()
        return uow.outbox.find(reference=reference, limit=1)[0].id


def due(store, now=NOW, exclude=()) -> set[str]:
    with store.reading() as uow:
        return set(uow.outbox.due_destinations(now, exclude))


def test_due_queues_are_those_with_an_unclaimed_item_due_now(store):
    fk, ts = (
        destination_key(REVOKE_CERTIFICATE_2.namespace, "FKORG"),
        destination_key(REVOKE_CERTIFICATE_2.namespace, "TRANSP"),
    )
    care = destination_key(CERTIFICATE_STATUS_UPDATE_FOR_CARE_3.namespace, "SE2321000016-1001")
    assert due(store) == set()
    add(store, "FKORG", "a")
    later = add(store, "TRANSP", "b")
    add(store, "SE2321000016-1001", "c", contract=CERTIFICATE_STATUS_UPDATE_FOR_CARE_3.namespace)
    dead = add(store, "AF", "d")
    with store.writing() as uow:
        uow.outbox.schedule_retry(later, NOW + dt.timedelta(minutes=5), "down", NOW)
        uow.outbox.mark_dead(dead, "refused", NOW)
        uow.commit()
    assert due(store) == {fk, care}
    assert due(store, exclude={care}) == {fk}
    assert due(store, now=NOW + dt.timedelta(minutes=6)) == {fk, ts, care}
    with store.writing() as uow:
        assert [i.reference for i in uow.outbox.claim(fk, NOW, LEASE, "w", 10)] == ["a"]
        uow.commit()
    assert due(store) == {care}  # claimed: not due again until the lease runs out
    assert fk in due(store, now=NOW + LEASE + dt.timedelta(seconds=1))


def test_a_queue_is_claimed_most_overdue_first_in_batches(store):
    fk = destination_key(REVOKE_CERTIFICATE_2.namespace, "FKORG")
    for n in range(5):
        add(store, "FKORG", f"r{n}", at=NOW - dt.timedelta(seconds=n))
    with store.writing() as uow:
        first = uow.outbox.claim(fk, NOW, LEASE, "w1", 2)
        second = uow.outbox.claim(fk, NOW, LEASE, "w2", 10)
        uow.commit()
    assert [i.reference for i in first] == ["r4", "r3"]
    assert [i.reference for i in second] == ["r2", "r1", "r0"]


def test_a_late_failure_does_not_undo_a_delivery_recorded_by_another_claimant(store):
    item = add(store, "FKORG", "late-failure")
    with store.writing() as uow:
        uow.outbox.mark_done([item], NOW)
        uow.outbox.mark_dead(item, "refused", NOW)
        uow.outbox.schedule_retry(item, NOW + dt.timedelta(minutes=5), "down", NOW)
        uow.commit()
    with store.reading() as uow:
        got = uow.outbox.get(item)
    assert (got.state, got.attempts, got.last_error) == ("DONE", 1, None)


def test_settled_items_older_than_the_retention_go_with_their_payloads_and_the_rest_stay(outbox_database):
    from intygsgw.service.outbox_retention import purge_settled_outbox, retention_cutoff

    services = outbox_database[1]
    store = services.store
    old, recent = NOW - dt.timedelta(days=40), NOW - dt.timedelta(days=2)
    done_old = [add(store, "FKASSA", f"done-old-{i}", at=old) for i in range(5)]
    done_recent = add(store, "FKASSA", "done-recent", at=recent)
    discarded_old = add(store, "FKASSA", "discarded-old", at=old)
    dead_old = add(store, "FKASSA", "dead-old", at=old)
    pending_old = add(store, "FKASSA", "pending-old", at=old)
    with store.writing() as uow:
        uow.outbox.mark_done(done_old, old)
        uow.outbox.mark_done([done_recent], recent)
        uow.outbox.discard([discarded_old], old)
        uow.outbox.mark_dead(dead_old, "refused", old)
        uow.commit()

    # Batches of two: the purge goes on until a batch comes back short.
    assert purge_settled_outbox(services, retention_cutoff(NOW, 30), batch=2) == 6
    with store.reading() as uow:
        left = {i.reference: i.state for i in uow.outbox.find(limit=100)}
        payloads = uow.connection.exec_driver_sql("SELECT count(*) FROM outbox_payload").scalar()
    assert left == {"done-recent": "DONE", "dead-old": "DEAD", "pending-old": "PENDING"}
    assert payloads == 3  # no payload outlives its item
    assert pending_old and purge_settled_outbox(services, retention_cutoff(NOW, 30)) == 0


def test_a_small_payload_is_kept_in_the_items_row_a_large_one_apart_and_both_come_back_whole(outbox_database):
    store = outbox_database[1].store
    small, large = b'{"queue": "certificate.queue"}\n', PAYLOAD
    for reference, payload in (("small", small), ("large", large)):
        with store.writing() as uow:
            uow.outbox.enqueue(
                contract=REVOKE_CERTIFICATE_2.namespace, logical_address="FKORG", kind="revoke",
                reference=reference, payload=payload, correlation_id=reference, now=NOW,
            )  # fmt: skip
            uow.commit()
    with store.reading() as uow:
        found = {i.reference: i.payload for i in uow.outbox.find(limit=10)}
        apart = uow.connection.exec_driver_sql("SELECT count(*) FROM outbox_payload").scalar()
        inline = uow.connection.exec_driver_sql("SELECT count(*) FROM outbox WHERE payload IS NOT NULL").scalar()
    assert found == {"small": small, "large": large}
    assert (apart, inline) == (1, 1)
    with store.writing() as uow:
        claimed = uow.outbox.claim(destination_key(REVOKE_CERTIFICATE_2.namespace, "FKORG"), NOW, LEASE, "w", 10)
        uow.commit()
    assert sorted(i.payload for i in claimed) == sorted([small, large])


def test_an_operator_finds_a_certificates_event_by_reference_as_its_deliveries_though_the_index_leaves_events_out(
    outbox_database,
):
    store = outbox_database[1].store
    for kind, contract, address in (
        ("event", "jms:certificate.queue", "broker"),
        ("revoke", REVOKE_CERTIFICATE_2.namespace, "FKORG"),
    ):
        for reference in ("cert-1", "cert-2"):
            with store.writing() as uow:
                uow.outbox.enqueue(
                    contract=contract, logical_address=address, kind=kind, reference=reference,
                    payload=b"{}\n", correlation_id=reference, now=NOW,
                )  # fmt: skip
                uow.commit()
    with store.reading() as uow:
        found = sorted((i.kind, i.reference) for i in uow.outbox.find(reference="cert-1", limit=10))
        ids = uow.outbox.find_ids(reference="cert-2")
    assert found == [("event", "cert-1"), ("revoke", "cert-1")]
    assert len(ids) == 2


def test_a_late_failure_of_a_claimant_whose_item_was_taken_over_leaves_the_new_claim_alone(store):
    # Drain A froze past its lease (its claims' heartbeat failing too) and B took the item over.
    # A's failure then cleared B's claim and moved the item's next attempt, so a third drain could
    # claim it while B was still sending it: a recipient would get it twice.
    item = add(store, "FKORG", "taken-over")
    destination = destination_key(REVOKE_CERTIFICATE_2.namespace, "FKORG")
    with store.writing() as uow:
        assert uow.outbox.claim_ids(destination, NOW, LEASE, "A", 10) == [item]
        uow.commit()
    later = NOW + LEASE + dt.timedelta(seconds=1)
    with store.writing() as uow:
        assert uow.outbox.claim_ids(destination, later, LEASE, "B", 10) == [item]
        uow.outbox.schedule_retry(item, later + dt.timedelta(minutes=5), "timed out", later, claimant="A")
        uow.outbox.mark_dead(item, "refused", later, claimant="A")
        uow.commit()
    with store.reading() as uow:
        [stored] = uow.outbox.items([item])
    assert (stored.state, stored.attempts, stored.last_error, stored.next_attempt_at) == ("PENDING", 0, None, NOW)
    with store.writing() as uow:
        assert uow.outbox.claim_ids(destination, later, LEASE, "C", 10) == []  # still B's
        uow.outbox.schedule_retry(item, later + dt.timedelta(minutes=5), "timed out", later, claimant="B")
        uow.commit()
    with store.reading() as uow:
        [stored] = uow.outbox.items([item])
    assert (stored.attempts, stored.last_error) == (1, "timed out")
