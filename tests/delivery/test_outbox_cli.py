"""``intygsgw outbox list|show|retry|discard``, run as operators run it, on SQLite and PostgreSQL.

The outbox is filled through the repository the gateway itself uses; the
command runs as a separate process against the same database, and what it
changed is read back through the repository.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from intygsgw.app import build_deliverer, build_services
from intygsgw.config.settings import Settings
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import CERTIFICATE_STATUS_UPDATE_FOR_CARE_3, REVOKE_CERTIFICATE_2
from intygsgw.storage.outbox import DEAD, DISCARDED, DONE, PENDING
from tests.support.paths import REPO_ROOT

REVOKE = b"<RevokeCertificate xmlns='urn:riv:clinicalprocess:healthcond:certificate:RevokeCertificateResponder:2'/>"


def outbox(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "intygsgw.cli", "outbox", *args, "--db", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def db(outbox_database):
    return outbox_database


def enqueue(services, address: str, reference: str, contract: str = REVOKE_CERTIFICATE_2.namespace) -> int:
    now = services.clock.utc()
    with services.store.writing() as uow:
        uow.outbox.enqueue(
            contract=contract,
            logical_address=address,
            kind="revoke",
            reference=reference,
            payload=REVOKE,
            correlation_id=f"corr-{reference}",
            now=now,
        )
        uow.commit()
        return uow.outbox.find(reference=reference, limit=1)[0].id


def settle(services, item_id: int, state: str, error: str | None = None) -> None:
    now = services.clock.utc()
    with services.store.writing() as uow:
        if state == DEAD:
            uow.outbox.mark_dead(item_id, error, now)
        elif state == DONE:
            uow.outbox.mark_done([item_id], now)
        else:
            uow.outbox.schedule_retry(item_id, now + dt.timedelta(hours=1), error, now)
        uow.commit()


def get(services, item_id: int):
    with services.store.reading() as uow:
        return uow.outbox.get(item_id)


def listed_ids(stdout: str) -> set[int]:
    return {int(line.split()[0]) for line in stdout.splitlines()[1:] if line.strip()}


@pytest.fixture
def queue(db):
    url, services = db
    ids = {
        "fk-waiting": enqueue(services, "FKORG", "c-1"),
        "fk-dead": enqueue(services, "FKORG", "c-2"),
        "fk-done": enqueue(services, "FKORG", "c-3"),
        "ts-dead": enqueue(services, "TRANSP", "c-4"),
        "care": enqueue(services, "SE2321000016-1001", "c-5", contract=CERTIFICATE_STATUS_UPDATE_FOR_CARE_3.namespace),
    }
    settle(services, ids["fk-waiting"], PENDING, "connect: refused")
    settle(services, ids["fk-dead"], DEAD, "ERROR/VALIDATION_ERROR: bad intyg")
    settle(services, ids["fk-done"], DONE)
    settle(services, ids["ts-dead"], DEAD, "ERROR/APPLICATION_ERROR: nope")
    return url, services, ids


def test_list_filters_by_destination_state_and_contract(queue):
    url, _, ids = queue
    everything = outbox(url, "list")
    assert everything.returncode == 0, everything.stderr
    assert listed_ids(everything.stdout) == set(ids.values())

    fk = outbox(url, "list", "--destination", "fkorg")  # addresses compare without case
    assert listed_ids(fk.stdout) == {ids["fk-waiting"], ids["fk-dead"], ids["fk-done"]}
    assert "RevokeCertificate:2 @ FKORG" in fk.stdout and "connect: refused" in fk.stdout

    dead = outbox(url, "list", "--state", "dead")
    assert listed_ids(dead.stdout) == {ids["fk-dead"], ids["ts-dead"]}

    one_queue = outbox(url, "list", "--destination", "CertificateStatusUpdateForCare:3@SE2321000016-1001")
    assert listed_ids(one_queue.stdout) == {ids["care"]}

    as_json = outbox(url, "list", "--destination", "TRANSP", "--json")
    [row] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert row["id"] == ids["ts-dead"] and row["state"] == DEAD and row["last_error"].endswith("nope")

    summary = outbox(url, "list", "--summary")
    lines = {" ".join(line.split()) for line in summary.stdout.splitlines()}
    assert "RevokeCertificate:2 @ FKORG DEAD 1" in lines
    assert "RevokeCertificate:2 @ FKORG PENDING 1" in lines
    assert "RevokeCertificate:2 @ TRANSP DEAD 1" in lines


def test_show_prints_the_item_and_its_payload(queue):
    url, _, ids = queue
    shown = outbox(url, "show", str(ids["fk-dead"]))
    assert shown.returncode == 0, shown.stderr
    assert "ERROR/VALIDATION_ERROR: bad intyg" in shown.stdout
    assert "corr-c-2" in shown.stdout and REVOKE.decode() in shown.stdout
    missing = outbox(url, "show", "999999")
    assert missing.returncode == 1 and "no item 999999" in missing.stderr


def test_showing_a_payload_is_in_the_patient_access_log(queue):
    # A payload is patient data; the operator who read it is on record.
    url, services, ids = queue
    with services.store.reading() as uow:
        before = max((e.seq for e in uow.access_log.entries()), default=0)  # the PostgreSQL log is shared
    assert outbox(url, "show", str(ids["ts-dead"])).returncode == 0
    with services.store.reading() as uow:
        shown = [e.entry for e in uow.access_log.entries() if e.seq > before and e.entry.contract == "outbox show"]
    assert [(e.caller.startswith("operator:"), e.logical_address, e.certificate_ids, e.outcome) for e in shown] == [
        (True, "TRANSP", ("c-4",), "OK")
    ]


def test_retry_by_id_and_by_filter_makes_items_due_now(queue):
    url, services, ids = queue
    before = services.clock.utc()
    by_id = outbox(url, "retry", str(ids["fk-waiting"]))
    assert by_id.returncode == 0 and "1 item(s) due now" in by_id.stdout
    item = get(services, ids["fk-waiting"])
    assert item.state == PENDING and item.next_attempt_at <= services.clock.utc()
    assert item.next_attempt_at >= before - dt.timedelta(seconds=5)

    by_filter = outbox(url, "retry", "--state", "DEAD", "--destination", "FKORG")
    assert by_filter.returncode == 0 and "1 item(s) due now" in by_filter.stdout
    assert get(services, ids["fk-dead"]).state == PENDING
    assert get(services, ids["ts-dead"]).state == DEAD  # another destination: untouched
    assert get(services, ids["fk-done"]).state == DONE

    # An item in flight (claimed by a delivering process) is not freed for a second sender.
    in_flight = enqueue(services, "FKORG", "c-6")
    with services.store.writing() as uow:
        uow.outbox.claim(
            uow.outbox.get(in_flight).destination, services.clock.utc(), dt.timedelta(minutes=2), "elsewhere", 10
        )
        uow.commit()
    busy = outbox(url, "retry", str(in_flight))
    assert busy.returncode == 1 and "not in flight" in busy.stdout


def test_discard_never_touches_delivered_items(queue):
    url, services, ids = queue
    gone = outbox(url, "discard", str(ids["ts-dead"]), str(ids["fk-done"]))
    assert gone.returncode == 0
    assert "1 item(s) discarded; 1 left alone" in gone.stdout
    assert get(services, ids["ts-dead"]).state == DISCARDED
    assert get(services, ids["fk-done"]).state == DONE
    nothing = outbox(url, "discard", str(ids["fk-done"]))
    assert nothing.returncode == 1


def test_unclear_commands_are_refused_with_a_message(queue):
    url, services, ids = queue
    no_selection = outbox(url, "retry")
    assert no_selection.returncode == 2 and "give item ids" in no_selection.stderr
    both = outbox(url, "discard", str(ids["fk-dead"]), "--state", "DEAD")
    assert both.returncode == 2 and "not both" in both.stderr
    bad_state = outbox(url, "list", "--state", "LOST")
    assert bad_state.returncode == 2 and "unknown state 'LOST'" in bad_state.stderr
    assert get(services, ids["fk-dead"]).state == DEAD


def test_retry_closes_the_circuit_the_failure_opened(db, tmp_path):
    """An outage opens the destination's circuit until the retry time; an
    operator's retry once the receiver is back delivers at once."""
    url, _ = db
    stub = StubProcess(tmp_path / "stub", name="fk").start()
    try:
        routes = tmp_path / "routes.toml"
        routes.write_text(
            f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\nurl = "{stub.base_url}/revoke"\n'
        )
        settings = Settings(db=url, routes_file=str(routes), retry_delays="1h")
        services = build_services(settings)
        deliverer = build_deliverer(settings, services)
        first, second = enqueue(services, "FKORG", "c-10"), enqueue(services, "FKORG", "c-11")
        stub.client.down()
        deliverer.run_until_idle()
        failed = get(services, first)
        assert failed.state == PENDING and failed.attempts == 1 and "503" in failed.last_error
        assert failed.next_attempt_at > services.clock.utc() + dt.timedelta(minutes=50)
        assert get(services, second).attempts == 0  # held back by the open circuit, not tried

        stub.client.up()
        deliverer.run_until_idle()
        # The circuit is still open: nothing more is sent before its time.
        assert stub.client.messages(outcome="OK") == [] and len(stub.client.messages()) == 1

        assert outbox(url, "retry", "--destination", "FKORG", "--state", "PENDING").returncode == 0
        deliverer.run_until_idle()
        assert get(services, first).state == DONE and get(services, second).state == DONE
        assert len(stub.client.messages(outcome="OK")) == 2
        services.store.engine.dispose()
    finally:
        stub.stop()
