"""The delivery loop against a real stub recipient: what one failing item does to the rest of its queue."""
from __future__ import annotations

import time
import uuid

from lxml import etree

from gateway.app import build_deliverer, build_services
from gateway.delivery.deliverer import Deliverer, DeliveryConfig
from gateway.config import Settings
from gateway.outbound import REVOKE_CERTIFICATE_2
from gateway.samples import revoke_certificate
from gateway.stub.process import StubProcess
from storage.outbox import DEAD, DONE, PENDING
from tests.support.waiting import wait_until

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def test_an_item_turned_down_for_now_does_not_hold_back_its_queue(tmp_path):
    stub = StubProcess(tmp_path / "stub", name="fk").start()
    try:
        routes = tmp_path / "routes.toml"
        routes.write_text(f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\n'
                          f'url = "{stub.base_url}/revoke"\n')
        settings = Settings(db=f"sqlite:///{tmp_path / 'd.db'}", routes_file=str(routes), retry_delays="1h")
        services = build_services(settings, migrate=True)
        ids = [f"q-{n}-{uuid.uuid4()}" for n in range(5)]
        poison, refused = ids[0], ids[1]
        stub.client.add_rule(certificate_id=poison, result_code="ERROR", error_id="TECHNICAL_ERROR",
                             result_text="prova senare")
        stub.client.add_rule(certificate_id=refused, result_code="ERROR", error_id="APPLICATION_ERROR",
                             result_text="okänt intyg")
        now = services.clock.utc()
        with services.store.writing() as uow:
            for cid in ids:
                body = etree.fromstring(revoke_certificate(cid)).find(f"{{{SOAP}}}Body")[0]
                uow.outbox.enqueue(contract=REVOKE_CERTIFICATE_2, logical_address="FKORG", kind="revoke",
                                   reference=cid, payload=etree.tostring(body), correlation_id=cid, now=now)
            uow.commit()
        build_deliverer(settings, services).run_until_idle()
        with services.store.reading() as uow:
            items = {i.reference: i for i in uow.outbox.find(destination="FKORG")}
        assert items[poison].state == PENDING and items[poison].attempts == 1
        assert items[poison].last_error == "ERROR/TECHNICAL_ERROR: prova senare"
        assert items[refused].state == DEAD and items[refused].last_error == "ERROR/APPLICATION_ERROR: okänt intyg"
        assert all(items[cid].state == DONE for cid in ids[2:])
        services.store.engine.dispose()
    finally:
        stub.stop()


def _enqueue_revocations(services, address: str, ids: list[str]) -> None:
    now = services.clock.utc()
    with services.store.writing() as uow:
        for cid in ids:
            body = etree.fromstring(revoke_certificate(cid)).find(f"{{{SOAP}}}Body")[0]
            uow.outbox.enqueue(contract=REVOKE_CERTIFICATE_2, logical_address=address, kind="revoke",
                               reference=cid, payload=etree.tostring(body), correlation_id=cid, now=now)
        uow.commit()


def test_receivers_that_hang_hold_one_thread_each_and_leave_threads_for_a_healthy_one(tmp_path):
    # Three receivers accept the connection and never answer before the read
    # timeout. With eight threads, four drains allowed per destination and
    # several batches queued for each, they could take every thread; a receiver
    # that has not delivered yet gets one.
    stub = StubProcess(tmp_path / "stub", name="fk").start()
    deliverer = None
    try:
        routes = tmp_path / "routes.toml"
        routes.write_text(f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\n'
                          f'url = "{stub.base_url}/revoke"\nread_timeout = 4\n')
        settings = Settings(db=f"sqlite:///{tmp_path / 'd.db'}", routes_file=str(routes), retry_delays="1h",
                            delivery_threads=8)
        services = build_services(settings, migrate=True)
        hanging = ["HANG1", "HANG2", "HANG3"]
        for address in hanging:
            stub.client.add_rule(logical_address=address, delay_ms=8_000)
            _enqueue_revocations(services, address, [f"{address}-{n}-{uuid.uuid4()}" for n in range(200)])
        deliverer = build_deliverer(settings, services).start()
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
        services.store.engine.dispose()
    finally:
        if deliverer is not None:
            deliverer.stop(timeout=1)
        stub.stop()


def test_a_batch_that_outlasts_its_lease_is_sent_once(tmp_path):
    # Ten items at 0.25 s each take 2.5 s against a 1 s lease: without renewing
    # the claim, a second drain takes over the items not yet recorded as done
    # (delivered ones included) and the receiver gets them twice.
    stub = StubProcess(tmp_path / "stub", name="fk").start()
    deliverer = None
    try:
        routes = tmp_path / "routes.toml"
        routes.write_text(f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\n'
                          f'url = "{stub.base_url}/revoke"\n')
        settings = Settings(db=f"sqlite:///{tmp_path / 'd.db'}", routes_file=str(routes))
        services = build_services(settings, migrate=True)
        stub.client.add_rule(logical_address="SLOW", delay_ms=250)
        ids = [f"slow-{n}-{uuid.uuid4()}" for n in range(30)]
        _enqueue_revocations(services, "SLOW", ids)
        deliverer = Deliverer(services.store, services.outbound, services.clock,
                              DeliveryConfig(lease_seconds=1.0, batch_size=10)).start()

        def all_done():
            with services.store.reading() as uow:
                return [i for i in uow.outbox.find(destination="SLOW") if i.state == DONE]
        wait_until(lambda: len(all_done()) == len(ids), timeout=60, what="every item delivered")
        received = [m["certificate_id"] for m in stub.client.messages(limit=1000)]
        assert sorted(received) == sorted(ids)
        services.store.engine.dispose()
    finally:
        if deliverer is not None:
            deliverer.stop(timeout=1)
        stub.stop()
