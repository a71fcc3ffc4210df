"""CertificateStatusUpdateForCare 3 notifications: queued per care system, delivered after an outage.

Two stub care systems behind one gateway; one is down. Its notifications wait
in its own queue while the other's are delivered, and go out once it is back
and the retry is due (the gateway's clock is moved with the offset file
instead of waiting real minutes).
"""

from __future__ import annotations

import time

import pytest
import requests
from lxml import etree

from intygsgw.clock import write_offset
from intygsgw.devtools.samples import CARE_UNIT, CertificateSpec, register_certificate, send_certificate_to_recipient
from intygsgw.devtools.stub.process import StubProcess
from tests.messages.test_message_relay_http import XML, post, result, to_care, to_recipient
from tests.support.published import assert_valid_answer
from tests.support.server import GatewayProcess

OTHER_UNIT = "SE2321000016-2002"
CSU = "urn:riv:clinicalprocess:healthcond:certificate:CertificateStatusUpdateForCareResponder:3"
CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"
BASE = "/clinicalprocess/healthcond/certificate/{}/rivtabp21"


@pytest.fixture(scope="module")
def systems(tmp_path_factory):
    procs = {name: StubProcess(tmp_path_factory.mktemp(name), name=name).start() for name in ("care-a", "care-b", "fk")}
    yield {name: p.client for name, p in procs.items()}
    for p in procs.values():
        p.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, systems):
    work = tmp_path_factory.mktemp("gw")
    offset = work / "clock-offset"
    write_offset(str(offset), 0)
    routes = work / "routes.toml"
    entries = [
        ("CertificateStatusUpdateForCare:3", CARE_UNIT, systems["care-a"]),
        ("CertificateStatusUpdateForCare:3", OTHER_UNIT, systems["care-b"]),
        ("SendMessageToCare:2", "*", systems["care-a"]),
        ("SendMessageToRecipient:2", "*", systems["fk"]),
        ("RegisterCertificate:3", "*", systems["fk"]),
    ]
    routes.write_text(
        "".join(
            f'[[route]]\ncontract = "{c}"\nlogical_address = "{a}"\nurl = "{s.base_url}/x"\n\n' for c, a, s in entries
        )
    )
    gw = GatewayProcess(
        work,
        extra_env={
            "INTYGSGW_ROUTES_FILE": str(routes),
            "INTYGSGW_CLOCK_OFFSET_FILE": str(offset),
            "INTYGSGW_RETRY_DELAYS": "1m",
        },
    ).start()
    gw.offset_file = str(offset)
    yield gw
    gw.stop()


def call(gw, name: str, body: bytes) -> bytes:
    resp = requests.post(gw.base_url + BASE.format(name), data=body, headers=XML, timeout=30)
    assert resp.status_code == 200 and b">OK<" in resp.content, resp.text
    return resp.content


def notification(stub, seq) -> tuple[str, str, etree._Element]:
    body = etree.fromstring(stub.body(seq))
    request = body.find(f".//{{{CSU}}}CertificateStatusUpdateForCare")
    assert_valid_answer("CertificateStatusUpdateForCare", 3, request)
    code = request.findtext(f"{{{CSU}}}handelse/{{{CORE}}}handelsekod/{{{TYPES}}}code")
    cid = request.findtext(f"{{{CSU}}}intyg/{{{CORE}}}intygs-id/{{{TYPES}}}extension")
    return code, cid, request


def test_citizen_send_and_questions_notify_each_care_system_on_its_own_queue(gateway, systems):
    care_a, care_b = systems["care-a"], systems["care-b"]
    call(gateway, "RegisterCertificate/3", register_certificate(CertificateSpec(certificate_id="n-a")))
    for cid in ("n-b0", "n-b"):
        call(
            gateway,
            "RegisterCertificate/3",
            register_certificate(CertificateSpec(certificate_id=cid, care_unit_id=OTHER_UNIT)),
        )
    care_a.down()
    try:
        # A send by care itself notifies nobody; a citizen's send does.
        call(gateway, "SendCertificateToRecipient/2", send_certificate_to_recipient("n-b0", recipient="FKASSA"))
        call(
            gateway,
            "SendCertificateToRecipient/2",
            send_certificate_to_recipient("n-a", recipient="FKASSA", sent_by_citizen=True),
        )
        call(
            gateway,
            "SendCertificateToRecipient/2",
            send_certificate_to_recipient("n-b", recipient="FKASSA", sent_by_citizen=True),
        )
        [got_b] = care_b.wait_for(1, timeout=15)
        code, cid, _ = notification(care_b, got_b["seq"])
        assert (code, cid) == ("SKICKA", "n-b")
        attempts = care_a.wait_for(1, timeout=15)
        assert {m["outcome"] for m in attempts} == {"down"}  # tried, refused with 503
    finally:
        care_a.up()
    # The first attempt failed; the retry is one (gateway) minute later, not now.
    time.sleep(1.0)
    assert care_a.messages(outcome="OK") == []
    write_offset(gateway.offset_file, 90)
    [got_a] = care_a.wait_for(1, timeout=15, outcome="OK")
    code, cid, request = notification(care_a, got_a["seq"])
    assert (code, cid) == ("SKICKA", "n-a")
    statuses = [s.findtext(f"{{{CORE}}}status/{{{TYPES}}}code") for s in request.iter(f"{{{CORE}}}status")]
    assert "SENTTO" in statuses

    # A question from FK to care is relayed to care-a and then notified there as NYFRFM.
    care_a.clear()
    assert result(post(gateway, "SendMessageToCare", to_care("n-q1", "n-a", "KOMPLT")))[0] == "OK"
    found = care_a.wait_for(2, timeout=15, outcome="OK")
    codes = []
    for m in found:
        root = etree.fromstring(care_a.body(m["seq"]))
        if root.find(f".//{{{CSU}}}CertificateStatusUpdateForCare") is not None:
            code, cid, request = notification(care_a, m["seq"])
            codes.append(code)
            received = request.find(f"{{{CSU}}}mottagnaFragor")
            assert [received.findtext(f"{{{CORE}}}{t}") for t in ("totalt", "ejBesvarade")] == ["1", "1"]
    assert codes == ["NYFRFM"]
    assert [m["certificate_id"] for m in care_b.messages()] == ["n-b"]  # nothing else went to the other system


def test_answer_from_the_recipient_notifies_care_as_nysvfm_with_answered_counts(gateway, systems):
    care_a = systems["care-a"]
    call(gateway, "RegisterCertificate/3", register_certificate(CertificateSpec(certificate_id="n-c")))
    call(gateway, "SendCertificateToRecipient/2", send_certificate_to_recipient("n-c", recipient="FKASSA"))
    assert result(post(gateway, "SendMessageToRecipient", to_recipient("n-q2", "n-c", "KONTKT")))[0] == "OK"
    care_a.clear()
    assert result(post(gateway, "SendMessageToCare", to_care("n-a2", "n-c", "KONTKT", svar_pa="n-q2")))[0] == "OK"
    found = care_a.wait_for(2, timeout=15, outcome="OK")
    notes = [
        notification(care_a, m["seq"])
        for m in found
        if etree.fromstring(care_a.body(m["seq"])).find(f".//{{{CSU}}}CertificateStatusUpdateForCare") is not None
    ]
    assert [(code, cid) for code, cid, _ in notes] == [("NYSVFM", "n-c")]
    asked = notes[0][2].find(f"{{{CSU}}}skickadeFragor")
    assert [asked.findtext(f"{{{CORE}}}{t}") for t in ("totalt", "ejBesvarade", "besvarade")] == ["1", "0", "1"]
