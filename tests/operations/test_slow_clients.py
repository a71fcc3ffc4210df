"""Clients that trickle their requests cannot starve the gateway.

Found by a fault-injection run: 40 connections that sent their headers and
then one body byte a second made /healthz time out and RegisterCertificate
take 5 s, and nothing ever closed them.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.interactions import REGISTER_CERTIFICATE_3
from tests.support.server import running_gateway

SLOW_CLIENTS = 40


def trickle(port: int, stop: threading.Event, head: bytes = b"") -> None:
    head = (
        head
        or (
            f"POST {REGISTER_CERTIFICATE_3.path} HTTP/1.1\r\nHost: gw\r\nContent-Type: text/xml\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()
    )
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head)
            while not stop.wait(1.0):
                s.sendall(b"<")
    except OSError:
        pass  # closed by the gateway: what it should do in the end


@pytest.fixture
def gateway(tmp_path):
    env = {"INTYGSGW_BODY_TIMEOUT": "3", "INTYGSGW_HEADER_TIMEOUT": "2", "INTYGSGW_DELIVERY": "false"}
    with running_gateway(tmp_path, extra_env=env) as gw:
        yield gw


def test_health_and_calls_are_answered_while_forty_clients_trickle_bodies(gateway):
    stop = threading.Event()
    threads = [threading.Thread(target=trickle, args=(gateway.port, stop)) for _ in range(SLOW_CLIENTS)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)  # every slow client is connected and sending
        # Generous bounds: these fail on a starved gateway (no answer at all), not on a slow machine.
        for _ in range(5):
            assert requests.get(gateway.base_url + "/healthz", timeout=5).status_code == 200
        answer = requests.post(
            gateway.url(REGISTER_CERTIFICATE_3.path),
            timeout=10,
            headers={"Content-Type": "text/xml"},
            data=samples.register_certificate(CertificateSpec(certificate_id="during-trickle")),
        )
        assert b">OK<" in answer.content
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_the_workers_read_bodies_on_uvloop_which_is_installed_with_the_gateway():
    # Named for granian, not left to its choice (which prefers any other loop package installed).
    from granian.constants import Loops

    from intygsgw.serving.server import _event_loop

    assert _event_loop() is Loops.uvloop


def test_a_body_that_does_not_arrive_in_time_is_refused_and_the_connection_closed(gateway):
    # The socket's own timeout (15 s) is far past the body deadline (3 s): only the gateway ends this.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as s:
        s.sendall(
            (
                f"POST {REGISTER_CERTIFICATE_3.path} HTTP/1.1\r\nHost: gw\r\nContent-Type: text/xml\r\n"
                "Content-Length: 1000\r\n\r\n<"
            ).encode()
        )
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"did not arrive within 3 s" in answer


def test_a_connection_that_never_finishes_its_headers_is_closed(gateway):
    # recv returns (b"" or an error status) once the gateway gives up; were it never
    # to, the socket's 15 s timeout, far past the 2 s header deadline, fails the test.
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=15) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: gw\r\n")  # and nothing more
        assert not s.recv(4096).startswith(b"HTTP/1.1 200")


def test_the_wsgi_front_end_for_gateways_behind_a_buffering_proxy_still_serves(tmp_path):
    with running_gateway(tmp_path, extra_env={"INTYGSGW_FRONT_END": "wsgi", "INTYGSGW_DELIVERY": "false"}) as gw:
        answer = requests.post(
            gw.url(REGISTER_CERTIFICATE_3.path),
            timeout=10,
            headers={"Content-Type": "text/xml"},
            data=samples.register_certificate(CertificateSpec(certificate_id="via-wsgi")),
        )
        log = gw.log()
    assert b">OK<" in answer.content
    assert "Configuration allows spawning" in log  # granian's WSGI-only warning: it is the WSGI interface
