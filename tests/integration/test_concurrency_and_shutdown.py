"""Races between identical registrations, and a SIGTERM or a crash in the middle of traffic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.storage.db import connect_sqlite
from tests.support.server import GatewayProcess
from tests.support.soapclient import endpoint_path
from tests.support.waiting import wait_until

REGISTER_PATH = endpoint_path("RegisterCertificate", 3)
GET_PATH = endpoint_path("GetCertificate", 2)


def result_of(content: bytes) -> tuple[str, str | None]:
    from lxml import etree

    root = etree.fromstring(content)
    code = root.findtext(".//{*}resultCode")
    return code, root.findtext(".//{*}resultText")


def race_identical_registrations(gateway, contenders: int = 16) -> list[tuple[str, str | None]]:
    body = samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4())))
    start = threading.Barrier(contenders)

    def one(_):
        with requests.Session() as s:
            start.wait()
            r = s.post(
                gateway.base_url + REGISTER_PATH,
                data=body,
                timeout=60,
                headers={"Content-Type": "text/xml; charset=UTF-8"},
            )
            assert r.status_code == 200, r.text[:500]
            return result_of(r.content)

    with ThreadPoolExecutor(contenders) as pool:
        return list(pool.map(one, range(contenders)))


def test_identical_registrations_store_one_certificate(gateway):
    for _ in range(3):
        results = race_identical_registrations(gateway)
        assert results.count(("OK", None)) == 1, results
        assert results.count(("INFO", "Certificate already exists")) == len(results) - 1, results


def test_sigterm_finishes_in_flight_requests_and_loses_nothing(tmp_path):
    workdir = tmp_path / "gw"
    gw = GatewayProcess(workdir, workers=2, extra_env={"INTYGSGW_DELIVERY": "false"}).start()
    answered = sigterm_mid_traffic(gw)
    assert_stored_after_restart(workdir, answered)


def test_a_crash_under_load_loses_nothing_answered_and_leaves_a_sound_database(tmp_path):
    # SIGKILL of every process, as a crash or the OOM killer would: the WAL is recovered on the
    # next open, and whatever a caller was told OK was flushed before the answer left.
    workdir = tmp_path / "gw"
    gw = GatewayProcess(workdir, workers=2, extra_env={"INTYGSGW_DELIVERY": "false"}).start()
    answered = crash_mid_traffic(gw)
    db = connect_sqlite(workdir / "intygsgw.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in db.execute("SELECT id FROM certificate")}
    finally:
        db.close()
    assert set(answered) <= stored
    # The access log's hash chain survived the crash too: no entry half-written or missing in between.
    verify = subprocess.run(
        [sys.executable, "-m", "intygsgw.cli", "audit", "verify", "--db", f"sqlite:///{workdir / 'intygsgw.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert_stored_after_restart(workdir, answered)


def test_a_killed_worker_is_replaced_while_the_other_goes_on_answering(tmp_path):
    workdir = tmp_path / "gw"
    gw = GatewayProcess(workdir, workers=2, extra_env={"INTYGSGW_DELIVERY": "false"}).start()
    try:
        first = wait_for_workers(gw, 2)
        threads, answered, failures, enough = register_from_eight_threads(
            gw, 400, answered_before_event=100, crash=True
        )
        assert enough.wait(120), gw.log()
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        for t in threads:
            t.join(120)
        # Senders on the killed worker's connections stopped at a refused or cut-off request; no
        # request got a wrong answer.
        assert not failures, failures[:5]
        assert set(answered.values()) == {"OK"}
        now = wait_for_workers(gw, 2, without=victim)
        assert first - {victim} <= now, "the surviving worker was restarted too"
        # The replacement has its own listening socket once it serves; before that the survivor's
        # is the only one.
        try:
            wait_until(lambda: gw.listeners() == 2, "two listening sockets", timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {gw.listeners()} now\n{gw.log()}") from None
        assert [register_one(gw) for _ in range(20)] == ["OK"] * 20
        assert gw.proc.poll() is None, gw.log()
    finally:
        code = gw.stop()
    assert code == 0, gw.log()
    assert_stored_after_restart(workdir, list(answered))


def test_a_worker_that_dies_again_at_once_stops_the_gateway(tmp_path):
    # A crash loop (a worker killed again within seconds of its start) is the supervisor's to
    # handle: the gateway exits with an error instead of respawning forever.
    gw = GatewayProcess(tmp_path / "gw", workers=2, extra_env={"INTYGSGW_DELIVERY": "false"}).start()
    try:
        first = wait_for_workers(gw, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        [replacement] = wait_for_workers(gw, 2, without=victim) - first
        os.kill(replacement, signal.SIGKILL)
        assert gw.proc.wait(60) != 0, gw.log()
    finally:
        gw.kill()


def wait_for_workers(gw: GatewayProcess, count: int, without: int | None = None, timeout: float = 60) -> set[int]:
    """The gateway's worker pids once there are ``count`` of them and ``without`` is not among them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert gw.proc is not None and gw.proc.poll() is None, gw.log()
        pids = gw.worker_pids()
        if len(pids) == count and without not in pids:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"not {count} workers after {timeout} s: {gw.worker_pids()}\n{gw.log()}")


def register_one(gw: GatewayProcess) -> str:
    """One new registration on a fresh connection; its result code."""
    try:
        r = requests.post(
            gw.base_url + REGISTER_PATH,
            data=samples.register_certificate(CertificateSpec(certificate_id=str(uuid.uuid4()))),
            timeout=60,
            headers={"Content-Type": "text/xml; charset=UTF-8", "Connection": "close"},
        )
    except requests.ConnectionError as exc:
        # Say what the gateway was doing: a refused connection means no worker listened.
        alive = gw.proc is not None and gw.proc.poll() is None
        raise AssertionError(f"{exc!r}; gateway alive: {alive}, listeners: {gw.listeners()}\n{gw.log()}") from exc
    assert r.status_code == 200, r.text[:500]
    return result_of(r.content)[0]


def crash_mid_traffic(gw: GatewayProcess) -> list[str]:
    """Registrations from 8 threads, SIGKILL of the gateway's processes once 200 are answered; the ids answered OK."""
    threads, answered, failures, enough = register_from_eight_threads(gw, 2000, answered_before_event=200, crash=True)
    assert enough.wait(120), gw.log()
    gw.kill()
    for t in threads:
        t.join(120)
    assert not failures, failures[:5]
    assert answered and set(answered.values()) == {"OK"}
    return list(answered)


def sigterm_mid_traffic(gw: GatewayProcess, **request_options) -> list[str]:
    """Send registrations from 8 threads, SIGTERM the gateway, and return the ids answered OK.

    Asserts a clean exit and that every request that reached the gateway got
    a whole answer; ``request_options`` go to requests (cert=, verify= for TLS).
    """
    threads, answered, failures, first_answers = register_from_eight_threads(gw, 400, 1, **request_options)
    assert first_answers.wait(60)
    gw.terminate()
    for t in threads:
        t.join(120)
    assert gw.proc.wait(60) == 0, gw.log()
    assert not failures, failures[:5]
    assert answered and set(answered.values()) == {"OK"}
    return list(answered)


def register_from_eight_threads(
    gw: GatewayProcess, count: int, answered_before_event: int, crash: bool = False, **request_options
) -> tuple[list[threading.Thread], dict[str, str], list[str], threading.Event]:
    """Start 8 threads registering ``count`` new certificates; (threads, result code by id, failures, event).

    The event is set once ``answered_before_event`` answers came. A thread stops when the
    gateway refuses its connection (it went away: later requests are refused, not lost);
    with ``crash`` also when an answer is cut off, which only a killed gateway may do.
    """
    ids = [str(uuid.uuid4()) for _ in range(count)]
    answered: dict[str, str] = {}
    failures: list[str] = []
    event = threading.Event()

    def sender(chunk: list[str]):
        with requests.Session() as s:
            for cid in chunk:
                try:
                    r = s.post(
                        gw.base_url + REGISTER_PATH,
                        timeout=60,
                        **request_options,
                        data=samples.register_certificate(CertificateSpec(certificate_id=cid)),
                        headers={"Content-Type": "text/xml; charset=UTF-8"},
                    )
                except requests.ConnectionError:
                    return
                except requests.RequestException as exc:
                    if not crash:
                        failures.append(f"{cid}: {exc!r}")
                    return
                if r.status_code != 200:
                    failures.append(f"{cid}: HTTP {r.status_code} {r.text[:200]}")
                    continue
                answered[cid] = result_of(r.content)[0]
                if len(answered) >= answered_before_event:
                    event.set()

    threads = [threading.Thread(target=sender, args=(ids[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    return threads, answered, failures, event


def assert_stored_after_restart(workdir, ids: list[str]) -> None:
    """Everything answered OK is there after a restart on the same database."""
    again = GatewayProcess(workdir, workers=1, extra_env={"INTYGSGW_DELIVERY": "false"}).start()
    try:
        with requests.Session() as s:
            for cid in ids:
                r = s.post(
                    again.base_url + GET_PATH,
                    data=samples.get_certificate(cid),
                    timeout=60,
                    headers={"Content-Type": "text/xml; charset=UTF-8"},
                )
                assert r.status_code == 200 and cid.encode() in r.content, cid
    finally:
        again.stop()
