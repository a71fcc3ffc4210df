"""Certificates and revocations reach Försäkringskassan and Transportstyrelsen, through outages.

One gateway and two stub recipients (FKASSA at FKORG, TRANSP at TRANSP), all
real processes on loopback. The gateway's clock is moved with its offset file
(gateway/clock.py) to make hours of retry schedule pass in seconds.

The sample builders (intygsgw.devtools.samples) write LISJP certificates only, so the
recipient file of this test lets TRANSP receive LISJP as well; everything else
is the shipped registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests
from lxml import etree

from intygsgw.app import build_services
from intygsgw.clock import write_offset
from intygsgw.config.recipient_file import DEFAULT_FILE
from intygsgw.config.settings import Settings
from intygsgw.delivery.deliverer import DeliveryConfig
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from intygsgw.interactions import (
    GET_CERTIFICATE_2,
    REGISTER_CERTIFICATE_3,
    REVOKE_CERTIFICATE_2,
    SEND_CERTIFICATE_TO_RECIPIENT_2,
)
from intygsgw.storage.outbox import DONE, PENDING
from tests.support.paths import REPO_ROOT
from tests.support.published import assert_valid_answer
from tests.support.server import GatewayProcess
from tests.support.soapclient import GatewayClient
from tests.support.waiting import wait_until

REVOKE_NS = "urn:riv:clinicalprocess:healthcond:certificate:RevokeCertificateResponder:2"
CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"
TRANSP_READ_TIMEOUT = 3


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    procs = {name: StubProcess(tmp_path_factory.mktemp(name), name=name).start() for name in ("FKASSA", "TRANSP")}
    yield procs
    for p in procs.values():
        p.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, stubs):
    work = tmp_path_factory.mktemp("gw")
    recipients = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    for r in recipients:
        if r["id"] == "TRANSP":
            r["certificateTypes"].append("lisjp")
    (work / "recipients.json").write_text(json.dumps(recipients), encoding="utf-8")
    fk, ts = stubs["FKASSA"].base_url, stubs["TRANSP"].base_url
    (work / "routes.toml").write_text(
        f"""
[[route]]
contract = "RegisterCertificate:3"
logical_address = "FKORG"
url = "{fk}/register"

[[route]]
contract = "RevokeCertificate:2"
logical_address = "fkorg"
url = "{fk}/revoke"

[[route]]
contract = "RegisterCertificate:3"
logical_address = "TRANSP"
url = "{ts}/register"
read_timeout = {TRANSP_READ_TIMEOUT}

[[route]]
contract = "RevokeCertificate:2"
logical_address = "TRANSP"
url = "{ts}/revoke"
read_timeout = {TRANSP_READ_TIMEOUT}
""",
        encoding="utf-8",
    )
    offset = work / "clock-offset"
    write_offset(str(offset), 0)
    env = {
        # One name across restarts, as a gateway restarted on its own port has.
        "INTYGSGW_INSTANCE_NAME": "end-to-end-gateway",
        "INTYGSGW_RECIPIENTS_FILE": str(work / "recipients.json"),
        "INTYGSGW_ROUTES_FILE": str(work / "routes.toml"),
        "INTYGSGW_CLOCK_OFFSET_FILE": str(offset),
    }
    state = {"work": work, "env": env, "offset": offset, "gateway": GatewayProcess(work, extra_env=env).start()}
    services = build_services(Settings(db=f"sqlite:///{work / 'intygsgw.db'}", clock_offset_file=str(offset)))
    state["services"] = services
    yield state
    state["gateway"].stop()
    services.store.engine.dispose()


@pytest.fixture
def gw(setup, stubs):
    for stub in stubs.values():
        stub.client.reset()
    return setup


def client(setup) -> GatewayClient:
    return GatewayClient(setup["gateway"].base_url)


def register(setup, cid: str) -> None:
    result, _ = client(setup).call_raw(
        "RegisterCertificate", 3, samples.register_certificate(CertificateSpec(certificate_id=cid))
    )
    assert result.result.resultCode == "OK"


def send(setup, cid: str, recipient: str):
    result, _ = client(setup).call_raw(
        "SendCertificateToRecipient", 2, samples.send_certificate_to_recipient(cid, recipient=recipient)
    )
    return result.result


def revoke(setup, cid: str) -> None:
    result, _ = client(setup).call_raw("RevokeCertificate", 2, samples.revoke_certificate(cid))
    assert result.result.resultCode == "OK"


def sent_to(setup, cid: str) -> set[str]:
    _, raw = client(setup).call_raw("GetCertificate", 2, samples.get_certificate(cid))
    return {
        s.findtext(f"{{{CORE}}}part/{{{TYPES}}}code")
        for s in raw.iter(f"{{{CORE}}}status")
        if s.findtext(f"{{{CORE}}}status/{{{TYPES}}}code") == "SENTTO"
    }


def revocations(setup, cid: str, address: str):
    with setup["services"].store.reading() as uow:
        return list(uow.outbox.find(reference=cid, contract=REVOKE_CERTIFICATE_2.namespace, destination=address))


def new_id(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"


# --------------------------------------------------------------------------


def test_send_reaches_each_recipient_at_its_own_address(gw, stubs):
    cid = new_id("send")
    register(gw, cid)
    for recipient, address in (("FKASSA", "FKORG"), ("TRANSP", "TRANSP")):
        result = send(gw, cid, recipient)
        assert (result.resultCode, result.errorId) == ("OK", None)
        [msg] = stubs[recipient].client.messages(contract="RegisterCertificate", certificate_id=cid)
        assert msg["logical_address"] == address and msg["outcome"] == "OK"
    assert sent_to(gw, cid) == {"FKASSA", "TRANSP"}
    again = send(gw, cid, "TRANSP")
    assert (again.resultCode, again.resultText) == ("INFO", f"Certificate '{cid}' already sent to 'TRANSP'.")
    assert len(stubs["TRANSP"].client.messages(contract="RegisterCertificate", certificate_id=cid)) == 1


@pytest.mark.parametrize("failure", ["down", "error", "fault"])
def test_a_failing_recipient_gives_technical_error_and_no_sent_state(gw, stubs, failure):
    cid = new_id(f"fail-{failure}")
    register(gw, cid)
    transp = stubs["TRANSP"].client
    if failure == "down":
        transp.down()
    elif failure == "error":
        transp.add_rule(
            contract="RegisterCertificate", result_code="ERROR", error_id="APPLICATION_ERROR", result_text="nej"
        )
    else:
        transp.add_rule(contract="RegisterCertificate", fault_string="boom")
    result = send(gw, cid, "TRANSP")
    assert (result.resultCode, result.errorId, result.resultText) == (
        "ERROR",
        "TECHNICAL_ERROR",
        f"Certificate '{cid}' couldn't be sent to recipient",
    )
    assert sent_to(gw, cid) == set()
    transp.reset()
    # Nothing was recorded, so a new attempt is a real send, not "already sent".
    assert send(gw, cid, "TRANSP").resultCode == "OK"
    assert sent_to(gw, cid) == {"TRANSP"}


def test_an_info_answer_from_the_recipient_counts_as_sent(gw, stubs):
    cid = new_id("info")
    register(gw, cid)
    stubs["FKASSA"].client.add_rule(
        contract="RegisterCertificate", result_code="INFO", result_text="Certificate already exists"
    )
    assert send(gw, cid, "FKASSA").resultCode == "OK"
    assert sent_to(gw, cid) == {"FKASSA"}


def test_a_revocation_survives_an_outage_and_a_kill_and_is_delivered_when_the_recipient_is_back(gw, stubs):
    fk = stubs["FKASSA"].client
    cid = new_id("revoke")
    register(gw, cid)
    assert send(gw, cid, "FKASSA").resultCode == "OK"
    fk.down()
    revoke(gw, cid)
    [item] = wait_until(
        lambda: [i for i in revocations(gw, cid, "FKORG") if i.attempts >= 1], what="a first failed delivery attempt"
    )
    assert item.state == PENDING and "503" in item.last_error

    gw["gateway"].kill()  # kill -9 of the whole process group
    fk.up()
    gw["gateway"] = GatewayProcess(gw["work"], extra_env=gw["env"]).start()
    time.sleep(1.0)
    # Not due yet (the first retry is a minute away): the restarted gateway waits.
    assert fk.messages(contract="RevokeCertificate", certificate_id=cid, outcome="OK") == []

    write_offset(str(gw["offset"]), 2 * 3600)  # two hours later
    try:
        [msg] = fk.wait_for(contract="RevokeCertificate", certificate_id=cid, outcome="OK", timeout=15)
        assert msg["logical_address"] == "FKORG"
        request = etree.fromstring(fk.body(msg["seq"])).find(f".//{{{REVOKE_NS}}}RevokeCertificate")
        assert_valid_answer("RevokeCertificate", 2, request)
        assert request.findtext(f"{{{REVOKE_NS}}}intygs-id/{{{TYPES}}}extension") == cid
        [done] = wait_until(
            lambda: [i for i in revocations(gw, cid, "FKORG") if i.state == DONE], what="the outbox item marked DONE"
        )
        assert done.attempts == 2
    finally:
        write_offset(str(gw["offset"]), 0)


def test_a_revocation_during_a_send_in_flight_still_reaches_that_recipient(gw, stubs):
    # The revocation commits while FK is still receiving the certificate, so
    # at that moment nothing says FK has it; the send records SENT afterwards
    # and must then pass the revocation on.
    fk = stubs["FKASSA"].client
    cid = new_id("revoke-in-flight")
    register(gw, cid)
    fk.add_rule(contract="RegisterCertificate", certificate_id=cid, delay_ms=2_000, times=1)
    outcome = {}
    sending = threading.Thread(target=lambda: outcome.update(result=send(gw, cid, "FKASSA")))
    sending.start()
    try:
        fk.wait_for(contract="RegisterCertificate", certificate_id=cid, timeout=10)
        revoke(gw, cid)
    finally:
        sending.join(timeout=30)
    assert outcome["result"].resultCode == "OK"
    assert sent_to(gw, cid) == {"FKASSA"}
    [msg] = fk.wait_for(contract="RevokeCertificate", certificate_id=cid, outcome="OK", timeout=15)
    request = etree.fromstring(fk.body(msg["seq"])).find(f".//{{{REVOKE_NS}}}RevokeCertificate")
    assert request.findtext(f"{{{REVOKE_NS}}}intygs-id/{{{TYPES}}}extension") == cid


def test_a_dead_destination_does_not_delay_a_healthy_one(gw, stubs):
    fk, ts = stubs["FKASSA"].client, stubs["TRANSP"].client
    ids = [new_id(f"dead-{n}") for n in range(5)]
    for cid in ids:
        register(gw, cid)
        assert send(gw, cid, "FKASSA").resultCode == "OK"
        assert send(gw, cid, "TRANSP").resultCode == "OK"
    # Transportstyrelsen hangs: every call there costs the whole read timeout.
    ts.add_rule(contract="RevokeCertificate", delay_ms=(TRANSP_READ_TIMEOUT + 5) * 1000)
    started = time.monotonic()
    for cid in ids:
        revoke(gw, cid)
    for cid in ids:
        fk.wait_for(contract="RevokeCertificate", certificate_id=cid, outcome="OK", timeout=15)
    fk_done = time.monotonic() - started
    # Every FKASSA revocation arrived before the first TRANSP call could even time out.
    assert fk_done < TRANSP_READ_TIMEOUT, f"FKASSA waited {fk_done:.1f} s behind the dead TRANSP"

    wait_until(
        lambda: [i for cid in ids for i in revocations(gw, cid, "TRANSP") if i.attempts >= 1],
        timeout=TRANSP_READ_TIMEOUT * 4,
        what="the TRANSP timeout",
    )
    time.sleep(TRANSP_READ_TIMEOUT + 1)  # calls already in flight when it went dead time out too

    def attempts():
        items = [i for cid in ids for i in revocations(gw, cid, "TRANSP")]
        assert len(items) == len(ids) and all(i.state == PENDING for i in items)
        return sum(i.attempts for i in items), [i.last_error for i in items if i.last_error]

    tried, errors = attempts()
    # At most the drains already running on that queue each burn one timeout;
    # then the circuit is open and the rest wait for the retry time.
    assert 1 <= tried <= DeliveryConfig().per_destination
    assert all(f"no answer within {TRANSP_READ_TIMEOUT} s" in e for e in errors)
    time.sleep(1.0)
    assert attempts()[0] == tried
    assert len(ts.messages(contract="RevokeCertificate")) == tried


def test_a_revocation_in_flight_when_the_gateway_is_killed_is_sent_again_once_when_it_restarts(gw, stubs):
    fk = stubs["FKASSA"].client
    cid = new_id("inflight")
    register(gw, cid)
    assert send(gw, cid, "FKASSA").resultCode == "OK"
    fk.add_rule(contract="RevokeCertificate", certificate_id=cid, delay_ms=5_000, times=1)
    revoke(gw, cid)
    fk.wait_for(contract="RevokeCertificate", certificate_id=cid)  # arrived; its answer is held back
    gw["gateway"].kill()
    [item] = revocations(gw, cid, "FKORG")
    assert item.state == PENDING and item.attempts == 0  # claimed, never settled

    # The same gateway, restarted, knows the claim is its dead predecessor's and
    # takes it over at once instead of waiting out the two-minute lease.
    gw["gateway"] = GatewayProcess(gw["work"], extra_env=gw["env"]).start()
    fk.wait_for(2, contract="RevokeCertificate", certificate_id=cid, timeout=15)
    [done] = wait_until(
        lambda: [i for i in revocations(gw, cid, "FKORG") if i.state == DONE], what="the outbox item marked DONE"
    )
    assert done.attempts == 1
    time.sleep(1.0)
    assert len(fk.messages(contract="RevokeCertificate", certificate_id=cid)) == 2  # at least once, not more


def test_a_refused_revocation_is_dead_with_its_reason_until_an_operator_retries_it(gw, stubs):
    fk = stubs["FKASSA"].client
    cid = new_id("refused")
    register(gw, cid)
    assert send(gw, cid, "FKASSA").resultCode == "OK"
    fk.add_rule(
        contract="RevokeCertificate",
        certificate_id=cid,
        result_code="ERROR",
        error_id="VALIDATION_ERROR",
        result_text="Felaktigt intygs-id",
    )
    revoke(gw, cid)
    [dead] = wait_until(
        lambda: [i for i in revocations(gw, cid, "FKORG") if i.state == "DEAD"], what="the refused item in DEAD"
    )
    assert dead.last_error == "ERROR/VALIDATION_ERROR: Felaktigt intygs-id"
    [msg] = fk.messages(contract="RevokeCertificate", certificate_id=cid)
    assert msg["headers"].get("x-skltp-correlation-id") == dead.correlation_id

    db = f"sqlite:///{gw['work'] / 'intygsgw.db'}"
    listed = operator(gw, "list", "--state", "DEAD", "--reference", cid, "--db", db)
    assert str(dead.id) in listed and "Felaktigt intygs-id" in listed
    fk.clear_rules()
    operator(gw, "retry", str(dead.id), "--db", db)
    fk.wait_for(contract="RevokeCertificate", certificate_id=cid, outcome="OK")
    [done] = wait_until(
        lambda: [i for i in revocations(gw, cid, "FKORG") if i.state == DONE], what="the retried item delivered"
    )
    assert done.attempts == 2


def operator(gw, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "intygsgw.cli", "outbox", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def post(setup, interaction, body: bytes, correlation_id: str) -> requests.Response:
    return requests.post(
        setup["gateway"].url(interaction.path),
        data=body,
        timeout=30,
        headers={"Content-Type": "text/xml; charset=UTF-8", "x-skltp-correlation-id": correlation_id},
    )


def test_the_callers_correlation_id_follows_a_send_and_a_queued_revocation(gw, stubs):
    cid = new_id("corr")
    assert (
        post(
            gw,
            REGISTER_CERTIFICATE_3,
            samples.register_certificate(CertificateSpec(certificate_id=cid)),
            "corr-register",
        ).headers["x-skltp-correlation-id"]
        == "corr-register"
    )
    sent = post(
        gw,
        SEND_CERTIFICATE_TO_RECIPIENT_2,
        samples.send_certificate_to_recipient(cid, recipient="FKASSA"),
        "corr-send-1",
    )
    assert sent.status_code == 200 and sent.headers["x-skltp-correlation-id"] == "corr-send-1"
    [delivered] = stubs["FKASSA"].client.messages(contract="RegisterCertificate", certificate_id=cid)
    assert delivered["headers"]["x-skltp-correlation-id"] == "corr-send-1"

    post(gw, REVOKE_CERTIFICATE_2, samples.revoke_certificate(cid), "corr-revoke-1")
    [queued] = revocations(gw, cid, "fkorg")
    assert queued.correlation_id == "corr-revoke-1"
    deadline = time.monotonic() + 20
    while not stubs["FKASSA"].client.messages(contract="RevokeCertificate", certificate_id=cid):
        assert time.monotonic() < deadline, "the revocation was not delivered"
        time.sleep(0.1)
    [revoked] = stubs["FKASSA"].client.messages(contract="RevokeCertificate", certificate_id=cid)
    assert revoked["headers"]["x-skltp-correlation-id"] == "corr-revoke-1"


def test_a_call_without_a_correlation_id_gets_one_and_each_call_its_own(gw):
    ids = set()
    for n in range(3):
        answer = requests.post(
            gw["gateway"].url(GET_CERTIFICATE_2.path),
            data=samples.get_certificate(f"none-{n}"),
            headers={"Content-Type": "text/xml"},
            timeout=30,
        )
        ids.add(answer.headers["x-skltp-correlation-id"])
    assert len(ids) == 3 and all(len(i) == 36 for i in ids)
