"""A receiver that answers a byte at a time cannot hold an outbound call past its timeouts."""

from __future__ import annotations

import socket
import threading
import time

from intygsgw.outbound.routing import Route
from intygsgw.outbound.transport import SoapTransport


def _trickling_server() -> tuple[socket.socket, threading.Event]:
    """Answers headers at once, then one body byte every 0.3 s for ever (until stopped)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n<")
        while not stop.wait(0.3):
            try:
                conn.sendall(b" ")
            except OSError:
                break
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, stop


def test_a_trickling_answer_ends_as_a_timeout_at_connect_plus_read():
    server, stop = _trickling_server()
    try:
        port = server.getsockname()[1]
        route = Route(
            contract="urn:x",
            logical_address="*",
            url=f"http://127.0.0.1:{port}/r",
            connect_timeout=0.5,
            read_timeout=1.0,
        )
        started = time.monotonic()
        outcome = SoapTransport().call(route, "FKORG", b"<x/>", "urn:x:X")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        server.close()
    # Every read got a byte within the 1 s read timeout; only the deadline ends it.
    assert outcome.kind == "timeout" and "longer than 1.5 s" in outcome.text
    assert elapsed < 10
