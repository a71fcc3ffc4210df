"""What an operator scrapes at ``/metrics`` (Prometheus text format).

The serving parent and every worker count into one set of files
(prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, set by
``intygsgw serve`` before any of them imports this module), so a scrape that
reaches any worker sees the whole gateway: calls counted in all workers,
deliveries counted in the parent. Outbox depth, age and dead items are read
from the database at scrape time, so they are right whichever process answers.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter("intygsgw_requests", "SOAP calls answered, by contract and result", ["contract", "result"])
REQUEST_SECONDS = Histogram(
    "intygsgw_request_duration_seconds",
    "Time from the first byte read to the answer, by contract",
    ["contract"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_SIZE = Histogram(
    "intygsgw_group_commit_batch_size",
    "Writes committed together by one group commit",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
DELIVERIES = Counter(
    "intygsgw_deliveries",
    "Outbox deliveries settled, by destination and outcome (done, retry, dead)",
    ["destination", "outcome"],
)
TYPE_RELOADS = Counter(
    "intygsgw_certificate_type_reloads", "Reloads of the certificate type folder, by outcome (ok, error)", ["outcome"]
)


def observe_request(contract: str, result: str, seconds: float) -> None:
    REQUESTS.labels(contract or "(none)", result or "(none)").inc()
    REQUEST_SECONDS.labels(contract or "(none)").observe(seconds)


def observe_batch(size: int) -> None:
    BATCH_SIZE.observe(size)


def count_delivery(destination: str, outcome: str, items: int = 1) -> None:
    DELIVERIES.labels(destination, outcome).inc(items)


def count_type_reload(ok: bool) -> None:
    TYPE_RELOADS.labels("ok" if ok else "error").inc()


OutboxCounts = Callable[[], list[tuple[str, str, int, dt.datetime | None]]]


class OutboxCollector(Collector):
    """Outbox depth, oldest item's age and dead items per destination, read at scrape time.

    ``counts`` returns (destination, state, items, oldest created_at) rows.
    """

    def __init__(self, counts: OutboxCounts, now: Callable[[], dt.datetime]):
        self.counts = counts
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("intygsgw_outbox_pending", "Items waiting for delivery", labels=["destination"])
        age = GaugeMetricFamily(
            "intygsgw_outbox_oldest_pending_age_seconds", "Age of the oldest waiting item", labels=["destination"]
        )
        dead = GaugeMetricFamily(
            "intygsgw_outbox_dead", "Items refused for good, until an operator acts", labels=["destination"]
        )
        now = self.now()
        for destination, state, items, oldest in self.counts():
            if state == "PENDING":
                depth.add_metric([destination], items)
                if oldest is not None:
                    age.add_metric([destination], max(0.0, (now - oldest).total_seconds()))
            elif state == "DEAD":
                dead.add_metric([destination], items)
        yield from (depth, age, dead)


def exposition(outbox: OutboxCollector | None) -> bytes:
    """The text a scrape gets: every process's counters, and the outbox as it is now."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        MultiProcessCollector(registry)
    else:  # one process (tools, tests): its own counters are all there is
        for collector in (REQUESTS, REQUEST_SECONDS, BATCH_SIZE, DELIVERIES, TYPE_RELOADS):
            registry.register(collector)
    if outbox is not None:
        registry.register(outbox)
    return generate_latest(registry)
