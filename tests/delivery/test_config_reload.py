"""The recipient and route files change under a running gateway: taken up without a restart,
and a broken file is refused with a message naming its line and field while the one in force stays."""

from __future__ import annotations

import json
import time

import pytest

from intygsgw.config.recipient_file import DEFAULT_FILE
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.devtools.stub.process import StubProcess
from tests.support.server import GatewayProcess
from tests.support.soapclient import GatewayClient
from tests.support.waiting import wait_until

FBA = {
    "id": "FBA",
    "name": "Försäkringsbolaget AB",
    "recipientType": "MOTTAGARE",
    "logicalAddress": "FBA",
    "certificateTypes": ["lisjp"],
    "active": True,
    "trusted": False,
}


def routes_to(url: str) -> str:
    return f'[[route]]\ncontract = "RegisterCertificate:3"\nlogical_address = "FKORG"\nurl = "{url}/register"\n'


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    work = tmp_path_factory.mktemp("gw-reload")
    stubs = [StubProcess(tmp_path_factory.mktemp(name), name=name).start() for name in ("first", "second")]
    (work / "recipients.json").write_text(DEFAULT_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    (work / "routes.toml").write_text(routes_to(stubs[0].base_url), encoding="utf-8")
    gw = GatewayProcess(
        work,
        extra_env={
            "INTYGSGW_RECIPIENTS_FILE": str(work / "recipients.json"),
            "INTYGSGW_ROUTES_FILE": str(work / "routes.toml"),
            "INTYGSGW_DELIVERY": "false",
        },
    ).start()
    yield work, gw, GatewayClient(gw.base_url), [s.client for s in stubs]
    gw.stop()
    for s in stubs:
        s.stop()


def known(client) -> set[str]:
    result, _ = client.call("ListKnownRecipients", 1)
    return {r.id for r in result.recipient}


def write(path, text: str) -> None:
    # A new modification time even on file systems with coarse timestamps.
    time.sleep(0.05)
    path.write_text(text, encoding="utf-8")


def test_recipients_file_is_reloaded_and_a_broken_one_is_refused(setup):
    work, gw, client, _ = setup
    assert "FBA" not in known(client)
    registry = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    write(work / "recipients.json", json.dumps([*registry, FBA], indent=2, ensure_ascii=False))
    wait_until(lambda: "FBA" in known(client), "the new recipient served")

    broken = json.dumps([*registry, {**FBA, "recipientType": "KUND"}], indent=2, ensure_ascii=False)
    write(work / "recipients.json", broken)
    line = broken.count("\n", 0, broken.index('"id": "FBA"'))  # the entry's "{" is on the line before
    # A file is looked at when it is used, at most every two seconds.
    wait_until(
        lambda: known(client) and f"recipient #8 FBA (line {line}): field 'recipientType'" in gw.log(),
        "the refusal logged with line and field",
    )
    assert "keeping the previous one" in gw.log()
    assert "FBA" in known(client)  # the registry in force stays


def send_lands_at(client, stubs, n: int) -> int:
    cid = f"reload-{n}-{time.time_ns()}"
    client.call_raw("RegisterCertificate", 3, samples.register_certificate(CertificateSpec(certificate_id=cid)))
    result, _ = client.call_raw("SendCertificateToRecipient", 2, samples.send_certificate_to_recipient(cid))
    assert result.result.resultCode == "OK"
    return next(i for i, stub in enumerate(stubs) if stub.messages(certificate_id=cid))


def test_routes_file_is_reloaded_and_a_broken_one_is_refused(setup):
    work, gw, client, stubs = setup
    assert send_lands_at(client, stubs, 0) == 0
    write(work / "routes.toml", routes_to(stubs[1].base_url))
    counter = iter(range(1, 1000))
    wait_until(lambda: send_lands_at(client, stubs, next(counter)) == 1, "sends going to the new route")

    write(work / "routes.toml", "# moved\n\n" + routes_to(stubs[0].base_url).replace("http://", "ftp://"))
    wait_until(
        lambda: (
            send_lands_at(client, stubs, next(counter)) == 1
            and "route #1 (line 3): field 'url' must be an http(s) URL" in gw.log()
        ),
        "the refusal logged with line and field",
    )
    assert send_lands_at(client, stubs, 9999) == 1  # the table in force stays
