"""Outbox delivery: throughput to one receiver, and whether a dead receiver slows a healthy one.

    python benchmarks/delivery_throughput.py [--items 10000] [--latency-items 300] [--db URL]

1. Throughput: ``--items`` RevokeCertificate 2 requests are queued for one
   stub recipient (a real ``intygsgw stub-recipient`` process) in one
   transaction, then the gateway's own delivery loop (intygsgw.app's
   Deliverer, as ``intygsgw serve`` runs it) drains the queue. Prints
   deliveries/s. Target: >= 500/s on the 2-core machine.
2. Isolation: revocations are queued for the healthy receiver one at a time
   at a steady pace and each one's latency (queued → confirmed, from the
   outbox's own timestamps) is measured, first alone, then with a dead
   receiver beside it: a second stub that holds every call past the route's
   read timeout, with a backlog and a one-second retry ladder so that it
   keeps failing throughout. Prints p50/p95 of both and the ratio
   with/without. Target: ratio <= 1.2.

Nothing here asserts: the machines are shared, so figures are read and reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lxml import etree  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from intygsgw.app import build_deliverer, build_services  # noqa: E402
from intygsgw.config.settings import Settings  # noqa: E402
from intygsgw.devtools.samples import revoke_certificate  # noqa: E402
from intygsgw.devtools.stub.process import StubProcess  # noqa: E402
from intygsgw.interactions import REVOKE_CERTIFICATE_2  # noqa: E402
from intygsgw.storage.models import OutboxRow  # noqa: E402
from intygsgw.storage.outbox import DONE  # noqa: E402

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
HEALTHY, DEAD = "FKORG", "TRANSP"
DEAD_READ_TIMEOUT = 1.0


def payload(cid: str) -> bytes:
    return etree.tostring(etree.fromstring(revoke_certificate(cid)).find(f"{{{SOAP}}}Body")[0])


def routes(path: Path, healthy_url: str, dead_url: str) -> Path:
    path.write_text(
        f"""
[[route]]
contract = "RevokeCertificate:2"
logical_address = "{HEALTHY}"
url = "{healthy_url}/revoke"

[[route]]
contract = "RevokeCertificate:2"
logical_address = "{DEAD}"
url = "{dead_url}/revoke"
read_timeout = {DEAD_READ_TIMEOUT}
""",
        encoding="utf-8",
    )
    return path


def enqueue(services, address: str, n: int) -> list[int]:
    now = services.clock.utc()
    with services.store.writing() as uow:
        for _ in range(n):
            cid = str(uuid.uuid4())
            uow.outbox.enqueue(
                contract=REVOKE_CERTIFICATE_2.namespace,
                logical_address=address,
                kind="revoke",
                reference=cid,
                payload=payload(cid),
                correlation_id=str(uuid.uuid4()),
                now=now,
            )
        uow.commit()


def count_done(services, address: str) -> int:
    with services.store.reading() as uow:
        return sum(n for _, a, state, n in uow.outbox.counts(destination=address) if state == DONE)


def clear(services) -> None:
    with services.store.writing() as uow:
        uow.connection.exec_driver_sql("DELETE FROM outbox")
        uow.commit()


def last_delivery(services) -> dt.datetime | None:
    with services.store.reading() as uow:
        return uow.connection.execute(select(func.max(OutboxRow.delivered_at))).scalar()


def throughput(settings: Settings, items: int) -> float:
    services = build_services(settings)
    clear(services)
    t0 = time.perf_counter()
    enqueue(services, HEALTHY, items)
    print(f"  queued {items} revocations in {time.perf_counter() - t0:.1f} s")
    started = services.clock.utc()
    deliverer = build_deliverer(settings, services).start()
    try:
        # Checking for the end reads the table, so it is done rarely; the time
        # itself is the last delivery's own timestamp.
        while count_done(services, HEALTHY) < items:
            time.sleep(0.5)
        elapsed = (last_delivery(services) - started).total_seconds()
    finally:
        deliverer.stop()
        services.store.engine.dispose()
    return items / elapsed


def latencies(settings: Settings, n: int, dead_backlog: int, pace: float = 0.02) -> list[float]:
    services = build_services(settings)
    clear(services)
    if dead_backlog:
        enqueue(services, DEAD, dead_backlog)
    deliverer = build_deliverer(settings, services).start()
    try:
        if dead_backlog:
            time.sleep(DEAD_READ_TIMEOUT + 0.5)  # the dead receiver's first calls are timing out now
        for _ in range(n):
            enqueue(services, HEALTHY, 1)
            time.sleep(pace)
        deadline = time.monotonic() + 60
        while count_done(services, HEALTHY) < n and time.monotonic() < deadline:
            time.sleep(0.2)
        with services.store.reading() as uow:
            done = uow.outbox.find(destination=HEALTHY, state=DONE, limit=n)
            dead_attempts = sum(i.attempts for i in uow.outbox.find(destination=DEAD, limit=dead_backlog or 1))
    finally:
        deliverer.stop()
        services.store.engine.dispose()
    if dead_backlog:
        print(f"  the dead receiver was called {dead_attempts} time(s), each held {DEAD_READ_TIMEOUT:g} s")
    if len(done) < n:
        print(f"  only {len(done)} of {n} delivered within 60 s")
    return [(i.delivered_at - i.created_at).total_seconds() * 1000 for i in done]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> int:
    # The dead receiver's failures are expected; keep the figures readable.
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("intygsgw.delivery").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--latency-items", type=int, default=300)
    parser.add_argument("--dead-backlog", type=int, default=2_000)
    parser.add_argument("--db", help="SQLAlchemy URL; default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="intygsgw-delivery-") as tmp:
        tmp = Path(tmp)
        healthy = StubProcess(tmp / "healthy", name="healthy", extra_args=["--threads", "16", "--keep", "1000"])
        dead = StubProcess(tmp / "dead", name="dead", extra_args=["--threads", "16", "--keep", "1000"])
        healthy.start()
        dead.start()
        try:
            dead.client.add_rule(delay_ms=int(DEAD_READ_TIMEOUT * 1000) + 5_000)
            db = args.db or f"sqlite:///{tmp / 'outbox.db'}"
            route_file = routes(tmp / "routes.toml", healthy.base_url, dead.base_url)
            build_services(Settings(db=db), migrate=True).store.engine.dispose()
            base = Settings(db=db, routes_file=str(route_file))

            print(f"1. throughput: {args.items} revocations to one stub recipient ({db.split(':')[0]})")
            rate = throughput(base, args.items)
            print(f"  deliveries/s: {rate:.0f}   (target >= 500; ratio to target {rate / 500:.2f})")

            print(f"2. latency to a healthy receiver, {args.latency_items} revocations, one every 20 ms")
            fast_retry = Settings(db=db, routes_file=str(route_file), retry_delays="1s")
            alone = latencies(fast_retry, args.latency_items, 0)
            beside = latencies(fast_retry, args.latency_items, args.dead_backlog)
            for label, values in (("alone", alone), ("beside a dead receiver", beside)):
                print(f"  {label:<24} p50 {statistics.median(values):7.1f} ms   p95 {pct(values, 0.95):7.1f} ms")
            ratio50 = statistics.median(beside) / statistics.median(alone)
            ratio95 = pct(beside, 0.95) / pct(alone, 0.95)
            print(f"  ratio with/without dead receiver: p50 {ratio50:.2f}, p95 {ratio95:.2f}   (target <= 1.2)")
        finally:
            healthy.stop()
            dead.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
