"""Consuming the certificate-service's event queue (hub-behaviour §3.7).

One subscriber, messages one at a time, each acknowledged only once it is
handled, so a gateway that stops or dies leaves the unhandled one to the
broker, which hands it out again. A message that fails is tried again after
4 s and then 6 s, as the reference's redelivery policy does; after that it
goes to the dead-letter queue ``DLQ.<queue>`` with its properties and the
reason, and the next one is taken. One with missing properties, an unknown
event type or a recipient the hub does not know is logged and dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import stomp

from intygsgw.service.certificate_events import UnknownEvent, missing_properties

log = logging.getLogger(__name__)
RETRY_DELAYS = (4.0, 6.0)

Handler = Callable[[str, str, str | None], str]


class CertificateEventConsumer(stomp.ConnectionListener):
    def __init__(
        self,
        broker_url: str,
        queue: str,
        handle: Handler,
        user: str = "",
        password: str = "",
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ):
        parts = urlsplit(broker_url if "://" in broker_url else f"stomp://{broker_url}")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 61613
        self.queue, self.handle, self.user, self.password = queue, handle, user, password
        self.retry_delays = tuple(retry_delays)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: stomp.Connection | None = None
        self._inbox: list = []
        self._arrived = threading.Condition()

    # -- the broker's thread hands frames over; ours handles them, one at a time
    def on_message(self, frame) -> None:
        with self._arrived:
            self._inbox.append(frame)
            self._arrived.notify()

    def start(self) -> CertificateEventConsumer:
        self._thread = threading.Thread(target=self._run, name="certificate-events", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        with self._arrived:
            self._arrived.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._disconnect()

    def _connect(self) -> stomp.Connection:
        conn = stomp.Connection([(self.host, self.port)], auto_content_length=False, heartbeats=(0, 0))
        conn.set_listener("events", self)
        conn.connect(self.user or None, self.password or None, wait=True)
        # One unacknowledged message at a time: the next waits until this one is settled.
        conn.subscribe(
            f"/queue/{self.queue}",
            id="certificate-events",
            ack="client-individual",
            headers={"activemq.prefetchSize": "1"},
        )
        return conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # gone already
                log.debug("disconnect from the broker failed", exc_info=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._conn is None or not self._conn.is_connected():
                    with self._arrived:
                        self._inbox.clear()  # unacknowledged frames come again on the new connection
                    self._conn = self._connect()
                with self._arrived:
                    self._arrived.wait_for(lambda: self._inbox or self._stop.is_set(), timeout=1.0)
                    frame = self._inbox.pop(0) if self._inbox else None
                if frame is not None:
                    self._settle(self._conn, frame)
            except (stomp.exception.StompException, OSError) as exc:
                log.warning("certificate-service events: broker %s:%s: %s; again in 5 s", self.host, self.port, exc)
                self._disconnect()
                self._stop.wait(5.0)

    def _settle(self, conn: stomp.Connection, frame) -> None:
        headers = frame.headers
        event_type, certificate_id = headers.get("eventType"), headers.get("certificateId")
        message_id = headers.get("messageId")
        problem = missing_properties(event_type, certificate_id, message_id)
        if problem is not None:
            log.error("%s Dropped.", problem)
            conn.ack(headers["message-id"], headers["subscription"])
            return
        assert event_type is not None and certificate_id is not None
        reason = ""
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                done = self.handle(event_type, certificate_id, message_id)
                log.info("certificate-service event %s for %s: %s", event_type, certificate_id, done)
                conn.ack(headers["message-id"], headers["subscription"])
                return
            except UnknownEvent as exc:
                log.error("certificate-service event %s for %s dropped: %s", event_type, certificate_id, exc)
                conn.ack(headers["message-id"], headers["subscription"])
                return
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "certificate-service event %s for %s failed (attempt %d): %s",
                    event_type,
                    certificate_id,
                    attempt + 1,
                    reason,
                )
                if delay is None or self._stop.wait(delay):
                    break
        if self._stop.is_set():
            return  # not acknowledged: the broker hands it out again after the restart
        kept = {k: v for k, v in headers.items() if k in ("eventType", "certificateId", "messageId")}
        conn.send(
            f"/queue/DLQ.{self.queue}",
            frame.body or "",
            headers={**kept, "dlq-reason": reason[:500], "persistent": "true"},
        )
        conn.ack(headers["message-id"], headers["subscription"])
        log.error(
            "certificate-service event %s for %s moved to DLQ.%s: %s", event_type, certificate_id, self.queue, reason
        )
