"""What the README tells a newcomer to run works, and its contract table is the registry's."""

from __future__ import annotations

import re

import requests

from intygsgw.registry import CONTRACTS
from tests.support.paths import REPO_ROOT
from tests.support.server import running_gateway
from tests.support.soapclient import GatewayClient

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = REPO_ROOT / "examples"


def test_the_contract_table_lists_exactly_what_is_served():
    rows = re.findall(r"^\| (\w+) (\d+) \| `([^`]+)` \| (ERROR result|SOAP fault)", README, re.M)
    served = [
        (c.name, str(c.major), c.path, "ERROR result" if c.transforms_faults else "SOAP fault") for c in CONTRACTS
    ]
    assert rows == served


def curl_requests() -> list[tuple[str, str]]:
    """(example file, path) of every curl command in the README's first request."""
    return re.findall(r"--data-binary @examples/([\w.-]+) \\\n\s+http://127\.0\.0\.1:8080(\S+)", README)


def test_the_first_request_registers_and_reads_the_example(tmp_path):
    steps = curl_requests()
    assert [f for f, _ in steps] == ["register-certificate.xml", "get-certificate.xml"]
    with running_gateway(tmp_path) as gw:
        answers = [
            requests.post(
                gw.base_url + path,
                data=(EXAMPLES / name).read_bytes(),
                timeout=30,
                headers={"Content-Type": "text/xml; charset=UTF-8"},
            )
            for name, path in steps
        ]
        again = requests.post(
            gw.base_url + steps[0][1],
            data=(EXAMPLES / steps[0][0]).read_bytes(),
            timeout=30,
            headers={"Content-Type": "text/xml; charset=UTF-8"},
        )
        # The zeep call the README shows, word for word in its arguments.
        result = (
            GatewayClient(gw.base_url)
            .zeep_client("GetCertificate", 2)
            .service.GetCertificate(
                _soapheaders={"LogicalAddress": "5565594230"},
                **{
                    "intygs-id": {"root": "SE2321000016-1003", "extension": "example-lisjp-0001"},
                    "part": {"code": "HSVARD", "codeSystem": "769bb12b-bd9f-4203-a5cd-fd14f2eb3b80"},
                },
            )
        )
    assert [a.status_code for a in answers] == [200, 200]
    assert b"<core:resultCode>OK</core:resultCode>" in answers[0].content
    assert b"example-lisjp-0001" in answers[1].content and b"RECEIV" in answers[1].content
    assert b"<core:resultCode>INFO</core:resultCode>" in again.content
    assert b"Certificate already exists" in again.content
    assert result.intyg["intygs-id"].extension == "example-lisjp-0001"
