"""An approved receiver that the registry marks inactive is not offered (hub-behaviour §1.10).

GetRecipientsForCertificate takes the active ones among the approved receivers,
and with none left the main recipients of the certificate's stored type. The
shipped registry has only active recipients, so this gateway reads one with an
inactive receiver of lisjp added.
"""

from __future__ import annotations

import json
import uuid

import pytest

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.paths import REPO_ROOT
from tests.support.server import GatewayProcess
from tests.support.soapclient import GatewayClient

TYPE_SYSTEM = "b64ea353-e8f6-4832-b563-fc7d46f29548"
RESTING = {
    "id": "RESTING",
    "name": "A receiver taken out of service",
    "recipientType": "DIREKTMOTTAGARE",
    "logicalAddress": "RESTING",
    "certificateTypes": ["lisjp"],
    "active": False,
    "trusted": True,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    work = tmp_path_factory.mktemp("gw-inactive")
    registry = json.loads((REPO_ROOT / "contracts" / "recipients.json").read_text(encoding="utf-8"))
    (work / "recipients.json").write_text(json.dumps([*registry, RESTING]), encoding="utf-8")
    env = {"INTYGSGW_DELIVERY": "false", "INTYGSGW_RECIPIENTS_FILE": str(work / "recipients.json")}
    gw = GatewayProcess(work / "gw", extra_env=env).start()
    yield GatewayClient(gw.base_url)
    gw.stop()


def approve(client, certificate_id: str, choices: list[tuple[str, str]]) -> str:
    result, _ = client.call(
        "RegisterApprovedReceivers",
        1,
        **{
            "intyg-id": {"root": samples.CARE_UNIT, "extension": certificate_id},
            "typAvIntyg": {"code": "lisjp", "codeSystem": TYPE_SYSTEM},
            "approvedReceivers": [{"receiverId": rid, "approvalStatus": status} for rid, status in choices],
        },
    )
    return result.result.resultCode


def recipients_for(client, certificate_id: str) -> list[str]:
    result, _ = client.call("GetRecipientsForCertificate", 1, certificateId=certificate_id, certificateType="lisjp")
    assert result.result.resultCode == "OK"
    return [r.id for r in result.recipient]


def registered(client) -> str:
    cid = str(uuid.uuid4())
    result, _ = client.call_raw(
        "RegisterCertificate", 3, samples.register_certificate(CertificateSpec(certificate_id=cid))
    )
    assert result.result.resultCode == "OK"
    return cid


def test_an_inactive_approved_receiver_gives_way_to_the_main_recipients(client):
    cid = registered(client)
    assert approve(client, cid, [("RESTING", "YES"), ("FKASSA", "NO")]) == "OK"
    assert recipients_for(client, cid) == ["FKASSA"]


def test_active_approved_receivers_are_kept_beside_an_inactive_one(client):
    cid = registered(client)
    assert approve(client, cid, [("RESTING", "YES"), ("FKASSA", "YES")]) == "OK"
    assert recipients_for(client, cid) == ["FKASSA"]
    # The approval itself is stored as given: ListApprovedReceivers still names the inactive one.
    result, _ = client.call("ListApprovedReceivers", 1, **{"intygs-id": {"root": samples.CARE_UNIT, "extension": cid}})
    assert {(r.receiverId, r.approvalStatus) for r in result.receiverList} >= {("RESTING", "YES"), ("FKASSA", "YES")}
