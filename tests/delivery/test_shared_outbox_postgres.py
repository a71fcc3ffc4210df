"""Two gateways on one PostgreSQL database share the outbox: every item is delivered exactly once.

Two ``intygsgw serve`` processes, each running its delivery loop, against the
same database; the queued revocations are claimed with FOR UPDATE SKIP LOCKED
and leases. The receiving stub counts what arrives.
"""

from __future__ import annotations

import collections
import time
import uuid

from lxml import etree
from sqlalchemy import select

from intygsgw.app import build_services
from intygsgw.config.settings import Settings
from intygsgw.devtools.samples import revoke_certificate
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import REVOKE_CERTIFICATE_2
from intygsgw.storage.models import OutboxRow
from intygsgw.storage.outbox import DONE
from tests.support.server import GatewayProcess

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ITEMS = 400


def test_two_gateways_deliver_each_item_once(tmp_path, postgres_database):
    stub = StubProcess(tmp_path / "stub", name="fk", extra_args=["--threads", "16"]).start()
    services = build_services(Settings(db=postgres_database), migrate=True)
    gateways = []
    try:
        routes = tmp_path / "routes.toml"
        routes.write_text(
            f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\nurl = "{stub.base_url}/revoke"\n'
        )
        env = {"INTYGSGW_ROUTES_FILE": str(routes)}
        gateways = [GatewayProcess(tmp_path / f"gw{n}", db=postgres_database, extra_env=env).start() for n in (1, 2)]
        ids = [f"shared-{uuid.uuid4()}" for _ in range(ITEMS)]
        now = services.clock.utc()
        with services.store.writing() as uow:
            uow.connection.exec_driver_sql("DELETE FROM outbox")
            for n, cid in enumerate(ids):
                body = etree.fromstring(revoke_certificate(cid)).find(f"{{{SOAP}}}Body")[0]
                uow.outbox.enqueue(
                    contract=REVOKE_CERTIFICATE_2.namespace,
                    logical_address=("FKORG", "TRANSP")[n % 2],
                    kind="revoke",
                    reference=cid,
                    payload=etree.tostring(body),
                    correlation_id=str(uuid.uuid4()),
                    now=now,
                )
            uow.commit()

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with services.store.reading() as uow:
                if len(uow.outbox.find(state=DONE, limit=ITEMS)) == ITEMS:
                    break
            time.sleep(0.2)
        received = collections.Counter(m["certificate_id"] for m in stub.client.messages(contract="RevokeCertificate"))
        assert set(received) == set(ids)
        assert max(received.values()) == 1, [cid for cid, n in received.items() if n > 1][:5]
        with services.store.reading() as uow:
            # A claimant is "host:pid/drain"; the processes are what must differ.
            workers = {w.rsplit("/", 1)[0] for (w,) in uow.connection.execute(select(OutboxRow.claimed_by).distinct())}
            assert all(i.attempts == 1 for i in uow.outbox.find(state=DONE, limit=ITEMS))
        assert len(workers) == 2, f"only {workers} claimed: the test did not exercise sharing"
    finally:
        for gw in gateways:
            gw.stop()
        stub.stop()
        services.store.engine.dispose()
