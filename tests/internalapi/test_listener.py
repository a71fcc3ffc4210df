"""The internal listener itself: its own port, its OpenAPI document, problem answers, the access log."""

from __future__ import annotations

import requests
from openapi_spec_validator import validate

from intygsgw.cli.main import main
from tests.internalapi.data import new_hsa, new_person, register
from tests.internalapi.support import access_entries

PATIENT = "191212121212"


def test_the_served_openapi_document_is_valid_openapi_3_1(api):
    assert api.document["openapi"] == "3.1.0"
    validate(api.document)
    assert [s["url"] for s in api.document["servers"]] == ["/", "/inera-certificate"]
    served = {(path, method) for path, item in api.document["paths"].items() for method in item}
    for path, method in [
        ("/internalapi/citizen", "post"),
        ("/internalapi/citizen/send", "post"),
        ("/internalapi/message/{certificateId}", "get"),
        ("/internalapi/intygInfo/{id}", "get"),
        ("/internalapi/intygInfo/{id}/count", "get"),
        ("/internalapi/certificatelist/certificates/doctor", "post"),
        ("/internalapi/testCertificate/erase", "post"),
        ("/internalapi/v1/certificatetexts", "get"),
        ("/internalapi/v1/certificates/{careProviderId}", "get"),
        ("/internalapi/v1/certificates/{careProviderId}", "delete"),
    ]:
        assert (path, method) in served


def test_the_soap_port_refuses_the_internal_api(gateway):
    answer = requests.post(gateway.base_url + "/internalapi/citizen", json={"patientId": PATIENT}, timeout=10)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "internal port" in answer.json()["detail"]


def test_the_internal_port_serves_no_soap(api):
    answer = api.post(
        "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21",
        data=b"<x/>",
        headers={"Content-Type": "text/xml"},
    )
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_the_internal_port_must_be_a_port_of_its_own(capsys, monkeypatch, tmp_path):
    # `serve` names a metrics folder in os.environ; kept to this test, or every gateway
    # started later in the session would count into the same folder.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert main(["serve", "--port", "18080", "--internal-port", "18080"]) == 2
    assert "never the SOAP port" in capsys.readouterr().err
    assert main(["serve", "--port", "18080", "--internal-port", "70000"]) == 2


def problem(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in answer.text
    return body


def test_every_bad_request_gets_a_problem_document(api):
    body = problem(api.post("/internalapi/citizen", {"patientId": "not a person"}), 400)
    assert body["errors"][0]["field"] == "patientId"
    body = problem(
        api.post("/internalapi/citizen", data=b"{not json", headers={"Content-Type": "application/json"}), 400
    )
    assert "not valid JSON" in body["detail"]
    body = problem(api.post("/internalapi/citizen", data=b"[1, 2]", headers={"Content-Type": "application/json"}), 400)
    body = problem(api.post("/internalapi/citizen", {"patientId": PATIENT, "years": ["20x4"]}), 400)
    assert body["errors"][0]["field"] == "years.0"
    body = problem(api.post("/internalapi/citizen", {"units": []}), 400)
    assert body["errors"][0]["field"] == "patientId"
    body = problem(api.post("/internalapi/citizen", data=b"patientId=1", headers={"Content-Type": "text/plain"}), 415)
    body = problem(api.post("/internalapi/citizen", data=b"", headers={"Content-Type": "application/json"}), 400)
    big = b'{"patientId": "' + b"1" * (2 * 1024 * 1024) + b'"}'
    problem(api.post("/internalapi/citizen", data=big, headers={"Content-Type": "application/json"}), 413)
    body = problem(api.get("/internalapi/message/has space"), 400)
    assert body["errors"][0]["field"] == "certificateId"
    problem(api.get("/internalapi/message/" + "x" * 200), 400)
    problem(api.get("/internalapi/intygInfo/no-such-certificate"), 404)
    problem(api.get("/internalapi/v1/certificates/CG-1", params={"batchSize": "many"}), 400)
    problem(api.get("/internalapi/v1/certificates/CG-1", params={"batchSize": "0"}), 400)
    problem(api.request("PUT", "/internalapi/citizen", json_body={}), 405)


def test_an_unknown_path_is_a_problem_too(api):
    answer = api.get("/internalapi/nothing-here")
    body = problem(answer, 404)
    assert body["instance"] == "/internalapi/nothing-here"


def test_a_patient_data_call_is_in_the_access_log(api, gateway):
    person = "191012109876"
    assert api.post("/internalapi/citizen", {"patientId": person}).status_code == 200
    entries = access_entries(gateway, person)
    assert [e["contract"] for e in entries] == ["internalapi:listCitizenCertificates"]
    assert entries[0]["outcome"] == "OK"


def test_a_refused_patient_data_call_is_logged_with_its_status(api, gateway):
    person = "191112119872"
    answer = api.post(
        "/internalapi/citizen/send", {"certificateId": "nope", "patientId": person, "recipient": "FKASSA"}
    )
    problem(answer, 404)
    entries = access_entries(gateway, person)
    assert entries[-1]["contract"] == "internalapi:sendCitizenCertificate"
    assert entries[-1]["outcome"] == "HTTP:404"
    assert entries[-1]["certificate_ids"] == ["nope"]


def test_the_reference_servlet_context_path_reaches_the_same_operations(api, gateway, soap):
    # The reference runs under the servlet context /inera-certificate, and its clients call it so:
    # Rehabstöd's IntygstjanstRestIntegrationServiceImpl has "/inera-certificate/internalapi/sickleave/active"
    # in its code, Mina intyg ships integration.intygstjanst.certificate.endpoint with that prefix.
    unit, person = new_hsa("U"), new_person()
    cid = register(soap, person, unit=unit)
    for path, body in [
        ("/internalapi/sickleave/active", {"careUnitId": unit}),
        ("/internalapi/sickleave/filters", {"careUnitId": unit}),
        ("/internalapi/citizen", {"patientId": person}),
    ]:
        plain = api.post(path, body)
        prefixed = requests.post(gateway.internal_url + "/inera-certificate" + path, json=body, timeout=30)
        assert prefixed.status_code == 200, prefixed.text
        assert plain.status_code == 200 and prefixed.json() == plain.json()
    assert cid in [c["id"] for c in prefixed.json()["content"]]
    info = requests.get(f"{gateway.internal_url}/inera-certificate/internalapi/intygInfo/{cid}", timeout=30)
    assert info.status_code == 200 and info.json()["intygId"] == cid


def test_the_soap_port_refuses_the_internal_api_under_the_servlet_context_too(gateway):
    answer = requests.post(
        gateway.base_url + "/inera-certificate/internalapi/citizen", json={"patientId": PATIENT}, timeout=10
    )
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/problem+json"
