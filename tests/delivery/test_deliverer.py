"""The delivery loop against a real stub recipient: failing items, hanging receivers, slow receivers."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from lxml import etree
from sqlalchemy import event

from intygsgw.app import build_deliverer, build_services
from intygsgw.config.settings import Settings
from intygsgw.delivery.deliverer import Deliverer, DeliveryConfig
from intygsgw.devtools.samples import revoke_certificate
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import REVOKE_CERTIFICATE_2
from intygsgw.storage.db import connect_sqlite
from intygsgw.storage.outbox import DEAD, DONE, PENDING
from tests.support.waiting import wait_until

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture
def stub(tmp_path):
    process = StubProcess(tmp_path / "stub", name="fk").start()
    yield process
    process.stop()


@pytest.fixture
def routed(tmp_path, stub):
    """``routed(read_timeout=…, **settings)``: services whose revocations all go to the stub."""
    made = []

    def make(read_timeout: float | None = None, **settings):
        routes = tmp_path / "routes.toml"
        routes.write_text(
            f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\n'
            f'url = "{stub.base_url}/revoke"\n' + (f"read_timeout = {read_timeout}\n" if read_timeout else "")
        )
        config = Settings(db=f"sqlite:///{tmp_path / 'd.db'}", routes_file=str(routes), **settings)
        made.append(build_services(config, migrate=True))
        return config, made[-1]

    yield make
    for services in made:
        services.store.engine.dispose()


@pytest.fixture
def started():
    """Deliverers started by a test, stopped after it whatever happened."""
    running: list[Deliverer] = []
    yield lambda deliverer: running.append(deliverer.start()) or deliverer
    for deliverer in running:
        deliverer.stop(timeout=1)


def _enqueue_revocations(services, address: str, ids: list[str]) -> None:
    now = services.clock.utc()
    with services.store.writing() as uow:
        for cid in ids:
            body = etree.fromstring(revoke_certificate(cid)).find(f"{{{SOAP}}}Body")[0]
            uow.outbox.enqueue(
                contract=REVOKE_CERTIFICATE_2.namespace,
                logical_address=address,
                kind="revoke",
                reference=cid,
                payload=etree.tostring(body),
                correlation_id=cid,
                now=now,
            )
        uow.commit()


def test_an_item_turned_down_for_now_does_not_hold_back_its_queue(stub, routed):
    settings, services = routed(retry_delays="1h")
    ids = [f"q-{n}-{uuid.uuid4()}" for n in range(5)]
    poison, refused = ids[0], ids[1]
    stub.client.add_rule(
        certificate_id=poison, result_code="ERROR", error_id="TECHNICAL_ERROR", result_text="prova senare"
    )
    stub.client.add_rule(
        certificate_id=refused, result_code="ERROR", error_id="APPLICATION_ERROR", result_text="okänt intyg"
    )
    _enqueue_revocations(services, "FKORG", ids)
    build_deliverer(settings, services).run_until_idle()
    with services.store.reading() as uow:
        items = {i.reference: i for i in uow.outbox.find(destination="FKORG")}
    assert items[poison].state == PENDING and items[poison].attempts == 1
    assert items[poison].last_error == "ERROR/TECHNICAL_ERROR: prova senare"
    assert items[refused].state == DEAD and items[refused].last_error == "ERROR/APPLICATION_ERROR: okänt intyg"
    assert all(items[cid].state == DONE for cid in ids[2:])


def test_receivers_that_hang_hold_one_thread_each_and_leave_threads_for_a_healthy_one(stub, routed, started):
    # Three receivers accept the connection and never answer before the read
    # timeout. With eight threads, four drains allowed per destination and
    # several batches queued for each, they could take every thread; a receiver
    # that has not delivered yet gets one.
    settings, services = routed(read_timeout=4, retry_delays="1h", delivery_threads=8)
    hanging = ["HANG1", "HANG2", "HANG3"]
    for address in hanging:
        stub.client.add_rule(logical_address=address, delay_ms=8_000)
        _enqueue_revocations(services, address, [f"{address}-{n}-{uuid.uuid4()}" for n in range(200)])
    started(build_deliverer(settings, services))
    stub.client.wait_for(count=3, contract="RevokeCertificate", timeout=10)
    time.sleep(1.0)  # ten polls: room to start every drain it was going to start

    healthy = f"ok-{uuid.uuid4()}"
    _enqueue_revocations(services, "FKORG", [healthy])
    stub.client.wait_for(certificate_id=healthy, outcome="OK", timeout=10)
    with services.store.reading() as uow:
        hung = [i for a in hanging for i in uow.outbox.find(destination=a)]
    # Delivered while the hung receivers still held their first request ...
    assert [i for i in hung if i.attempts > 0] == []
    # ... which is one request per hung receiver, not one per thread.
    assert len([m for m in stub.client.messages() if m["logical_address"] in hanging]) == 3


def test_a_batch_that_outlasts_its_lease_is_sent_once(stub, routed, started):
    # Ten items at 0.25 s each take 2.5 s against a 1 s lease: without renewing
    # the claim, a second drain takes over the items not yet recorded as done
    # (delivered ones included) and the receiver gets them twice.
    _, services = routed()
    stub.client.add_rule(logical_address="SLOW", delay_ms=250)
    ids = [f"slow-{n}-{uuid.uuid4()}" for n in range(30)]
    _enqueue_revocations(services, "SLOW", ids)
    started(
        Deliverer(services.store, services.outbound, services.clock, DeliveryConfig(lease_seconds=1.0, batch_size=10))
    )

    def delivered():
        with services.store.reading() as uow:
            return [i for i in uow.outbox.find(destination="SLOW") if i.state == DONE]

    wait_until(lambda: len(delivered()) == len(ids), timeout=60, what="every item delivered")
    received = [m["certificate_id"] for m in stub.client.messages(limit=1000)]
    assert sorted(received) == sorted(ids)


def test_a_single_call_longer_than_the_lease_is_not_taken_over_by_another_gateway(stub, routed, started):
    # Two gateways share the outbox. One call takes twice the 1 s lease; the
    # claim is renewed while it runs, so the other gateway never claims the
    # batch and the receiver gets every item once.
    _, services = routed(read_timeout=5)
    ids = [f"long-{n}-{uuid.uuid4()}" for n in range(5)]
    stub.client.add_rule(certificate_id=ids[0], delay_ms=2_000)
    _enqueue_revocations(services, "LONG", ids)
    config = DeliveryConfig(lease_seconds=1.0, batch_size=5)
    for _ in range(2):
        started(Deliverer(services.store, services.outbound, services.clock, config))

    def delivered():
        with services.store.reading() as uow:
            return [i for i in uow.outbox.find(destination="LONG") if i.state == DONE]

    wait_until(lambda: len(delivered()) == len(ids), timeout=60, what="every item delivered")
    time.sleep(1.0)  # room for a duplicate to arrive
    assert sorted(m["certificate_id"] for m in stub.client.messages(limit=1000)) == sorted(ids)


def test_an_outbox_it_cannot_read_is_logged_once_in_full_not_at_every_poll(routed, started, caplog, tmp_path):
    # The loop polls ten times a second; a database it cannot read for a while
    # (down, its disk full, here the outbox renamed away) is one traceback and,
    # once readable again, one line saying so.
    _, services = routed()
    with caplog.at_level(logging.INFO, logger="intygsgw.delivery.deliverer"):
        started(Deliverer(services.store, services.outbound, services.clock, DeliveryConfig(poll_interval=0.01)))
        with connect_sqlite(tmp_path / "d.db") as con:
            con.execute("ALTER TABLE outbox RENAME TO outbox_away")
        wait_until(lambda: any("failed" in r.getMessage() for r in caplog.records), timeout=30, what="a failure logged")
        time.sleep(0.5)  # some fifty polls that fail alike
        with connect_sqlite(tmp_path / "d.db") as con:
            con.execute("ALTER TABLE outbox_away RENAME TO outbox")
        wait_until(
            lambda: any("works again" in r.getMessage() for r in caplog.records), timeout=30, what="the recovery logged"
        )
    told = [r for r in caplog.records if r.name == "intygsgw.delivery.deliverer"]
    assert [r.getMessage().split(" after ")[0] for r in told] == [
        "delivery loop (reading the outbox) failed; trying again later",
        "delivery loop (reading the outbox) works again",
    ]
    assert told[0].exc_info is not None and int(told[1].getMessage().split()[-3]) > 5


def test_an_idle_loop_asks_the_outbox_again_only_once_something_was_committed(stub, routed, started):
    # On SQLite the loop first asks whether anything was committed since its last poll (a pragma,
    # a few microseconds) and reads the outbox only then: an idle gateway polled it ten times a
    # second at about a millisecond of CPU each. Here the time-based poll is set out of reach, so
    # only the commit can have brought the item to the receiver.
    _, services = routed()
    polls: list[str] = []

    @event.listens_for(services.store.engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if "queues" in statement:  # the due-destinations query's recursive CTE
            polls.append(statement)

    started(
        Deliverer(
            services.store,
            services.outbound,
            services.clock,
            DeliveryConfig(poll_interval=0.01, idle_poll_interval=3600),
        )
    )
    wait_until(lambda: polls, what="the first poll")
    time.sleep(0.5)  # some fifty ticks with nothing committed
    assert len(polls) == 1
    cid = f"idle-{uuid.uuid4()}"
    _enqueue_revocations(services, "FKORG", [cid])
    stub.client.wait_for(certificate_id=cid, outcome="OK", timeout=15)
    assert len(polls) >= 2
