"""The delivery loop against a real stub recipient: what one failing item does to the rest of its queue."""
from __future__ import annotations

import uuid

from lxml import etree

from gateway.app import build_deliverer, build_services
from gateway.config import Settings
from gateway.outbound import REVOKE_CERTIFICATE_2
from gateway.samples import revoke_certificate
from gateway.stub.process import StubProcess
from storage.outbox import DEAD, DONE, PENDING

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
