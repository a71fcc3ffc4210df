"""The delivery loop: drain each destination's queue on its own.

Every destination (contract + logical address) is drained by its own task in a
thread pool. A destination whose receiver cannot be reached (connection
error, timeout, HTTP error without a SOAP answer) opens its circuit until the
failed item's next attempt; its other items wait with it instead of each
burning a timeout, and no other destination waits at all. This is the fix for
the failure mode where one care system that could not receive blocked every
delivery behind it. A receiver that answers but turns one item down for now
(TECHNICAL_ERROR) delays only that item.

A batch's claim is renewed by a heartbeat while it is delivered, so a slow
receiver never lets another drain or gateway take it over and send it again.

Threads are shared, so a destination earns more than one of them: it gets a
second drain only after this process has seen it deliver, and extra drains
never take the last quarter of the pool. Receivers that hang until the read
timeout then hold one thread each, not four, and a queue that just became due
finds a free thread instead of waiting for their timeouts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from intygsgw import metrics
from intygsgw.clock import Clock
from intygsgw.delivery.schedule import RetrySchedule
from intygsgw.domain.events import BROKER_ADDRESS, BrokerEvent, decode, is_broker_contract
from intygsgw.domain.outcome import Outcome
from intygsgw.domain.records import OutboxItem
from intygsgw.outbound.routing import short_name
from intygsgw.outbound.sender import Outbound
from intygsgw.service.periodic import RepeatedFailures
from intygsgw.storage.db import CommitWatch
from intygsgw.storage.uow import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryConfig:
    poll_interval: float = 0.1
    # With nothing committed since the last poll (SQLite tells at once, see CommitWatch) the outbox is
    # read again only this often: for items whose retry time comes or whose claim lapses meanwhile.
    idle_poll_interval: float = 0.5
    batch_size: int = 50
    event_batch_size: int = 500
    event_linger_seconds: float = 0.5
    # Destination (intygsgw.storage.outbox.destination_key) -> its own linger instead.
    queue_linger: Mapping[str, float] = field(default_factory=dict)
    lease_seconds: float = 120.0
    max_threads: int = 32
    per_destination: int = 4  # parallel drains of one destination's queue
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    # This gateway's stable name among those sharing the outbox (hostname:port
    # by default). Claims are made under it, so a restarted gateway knows the
    # claims its dead predecessor left and takes them over at once.
    instance: str = ""


class Deliverer:
    def __init__(
        self,
        store: Store,
        outbound: Outbound,
        clock: Clock,
        config: DeliveryConfig = DeliveryConfig(),
        broker: Publisher | None = None,
    ):
        # Events for a message broker (contract jms:<queue>) are published there, SOAP calls sent.
        self.broker = broker
        self.store = store
        self.outbound = outbound
        self.clock = clock
        self.config = config
        self.instance = (config.instance or socket.gethostname())[:48]
        self.worker_id = f"{self.instance}:{os.getpid()}"
        self._drain_numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # destination -> drains in progress
        self._delivering: set[str] = set()  # destinations whose last batch delivered something
        self._open_until: dict[str, dt.datetime] = {}  # circuit breaker per destination
        self._opened_by: dict[str, int] = {}  # the item whose failure opened it
        self._in_flight: dict[str, set[int]] = {}  # claimant -> ids of its batch it still holds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> Deliverer:
        self.take_over_own_claims()
        self._pool = ThreadPoolExecutor(self.config.max_threads, thread_name_prefix="deliver")
        self._thread = threading.Thread(target=self._loop, name="deliverer", daemon=True)
        self._thread.start()
        self._heartbeat = threading.Thread(target=self._renew_claims, name="deliverer-claims", daemon=True)
        self._heartbeat.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
        if self._heartbeat:
            self._heartbeat.join(timeout)
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        failures = RepeatedFailures(log, "delivery loop (reading the outbox)")
        watch = self._open_watch()
        last_mark: int | None = None
        last_poll = float("-inf")
        failing = False
        try:
            while not self._stop.is_set():
                mark = watch.look() if watch is not None else None
                # An idle gateway's poll cost about a millisecond of CPU, ten times a second.
                if (
                    failing
                    or mark is None
                    or mark != last_mark
                    or self._draining()
                    or time.monotonic() - last_poll >= self.config.idle_poll_interval
                ):
                    # The mark is taken before the poll: a commit during it brings the next one.
                    last_mark, last_poll = mark, time.monotonic()
                    try:
                        self._schedule_due()
                    except Exception as exc:
                        failing = True
                        failures.failed(exc)
                    else:
                        failing = False
                        failures.succeeded()
                self._stop.wait(self.config.poll_interval)
        finally:
            if watch is not None:
                watch.close()

    def _open_watch(self) -> CommitWatch | None:
        try:
            return self.store.commit_watch()
        except Exception:
            log.warning("cannot watch the database for commits; the outbox is polled at every tick", exc_info=True)
            return None

    def _draining(self) -> bool:
        with self._lock:
            return any(self._running.values())

    def _renew_claims(self) -> None:
        """Keep the claims of batches in flight alive, however long one call takes.

        A batch to a slow receiver (or one call to a receiver that trickles its
        answer) outlasts a lease; without renewal another drain or gateway
        would take it over and send it again. Items delivered but not yet
        recorded are renewed too: they are still PENDING. An item whose claim
        lapsed anyway (a process frozen past its lease) and was taken over is
        dropped from its drain, which then leaves it to the new claimant.
        """
        lease = dt.timedelta(seconds=self.config.lease_seconds)
        renewals = RepeatedFailures(log, "renewing the claims of deliveries in flight")
        while not self._stop.wait(self.config.lease_seconds / 3):
            with self._lock:
                in_flight = {claimant: sorted(ids) for claimant, ids in self._in_flight.items()}
            if not in_flight:
                continue
            try:
                until = self.clock.utc() + lease
                with self.store.writing() as uow:
                    still = {
                        claimant: set(uow.outbox.renew(ids, claimant, until)) for claimant, ids in in_flight.items()
                    }
                    uow.commit()
            except Exception as exc:
                renewals.failed(exc)
                continue
            renewals.succeeded()
            with self._lock:
                for claimant, held in still.items():
                    if claimant in self._in_flight:
                        self._in_flight[claimant] &= held
            lost = sum(len(in_flight[c]) - len(still[c]) for c in still)
            if lost:
                log.warning(
                    "%d deliveries were taken over after their claim lapsed; leaving them to the new claimant", lost
                )

    # -- scheduling ---------------------------------------------------------------
    def _blocked(self, now: dt.datetime) -> set[str]:
        with self._lock:
            full = {d for d, n in self._running.items() if n >= self.config.per_destination}
            opened = {d: self._opened_by.get(d) for d, until in self._open_until.items() if until > now}
        if opened:
            self._close_circuits_settled_elsewhere(opened, now)
            with self._lock:
                opened = {d for d in opened if d in self._open_until}
        return full | set(opened)

    def _close_circuits_settled_elsewhere(self, opened: dict[str, int | None], now: dt.datetime) -> None:
        """An operator's ``outbox retry`` (or discard) of the item that opened a
        circuit closes it at once, instead of leaving the queue waiting for the
        retry time this process remembers."""
        items = [i for i in opened.values() if i is not None]
        with self.store.reading() as uow:
            waiting = set(uow.outbox.unsettled(items, now))
        with self._lock:
            for destination, item in opened.items():
                if item is not None and item not in waiting:
                    self._open_until.pop(destination, None)
                    self._opened_by.pop(destination, None)

    def _schedule_due(self) -> None:
        now = self.clock.utc()
        with self.store.reading() as uow:
            due = uow.outbox.due_destinations(now, exclude=self._blocked(now))
        with self._lock:
            # Queues nobody drains yet come first, whatever their place in `due`.
            due = sorted(due, key=lambda d: self._running.get(d, 0) > 0)
        for destination in due:
            with self._lock:
                if not self._may_start_drain(destination):
                    continue
                # Start one more drain per tick; a long queue ramps up to the limit.
                self._running[destination] = self._running.get(destination, 0) + 1
            self._pool.submit(self._drain_guarded, destination)

    def _may_start_drain(self, destination: str) -> bool:
        busy = sum(self._running.values())
        if busy >= self.config.max_threads:
            return False  # a submitted drain would queue behind hung ones instead of running
        running = self._running.get(destination, 0)
        if running == 0:
            return True
        if is_broker_contract(destination):
            # One drain per event queue: two would each claim a batch and publish them side by
            # side, and a certificate's sent could overtake its created.
            return False
        spare = self.config.max_threads - busy - 1
        return (
            running < self.config.per_destination
            and destination in self._delivering
            and spare >= self.config.max_threads // 4
        )

    def _drain_guarded(self, destination: str) -> None:
        try:
            self.drain(destination)
        except Exception:
            log.exception("delivery to %s failed unexpectedly; its items stay queued", destination)
        finally:
            with self._lock:
                self._running[destination] -= 1

    def run_until_idle(self, max_rounds: int = 10_000) -> None:
        """Deliver everything due now, in the calling thread (tools and tests).

        Claims are not renewed here (the heartbeat runs in a started
        deliverer): for receivers that answer well within the lease.
        """
        for _ in range(max_rounds):
            now = self.clock.utc()
            with self.store.reading() as uow:
                due = uow.outbox.due_destinations(now, exclude=self._blocked(now))
            if not due:
                return
            for destination in due:
                self.drain(destination)

    def take_over_own_claims(self) -> int:
        """Free the claims an earlier process of this gateway left when it died; returns how many.

        Another gateway must wait out such a claim's lease, as it cannot know
        the claimant is dead; this one can: only one process serves under its
        name at a time (a second start on a busy port stops). Its items are
        delivered again now rather than two minutes later.
        """
        with self.store.writing() as uow:
            freed = uow.outbox.release_stale(f"{self.instance}:", self.worker_id)
            uow.commit()
        if freed:
            log.info("took over %d delivery claim(s) left by this gateway's previous process", freed)
        return freed

    # -- delivering ---------------------------------------------------------------
    def drain(self, destination: str) -> None:
        # Each drain claims under its own name, so that a claim that lapsed and
        # was taken over, even by another drain of this process, is known lost.
        claimant = f"{self.worker_id}/{next(self._drain_numbers)}"
        lease = dt.timedelta(seconds=self.config.lease_seconds)
        limit = self.config.batch_size
        events = is_broker_contract(destination)
        if events:
            limit = self.config.event_batch_size
        full = False
        while not self._stop.is_set():
            if events and not full:
                # Events arrive with every registration: a moment's wait gathers them into
                # batches, each one broker round trip and two commits, instead of one per event;
                # also between batches, or a busy feed would go on in batches of the few events
                # that came during the last round trip.
                self._stop.wait(self.config.queue_linger.get(destination, self.config.event_linger_seconds))
            now = self.clock.utc()
            with self._lock:
                if self._open_until.get(destination, now) > now:
                    return
            with self.store.writing() as uow:
                ids = uow.outbox.claim_ids(destination, now, lease, claimant, limit)
                uow.commit()
            if not ids:
                return
            if events and self.broker is not None:
                with self.store.reading() as uow:
                    payloads = uow.outbox.payloads(ids)
                if not payloads:
                    return
                full = len(payloads) >= limit
                with self._holding(claimant, [item_id for item_id, _ in payloads]):
                    delivered = self._publish_claimed(destination, payloads, claimant)
            else:
                with self.store.reading() as uow:
                    items = uow.outbox.items(ids)
                if not items:
                    return
                full = len(items) >= limit
                with self._holding(claimant, [item.id for item in items]):
                    delivered = self._deliver_claimed(destination, items, claimant)
            if not delivered:
                return

    @contextlib.contextmanager
    def _holding(self, claimant: str, ids: list[int]) -> Iterator[None]:
        """``claimant``'s claims on ``ids`` are renewed while the block runs (see _renew_claims)."""
        with self._lock:
            self._in_flight[claimant] = set(ids)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.pop(claimant, None)

    def _settle(self, claimant: str, item: OutboxItem, outcome: str, write) -> None:
        """Record one item's outcome now, in a group-committed transaction shared with other writers."""
        self.store.write(write)
        metrics.count_delivery(_label(item), outcome)
        with self._lock:
            self._in_flight.get(claimant, set()).discard(item.id)  # no more renewing it

    def _held(self, claimant: str, items: list[OutboxItem]) -> list[int]:
        """The ids among ``items`` whose claim ``claimant`` still holds (see _renew_claims)."""
        return self._held_ids(claimant, [i.id for i in items])

    def _held_ids(self, claimant: str, ids: list[int]) -> list[int]:
        with self._lock:
            held = self._in_flight.get(claimant, set())
            return [i for i in ids if i in held]

    def _deliver_claimed(self, destination: str, items: list[OutboxItem], claimant: str) -> bool:
        done: list[int] = []
        untouched: list[int] = []
        healthy = True
        opened: tuple[dt.datetime, int] | None = None
        for index, item in enumerate(items):
            if self._stop.is_set():
                untouched = self._held(claimant, items[index:])
                break
            if not self._held(claimant, [item]):
                continue
            outcome = self._deliver(item)
            now = self.clock.utc()
            if outcome.succeeded:
                # Settled at once: a crash later in the batch must not send it again.
                self._settle(claimant, item, "done", lambda uow, i=item.id, at=now: uow.outbox.mark_done([i], at))
                done.append(item.id)
            elif outcome.retryable:
                when = self._retry_later(claimant, item, outcome, now)
                log.warning(
                    "delivery %s to %s failed (%s); next attempt %s",
                    item.id,
                    _label(item),
                    outcome.describe(),
                    when.isoformat(timespec="seconds"),
                )
                if outcome.answered:
                    # The receiver is up and turned down this one item for now
                    # (TECHNICAL_ERROR, a server fault): the rest of its queue
                    # goes on rather than waiting behind it.
                    continue
                opened = (when, item.id)
                healthy = False
                untouched = self._held(claimant, items[index + 1 :])
                break
            else:
                reason = outcome.describe()
                self._settle(
                    claimant,
                    item,
                    "dead",
                    lambda uow, i=item.id, r=reason, at=now: uow.outbox.mark_dead(i, r, at, claimant),
                )
                log.error("delivery %s to %s refused for good: %s", item.id, _label(item), reason)
        if untouched:
            with self.store.writing() as uow:
                uow.outbox.release(untouched, claimant)
                uow.commit()
        # The circuit changes only once the retry time is committed, so that a
        # look at the outbox (_close_circuits_settled_elsewhere) sees it.
        with self._lock:
            if done:
                self._delivering.add(destination)
            elif not healthy:
                self._delivering.discard(destination)
            if opened is not None:
                self._open_until[destination], self._opened_by[destination] = opened
            else:
                self._open_until.pop(destination, None)
                self._opened_by.pop(destination, None)
        return healthy

    def _publish_claimed(self, destination: str, batch: list[tuple[int, bytes]], claimant: str) -> bool:
        """Broker events, as (id, payload): the whole batch in one round trip and one commit.

        A SOAP delivery is settled item by item because a receiver must not get
        a certificate twice; an event may come twice (at least once, with a
        stable event-id), so a batch is published, confirmed by the broker and
        marked done together, which keeps the feed from taking the database's
        one writer once per event. The rest of an item is read only for the
        one that failed.
        """
        held = set(self._held_ids(claimant, [item_id for item_id, _ in batch]))
        ids, events = self._with_bodies(claimant, [(i, p) for i, p in batch if i in held])
        if not ids:
            return True
        assert self.broker is not None
        confirmed, outcome = self.broker.publish_all(events)
        now = self.clock.utc()
        if confirmed:
            done = ids[:confirmed]
            self.store.write(lambda uow: uow.outbox.mark_done(done, now))
            # A batch is one event queue: one label, counted once.
            metrics.count_delivery(_event_label(events[0]), "done", confirmed)
            with self._lock:
                self._in_flight.get(claimant, set()).difference_update(done)
                self._delivering.add(destination)
                self._open_until.pop(destination, None)
                self._opened_by.pop(destination, None)
        if confirmed == len(ids):
            return True
        rest = self._held_ids(claimant, ids[confirmed + 1 :])
        with self.store.reading() as uow:
            failed = uow.outbox.items([ids[confirmed]])
        if failed:
            first = failed[0]
            # The queue waits as a whole (it is opened below); the event keeps its place in line, so
            # that once the broker is back the events go out in the order they were written: a
            # certificate's revoked never before its created.
            when = self._retry_later(claimant, first, outcome, now, keep_place=True)
        if rest:
            with self.store.writing() as uow:
                uow.outbox.release(rest, claimant)
                uow.commit()
        if not failed:
            return True  # settled by an operator meanwhile; the rest goes in the next round
        log.warning(
            "publishing to %s failed (%s); next attempt %s", _label(first), outcome.describe(), when.isoformat()
        )
        with self._lock:
            self._delivering.discard(destination)
            self._open_until[destination], self._opened_by[destination] = when, first.id
        return False

    def _with_bodies(self, claimant: str, batch: list[tuple[int, bytes]]) -> tuple[list[int], list[BrokerEvent]]:
        """The ids of the batch's events that can go and the events, each body read from the certificate it names.

        An event whose certificate was erased (customer termination) before it
        went out is discarded: its body is gone, and the erased care provider's
        certificates are no longer the hub's to report.
        """
        events = [decode(payload) for _, payload in batch]
        ids = [item_id for item_id, _ in batch]
        named = [e.body_of for e in events if e.body_of is not None]
        if not named:
            return ids, events
        with self.store.reading() as uow:
            documents = uow.certificates.documents(named)
        ready_ids: list[int] = []
        ready: list[BrokerEvent] = []
        gone: list[tuple[int, BrokerEvent]] = []
        for item_id, event in zip(ids, events, strict=True):
            if event.body_of is not None:
                document = documents.get(event.body_of)
                if document is None:
                    gone.append((item_id, event))
                    continue
                event = BrokerEvent(event.queue, event.properties, document, event.event_id)
            ready_ids.append(item_id)
            ready.append(event)
        if gone:
            gone_ids = [item_id for item_id, _ in gone]
            now = self.clock.utc()
            reason = "discarded: the certificate was erased before its event was published"
            self.store.write(lambda uow: uow.outbox.discard(gone_ids, now, reason))
            metrics.count_delivery(_event_label(gone[0][1]), "discarded", len(gone))
            with self._lock:
                self._in_flight.get(claimant, set()).difference_update(gone_ids)
            log.warning("%d event(s) discarded: %s", len(gone), ", ".join(e.body_of or "" for _, e in gone))
        return ready_ids, ready

    def _retry_later(
        self, claimant: str, item: OutboxItem, outcome: Outcome, now: dt.datetime, *, keep_place: bool = False
    ) -> dt.datetime:
        """Record the failure and when to try next, on the retry ladder; returns when that is.

        ``keep_place``: the item stays due where it stands in its queue (the caller holds the
        whole queue back until then), instead of moving behind the items written after it.
        """
        when = self.config.schedule.next_attempt(now, item.attempts + 1)
        due = item.next_attempt_at if keep_place else when
        reason = outcome.describe()
        self._settle(
            claimant,
            item,
            "retry",
            lambda uow, i=item.id, w=due, r=reason, at=now: uow.outbox.schedule_retry(i, w, r, at, claimant),
        )
        return when

    def _deliver(self, item: OutboxItem) -> Outcome:
        if is_broker_contract(item.contract):
            # With a broker, events never come here (_publish_claimed); without one they wait.
            return Outcome("connect", text="no message broker is configured (broker_url)")
        return self.outbound.send(item.contract, item.logical_address, item.payload, item.correlation_id)


class Publisher(Protocol):
    def publish_all(self, events: list[BrokerEvent]) -> tuple[int, Outcome]: ...


def _label(item: OutboxItem) -> str:
    return f"{short_name(item.contract)} @ {item.logical_address}"


def _event_label(event: BrokerEvent) -> str:
    """What _label says of the event's outbox item (every event's logical address is the broker's)."""
    return f"{short_name(event.contract)} @ {BROKER_ADDRESS}"
