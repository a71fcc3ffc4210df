"""Broker events keep the order they were written in, also when a publish fails and is tried again."""

from __future__ import annotations

import datetime as dt

from intygsgw.app import build_services
from intygsgw.config.settings import Settings
from intygsgw.delivery.deliverer import Deliverer, DeliveryConfig
from intygsgw.domain.events import BROKER_ADDRESS, CREATED, REVOKED, BrokerEvent, encode, statistics_event
from intygsgw.domain.outcome import Outcome
from intygsgw.storage.outbox import DONE, destination_key

T0 = dt.datetime(2026, 12, 5, 12, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def utc(self) -> dt.datetime:
        return self.now


class FailsOnce:
    """A broker that refuses the first batch and confirms every later one."""

    def __init__(self) -> None:
        self.calls = 0
        self.published: list[str] = []

    def publish_all(self, events: list[BrokerEvent]) -> tuple[int, Outcome]:
        self.calls += 1
        if self.calls == 1:
            return 0, Outcome("connect", text="broker down")
        self.published += [e.properties["action"] for e in events]
        return len(events), Outcome("result", result_code="OK")


def test_an_event_tried_again_is_still_published_before_the_ones_written_after_it(tmp_path):
    services = build_services(Settings(db=f"sqlite:///{tmp_path / 'e.db'}"), migrate=True)
    clock, broker = Clock(), FailsOnce()
    deliverer = Deliverer(services.store, services.outbound, clock, DeliveryConfig(event_linger_seconds=0), broker)

    def write(action: str, at: dt.datetime) -> str:
        event = statistics_event("certificate.queue", action, "c-1", "lisjp")
        with services.store.writing() as uow:
            uow.outbox.enqueue(
                contract=event.contract, logical_address=BROKER_ADDRESS, kind="event", reference="c-1",
                payload=encode(event), correlation_id="k", now=at,
            )  # fmt: skip
            uow.commit()
        return destination_key(event.contract, BROKER_ADDRESS)

    queue = write(CREATED, T0)
    deliverer.drain(queue)  # the broker is down: created waits
    write(REVOKED, T0 + dt.timedelta(seconds=10))
    clock.now = T0 + dt.timedelta(hours=2)  # long after the retry
    deliverer.drain(queue)

    assert broker.published == [CREATED, REVOKED]
    with services.store.reading() as uow:
        items = uow.outbox.find(limit=10)
    assert {i.state for i in items} == {DONE} and max(i.attempts for i in items) == 2
    services.store.engine.dispose()


def test_an_event_queue_is_drained_by_one_drain_at_a_time_and_a_recipient_by_several(tmp_path):
    # Two drains of one event queue would claim a batch each and publish them side by side,
    # so a certificate's sent could go out before its created (seen in CI).
    services = build_services(Settings(db=f"sqlite:///{tmp_path / 'e.db'}"), migrate=True)
    deliverer = Deliverer(
        services.store, services.outbound, Clock(), DeliveryConfig(event_linger_seconds=0), FailsOnce()
    )
    events = destination_key(statistics_event("certificate.queue", CREATED, "c-1", "lisjp").contract, BROKER_ADDRESS)
    recipient = destination_key(
        "urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3", "FKASSA"
    )
    for queue in (events, recipient):
        deliverer._running[queue] = 1
        deliverer._delivering.add(queue)
    assert not deliverer._may_start_drain(events)
    assert deliverer._may_start_drain(recipient)
    services.store.engine.dispose()
