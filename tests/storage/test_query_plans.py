"""Every statement the contracts, the internal API's reads and the delivery loop run finds its rows
through an index, on a SQLite store without statistics.

SQLite plans from the indexes alone until ``ANALYZE`` has run, and the gateway never runs it: a
new deployment, and every store nobody has analysed, plans this way. A statement that reads a
whole table passes every test on a small store and takes seconds on one of 10 million
certificates. Here the contracts and the internal API run in-process on a freshly migrated
store, with a stub recipient so that sends and message relays succeed; SQLite reports every
statement it executes (values filled in), and each one's plan must read no table from end to end.
The operators' outbox overview (``intygsgw outbox status``) counts every item on purpose and is
left out.
"""

from __future__ import annotations

import datetime as dt
import re

import falcon.testing
import pytest

from intygsgw.app import build_app
from intygsgw.audit.writer import AccessLogWriter
from intygsgw.config.settings import Settings
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.internalapi.app import build_internal_api
from intygsgw.storage.db import connect_sqlite
from tests.messages.test_message_relay_http import to_care, to_recipient
from tests.support.databases import sqlite_statements
from tests.support.routes import write_stub_routes

# Common table expressions are read whole by design: the delivery loop's skip from queue to queue.
CTE_NAMES = {"queues"}
DML = re.compile(r"(?is)^\s*(select|with|update|delete|insert)\b")


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    proc = StubProcess(tmp_path_factory.mktemp("stub"), name="plans").start()
    yield proc.client
    proc.stop()


def _gateway(tmp_path, stub):
    routes = write_stub_routes(
        tmp_path / "routes.toml",
        stub.base_url,
        ("SendMessageToCare:2", "SendMessageToRecipient:2", "RegisterCertificate:3"),
    )
    # Statistics on and a sent certificate revoked: both kinds of outbox item, a broker event and a SOAP call.
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'plans.db'}", routes_file=str(routes), delivery=False, statistics=True
    )
    return build_app(settings, migrate=True)


def _full_reads(path, statements: list[str]) -> dict[str, list[str]]:
    """Statement -> the plan lines that read a table (or one of its indexes) from end to end."""
    found = {}
    probe = connect_sqlite(path)
    try:
        for sql in dict.fromkeys(s.strip() for s in statements if DML.match(s)):
            plan = [row[3] for row in probe.execute("EXPLAIN QUERY PLAN " + sql)]
            scans = [
                line
                for line in plan
                if line.startswith("SCAN ") and line.split()[1] not in CTE_NAMES and "CONSTANT ROW" not in line
            ]
            if scans:
                found[sql[:400]] = scans
    finally:
        probe.close()
    return found


def test_no_statement_of_the_contracts_the_internal_api_or_delivery_reads_a_whole_table(tmp_path, stub):
    app = _gateway(tmp_path, stub)
    services = app.dispatcher.services
    engine = services.store.engine
    executed = sqlite_statements(engine)

    ids = [f"plan-{i}" for i in range(4)]
    calls = [samples.register_certificate(CertificateSpec(certificate_id=cid)) for cid in ids] + [
        samples.get_certificate(ids[0]),
        samples.get_certificate_type_info(ids[0]),
        samples.list_certificates_for_care(),
        samples.list_certificates_for_citizen(),
        samples.list_relations_for_certificate(tuple(ids[:2])),
        samples.send_certificate_to_recipient(ids[1]),
        samples.set_certificate_status(ids[2], "SENTTO", part="FKASSA"),
        to_care("plan-q-1", ids[1]),
        to_recipient("plan-r-1", ids[1]),
        samples.revoke_certificate(ids[1]),
        samples.list_sick_leaves_for_care(samples.CARE_UNIT),
        samples.list_active_sick_leaves_for_care_unit(samples.CARE_UNIT),
        samples.list_sick_leaves_for_person(samples.PATIENT),
    ]
    outcomes = [(a.contract, a.outcome) for a in map(app.dispatcher.handle, calls)]
    assert all(outcome == "OK" for _, outcome in outcomes), outcomes  # the paths that write ran to the end

    # The internal API's reads (Mina intyg, Webcert, Rehabstöd, an export's first page).
    api = falcon.testing.TestClient(build_internal_api(services, AccessLogWriter(services.store)))
    reads = [
        api.simulate_post("/internalapi/citizen", json={"patientId": samples.PATIENT}),
        api.simulate_get(f"/internalapi/message/{ids[1]}"),
        api.simulate_get(f"/internalapi/intygInfo/{ids[0]}"),
        api.simulate_get(f"/internalapi/intygInfo/{samples.CARE_GIVER}/count"),
        api.simulate_post(
            "/internalapi/certificatelist/certificates/doctor",
            json={"unitIds": [samples.CARE_UNIT], "hsaId": samples.DOCTOR, "pageSize": 10},
        ),
        api.simulate_post("/internalapi/sickleave/active", json={"careUnitId": samples.CARE_UNIT}),
        api.simulate_post("/internalapi/sickleave/filters", json={"careUnitId": samples.CARE_UNIT}),
        api.simulate_get(f"/internalapi/v1/certificates/{samples.CARE_GIVER}", params={"batchSize": "2"}),
    ]
    assert [r.status_code for r in reads] == [200] * len(reads), [r.text for r in reads if r.status_code != 200]

    # The delivery loop's own statements, on the items those calls queued.
    store, now = services.store, dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.reading() as uow:
        due = uow.outbox.due_destinations(now)
    assert len(due) == 2, due
    for destination in due:
        with store.writing() as uow:
            claimed = uow.outbox.claim_ids(destination, now, dt.timedelta(minutes=1), "plans", 50)
            uow.commit()
        with store.reading() as uow:
            assert uow.outbox.items(claimed)
            assert uow.outbox.payloads(claimed)  # what a batch of broker events is read by
        with store.writing() as uow:
            uow.outbox.mark_done(claimed[:1], now)
            uow.outbox.schedule_retry(claimed[-1], now, "later", now)
            uow.commit()
    with store.writing() as uow:
        uow.outbox.purge_settled(now + dt.timedelta(days=1), 100)
        uow.commit()
    with store.reading() as uow:
        uow.outbox.waiting()  # the metrics' outbox depth, asked at every scrape
    engine.dispose()

    assert len(executed) > 100
    assert _full_reads(tmp_path / "plans.db", executed) == {}
