"""How long a drain of an event queue waits to gather events: the statistics queue longer than the others."""

from __future__ import annotations

from intygsgw.app import build_deliverer, build_services
from intygsgw.config.settings import Settings
from intygsgw.domain.events import BROKER_ADDRESS, queue_contract
from intygsgw.storage.outbox import destination_key


class _Waits:
    """Stands in for the deliverer's stop event: records each wait and lets the drain go on at once."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        return False

    def is_set(self) -> bool:
        return len(self.timeouts) > 0  # one round is enough to see the wait


def _first_wait(deliverer, queue: str) -> float | None:
    waits = _Waits()
    deliverer._stop = waits
    deliverer.drain(destination_key(queue_contract(queue), BROKER_ADDRESS))
    return waits.timeouts[0]


def test_the_statistics_queue_waits_its_own_linger_and_the_notification_queue_the_common_one(tmp_path):
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'linger.db'}",
        statistics=True,
        statistics_queue="stats.q",
        statistics_linger=1.75,
        care_notification="queue",
        notification_queue="notes.q",
    )
    services = build_services(settings, migrate=True)
    deliverer = build_deliverer(settings, services)
    try:
        assert _first_wait(deliverer, "stats.q") == 1.75
        assert _first_wait(deliverer, "notes.q") == deliverer.config.event_linger_seconds == 0.5
    finally:
        services.store.engine.dispose()


def test_without_the_statistics_feed_no_queue_has_a_linger_of_its_own(tmp_path):
    settings = Settings(db=f"sqlite:///{tmp_path / 'linger.db'}", care_notification="queue")
    services = build_services(settings, migrate=True)
    try:
        assert build_deliverer(settings, services).config.queue_linger == {}
    finally:
        services.store.engine.dispose()
