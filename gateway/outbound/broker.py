"""Publishing outbox events to ActiveMQ over STOMP, as JMS TextMessages.

A frame without ``content-length`` becomes a TextMessage in ActiveMQ (with
the header it would be a BytesMessage, which Intygsstatistik's listener does
not read). Every frame is persistent and asks for a receipt: the event counts
as delivered only once the broker has confirmed it, so a broker that is down
or dies mid-send leaves it in the outbox for the next attempt.
"""

from __future__ import annotations

import logging
import threading
import uuid
from urllib.parse import urlsplit

import stomp
import stomp.exception

from intygsgw.domain.events import BrokerEvent
from intygsgw.domain.outcome import Outcome

log = logging.getLogger(__name__)


def send_frame(destination: str, headers: dict[str, str], body: bytes) -> bytes:
    """A STOMP 1.1 SEND frame, headers escaped; no content-length, so ActiveMQ makes it a TextMessage.

    The body must hold no NUL byte, which ends a frame without content-length
    (XML cannot contain one).
    """
    if b"\0" in body:
        raise ValueError("a STOMP text frame's body cannot contain a NUL byte")
    lines = [f"SEND\ndestination:{_escaped(destination)}\n"]
    lines.extend(f"{_escaped(k)}:{_escaped(str(v))}\n" for k, v in headers.items())
    lines.append("\n")
    return b"".join(("".join(lines).encode(), body, b"\0"))  # the body copied once


def _escaped(value: str) -> str:
    # Most values (ids, codes, "true") hold none of the three: looking costs a third of replacing.
    if "\\" in value or "\n" in value or ":" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")
    return value


class _Receipts(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: dict[str, threading.Event] = {}
        self.errors: dict[str, str] = {}
        self.disconnected = threading.Event()

    def expect(self, receipt: str) -> threading.Event:
        event = threading.Event()
        with self.lock:
            self.waiting[receipt] = event
        return event

    def on_receipt(self, frame) -> None:
        with self.lock:
            event = self.waiting.pop(frame.headers.get("receipt-id", ""), None)
        if event is not None:
            event.set()

    def on_error(self, frame) -> None:
        receipt = frame.headers.get("receipt-id", "")
        with self.lock:
            self.errors[receipt] = frame.headers.get("message", "") or frame.body
            event = self.waiting.pop(receipt, None)
        if event is not None:
            event.set()

    def on_disconnected(self) -> None:
        self.disconnected.set()
        with self.lock:
            waiting, self.waiting = self.waiting, {}
        for event in waiting.values():
            event.set()


class StompPublisher:
    """``publish(event)`` -> Outcome; one connection, opened on first use and again after a failure."""

    def __init__(self, url: str, user: str = "", password: str = "", timeout: float = 10.0):
        parts = urlsplit(url if "://" in url else f"stomp://{url}")
        if parts.scheme not in ("stomp", "tcp") or not parts.hostname:
            raise ValueError(f"broker_url must look like stomp://host:61613, not {url!r}")
        self.host, self.port = parts.hostname, parts.port or 61613
        self.user, self.password, self.timeout = user, password, timeout
        self._lock = threading.Lock()
        self._conn: stomp.Connection | None = None
        self._receipts: _Receipts | None = None

    def _connected(self) -> tuple[stomp.Connection, _Receipts]:
        if self._conn is not None and self._conn.is_connected() and self._receipts is not None:
            return self._conn, self._receipts
        self.close()
        conn = stomp.Connection(
            [(self.host, self.port)], auto_content_length=False, reconnect_attempts_max=1, timeout=self.timeout
        )
        receipts = _Receipts()
        conn.set_listener("receipts", receipts)
        conn.connect(self.user or None, self.password or None, wait=True)
        self._conn, self._receipts = conn, receipts
        return conn, receipts

    def publish_all(self, events: list[BrokerEvent]) -> tuple[int, Outcome]:
        """Send ``events`` in order; (how many the broker confirmed, the outcome).

        Only the last frame asks for a receipt: the broker handles one
        connection's frames in order, so its receipt confirms them all. On any
        failure none counts as confirmed and all go again later; a consumer
        may then see some twice, and drops them by their ``event-id``.
        """
        if not events:
            return 0, Outcome("result", result_code="OK")
        with self._lock:
            try:
                conn, receipts = self._connected()
                receipt = str(uuid.uuid4())
                done = receipts.expect(receipt)
                frames = []
                for index, event in enumerate(events):
                    headers = {**event.properties, "event-id": event.event_id, "persistent": "true"}
                    if "message-id" in event.properties:
                        # ActiveMQ reads a STOMP message-id header as the broker's own JMSMessageID and
                        # drops it, so the JMS property cannot be set this way; the id rides as the
                        # JMSCorrelationID instead (README, "Event feeds").
                        headers["correlation-id"] = event.properties["message-id"]
                    if index == len(events) - 1:
                        headers["receipt"] = receipt
                    frames.append(send_frame(f"/queue/{event.queue}", headers, event.body))
                # The batch in one write: a frame at a time through the client cost a
                # system call and its Python bookkeeping per event.
                conn.transport.send(b"".join(frames))
                if not done.wait(self.timeout):
                    self.close()
                    return 0, Outcome("timeout", text=f"no receipt from the broker within {self.timeout:g} s")
                if receipt in receipts.errors:
                    message = receipts.errors.pop(receipt)
                    self.close()
                    return 0, Outcome("fault", fault_code="Server", text=f"broker refused a message: {message}")
                if receipts.disconnected.is_set():
                    self.close()
                    return 0, Outcome("connect", text="the broker closed the connection before confirming")
                return len(events), Outcome("result", result_code="OK")
            except (stomp.exception.StompException, OSError) as exc:
                self.close()
                return 0, Outcome("connect", text=f"broker {self.host}:{self.port}: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        conn, self._conn, self._receipts = self._conn, None, None
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:  # already gone: nothing to tidy
                log.debug("disconnect from the broker failed", exc_info=True)
