"""Operators see every SOAP call: one line each, as JSON when asked, without person ids."""

from __future__ import annotations

import datetime as dt
import json

import requests

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.interactions import GET_CERTIFICATE_2, REGISTER_CERTIFICATE_3
from tests.support.server import running_gateway
from tests.support.waiting import wait_until


def request_lines(log: str) -> list[dict]:
    lines = []
    for line in log.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record["logger"] == "intygsgw.requests":
                lines.append(record)
    return lines


def test_each_call_writes_one_json_line_with_outcome_and_correlation_but_no_person_id(tmp_path):
    with running_gateway(tmp_path, extra_env={"INTYGSGW_LOG_FORMAT": "json"}) as gw:
        headers = {"Content-Type": "text/xml", "x-skltp-correlation-id": "corr-log-1"}
        ok = requests.post(
            gw.url(REGISTER_CERTIFICATE_3.path),
            headers=headers,
            timeout=30,
            data=samples.register_certificate(CertificateSpec(certificate_id="log-1")),
        )
        assert ok.status_code == 200
        refused = requests.post(
            gw.url(REGISTER_CERTIFICATE_3.path),
            headers={"Content-Type": "text/xml"},
            timeout=30,
            data=samples.register_certificate(CertificateSpec(certificate_id="log-1", person_id=samples.OTHER_PATIENT)),
        )
        assert refused.status_code == 200
        fault = requests.post(
            gw.url(GET_CERTIFICATE_2.path),
            headers={"Content-Type": "text/xml"},
            timeout=30,
            data=samples.get_certificate("no-such-certificate"),
        )
        assert fault.status_code == 500
        wait_until(lambda: len(request_lines(gw.log())) >= 3, timeout=10)
        log = gw.log()
    first, second, third = request_lines(log)[:3]
    assert {k: first[k] for k in ("contract", "logical_address", "result", "error_id", "status", "correlation_id")} == {
        "contract": "RegisterCertificate:3",
        "logical_address": samples.HUB_ADDRESS,
        "result": "OK",
        "error_id": "",
        "status": 200,
        "correlation_id": "corr-log-1",
    }
    assert first["duration_ms"] > 0
    assert dt.datetime.fromisoformat(first["time"]).tzinfo is not None  # times carry their zone
    assert (second["result"], second["error_id"]) == ("ERROR", "VALIDATION_ERROR")
    assert len(second["correlation_id"]) == 36  # made up here: the caller sent none
    assert (third["contract"], third["result"], third["status"]) == ("GetCertificate:2", "FAULT", 500)
    for person in (samples.PATIENT, samples.OTHER_PATIENT):
        assert person not in log and person[2:] not in log
