"""The three sick-leave contracts over HTTP, on SQLite and PostgreSQL (hub-behaviour §1.11, §5).

ListActiveSickLeavesForCareUnit 1 and ListSickLeavesForPerson 1 (Rehabstöd's raw
data) and ListSickLeavesForCare 1 (the case engine's answer). Certificates are
registered through RegisterCertificate with periods around today, so the lists
see them as a care system would; every answer that is not a fault is checked
against the published responder schema by the client.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.fresh import TODAY, day, new_hsa, new_person
from tests.support.server import GatewayProcess
from tests.support.soapclient import GatewayClient

REHAB = "urn:riv:clinicalprocess:healthcond:rehabilitation:1"
TYPES_2 = "urn:riv:clinicalprocess:healthcond:certificate:types:2"
TYPES_3 = "urn:riv:clinicalprocess:healthcond:certificate:types:3"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ACTIVE = "ListActiveSickLeavesForCareUnit"
PERSON = "ListSickLeavesForPerson"
CARE = "ListSickLeavesForCare"


def new_unit() -> str:
    return new_hsa("U")


def register(client: GatewayClient, person: str, unit: str, periods, **spec) -> str:
    cid = str(uuid.uuid4())
    first = min(dt.date.fromisoformat(start) for _, start, _ in periods)
    signed = min(first, TODAY).isoformat() + "T10:00:00"
    cert = CertificateSpec(
        certificate_id=cid, person_id=person, care_unit_id=unit, signed_at=signed, periods=tuple(periods), **spec
    )
    result, _ = client.call_raw("RegisterCertificate", 3, samples.register_certificate(cert))
    assert result.result.resultCode == "OK", result.result
    return cid


def revoke(client: GatewayClient, cid: str, person: str) -> None:
    result, _ = client.call_raw("RevokeCertificate", 2, samples.revoke_certificate(cid, person_id=person))
    assert result.result.resultCode == "OK", result.result


def active_list(client: GatewayClient, unit: str, person: str | None = None, days: int | str | None = None):
    _, answer = client.call_raw(ACTIVE, 1, samples.list_active_sick_leaves_for_care_unit(unit, person, days))
    return answer


def local(el: etree._Element, name: str) -> str:
    return el.findtext(f"{{{etree.QName(el).namespace}}}{name}") or ""


def listed_ids(answer: etree._Element) -> list[str]:
    return [d.findtext(f"{{{REHAB}}}intygsId") for d in answer.iter(f"{{{REHAB}}}intygsData")]


def post(gateway, name: str, envelope: bytes):
    """The raw HTTP answer, for faults zeep would turn into exceptions."""
    import requests

    from tests.support.soapclient import endpoint_path

    response = requests.post(
        gateway.base_url + endpoint_path(name, 1), data=envelope, headers={"Content-Type": "text/xml"}, timeout=30
    )
    return response.status_code, etree.fromstring(response.content)


# -- ListActiveSickLeavesForCareUnit ------------------------------------------------------------


def test_the_unit_list_has_every_certificate_of_patients_on_sick_leave_raw(client):
    unit, patient, healed = new_unit(), new_person(), new_person()
    early = register(client, patient, unit, [("HELT_NEDSATT", day(-40), day(-21))])
    current = register(client, patient, unit, [("HELT_NEDSATT", day(-20), day(-6)), ("HALFTEN", day(-5), day(20))])
    register(client, healed, unit, [("HELT_NEDSATT", day(-60), day(-30))])

    answer = active_list(client, unit)
    assert local(answer, "resultCode") == "OK"
    # Raw data: both of the patient's certificates, not merged; the healed patient is not there.
    assert sorted(listed_ids(answer)) == sorted([early, current])
    [data] = [d for d in answer.iter(f"{{{REHAB}}}intygsData") if d.findtext(f"{{{REHAB}}}intygsId") == current]
    pid = data.find(f"{{{REHAB}}}patient/{{{REHAB}}}personId")
    assert (pid.findtext(f"{{{TYPES_2}}}root"), pid.findtext(f"{{{TYPES_2}}}extension")) == (
        "1.2.752.129.2.1.3.1",
        patient,
    )
    periods = [
        (
            f.findtext(f"{{{REHAB}}}startdatum"),
            f.findtext(f"{{{REHAB}}}slutdatum"),
            f.findtext(f"{{{REHAB}}}nedsattning"),
        )
        for f in data.iter(f"{{{REHAB}}}formaga")
    ]
    assert periods == [(day(-20), day(-6), "100"), (day(-5), day(20), "50")]
    assert data.findtext(f"{{{REHAB}}}enkeltIntyg") == "false"
    assert data.findtext(f"{{{REHAB}}}diagnoskod") == "M544"
    assert [b.text for b in data.iter(f"{{{REHAB}}}bidiagnoser")] == ["G479"]
    assert [s.text for s in data.iter(f"{{{REHAB}}}sysselsattning")] == ["NUVARANDE_ARBETE"]
    giver = data.find(f"{{{REHAB}}}skapadAv/{{{REHAB}}}enhet/{{{REHAB}}}vardgivare/{{{REHAB}}}vardgivarId")
    assert giver.findtext(f"{{{TYPES_2}}}extension") == samples.CARE_GIVER
    top = answer.find(f"{{{etree.QName(answer).namespace}}}vardgivare/{{{REHAB}}}vardgivarId")
    assert top.findtext(f"{{{TYPES_2}}}extension") == samples.CARE_GIVER


def test_days_since_end_keeps_recently_healed_patients(client):
    unit, patient = new_unit(), new_person()
    cid = register(client, patient, unit, [("HELT_NEDSATT", day(-30), day(-4))])
    assert listed_ids(active_list(client, unit)) == []
    assert listed_ids(active_list(client, unit, days=2)) == []
    assert listed_ids(active_list(client, unit, days=6)) == [cid]


def test_person_id_narrows_the_unit_list_and_a_dash_is_accepted(client):
    unit, one, other = new_unit(), new_person(), new_person()
    mine = register(client, one, unit, [("HELT_NEDSATT", day(-3), day(10))])
    register(client, other, unit, [("HELT_NEDSATT", day(-3), day(10))])
    assert listed_ids(active_list(client, unit, one)) == [mine]
    # Not schema-validated, as in the reference: the dashed form Rehabstöd may send works.
    assert listed_ids(active_list(client, unit, f"{one[:8]}-{one[8:]}")) == [mine]


@pytest.mark.parametrize(
    ("unit", "person", "days", "comment"),
    [
        ("", None, None, "No careUnitHsaId specified in request."),
        ("   ", None, None, "No careUnitHsaId specified in request."),
        ("SE2321000016-1003", "not-a-person", None, "Could not parse passed personnummer"),
        ("SE2321000016-1003", None, "many", "Unmarshalling Error"),
    ],
)
def test_unit_list_errors_are_the_references(client, unit, person, days, comment):
    answer = active_list(client, unit, person, days)
    assert local(answer, "resultCode") == "ERROR"
    assert local(answer, "comment").startswith(comment)
    assert listed_ids(answer) == []


def test_an_unknown_unit_is_an_empty_ok_list(client):
    answer = active_list(client, new_unit())
    assert (local(answer, "resultCode"), listed_ids(answer)) == ("OK", [])


@pytest.mark.parametrize("code", ["ERSATT", "KOMPLT"])
def test_a_replaced_certificate_leaves_the_list_until_its_replacement_is_revoked(client, code):
    # INTYG-7848: a replacing or completing certificate hides the original while it stands.
    unit, patient = new_unit(), new_person()
    periods = [("HELT_NEDSATT", day(-3), day(10))]
    original = register(client, patient, unit, periods)
    replacement = register(client, patient, unit, periods, relation=(code, original))
    assert listed_ids(active_list(client, unit)) == [replacement]
    revoke(client, replacement, patient)
    assert listed_ids(active_list(client, unit)) == [original]


@pytest.mark.parametrize("code", ["FRLANG", "KOPIA"])
def test_an_extension_or_a_copy_leaves_the_original_on_the_list(client, code):
    unit, patient = new_unit(), new_person()
    original = register(client, patient, unit, [("HELT_NEDSATT", day(-10), day(-1))])
    follower = register(client, patient, unit, [("HELT_NEDSATT", day(0), day(10))], relation=(code, original))
    assert sorted(listed_ids(active_list(client, unit))) == sorted([original, follower])


def test_a_revoked_certificate_leaves_the_list(client):
    unit, patient = new_unit(), new_person()
    cid = register(client, patient, unit, [("HELT_NEDSATT", day(-3), day(10))])
    revoke(client, cid, patient)
    assert listed_ids(active_list(client, unit)) == []


# -- ListSickLeavesForPerson --------------------------------------------------------------------


def person_list(client: GatewayClient, person: str):
    _, answer = client.call_raw(PERSON, 1, samples.list_sick_leaves_for_person(person))
    return answer


def test_the_person_list_spans_care_givers_and_leaves_out_revoked_and_replaced(client):
    patient = new_person()
    here = register(client, patient, new_unit(), [("HELT_NEDSATT", day(-100), day(-80))])
    there = register(
        client, patient, new_unit(), [("HELT_NEDSATT", day(-3), day(10))], care_giver_id="SE2321000016-0002"
    )
    revoked = register(client, patient, new_unit(), [("HELT_NEDSATT", day(-50), day(-40))])
    revoke(client, revoked, patient)
    replaced = register(client, patient, new_unit(), [("HALFTEN", day(-30), day(-20))])
    replacing = register(client, patient, new_unit(), [("HALFTEN", day(-30), day(-20))], relation=("ERSATT", replaced))

    answer = person_list(client, patient)
    result = answer.find(f"{{{etree.QName(answer).namespace}}}result")
    assert local(result, "resultCode") == "OK"
    assert sorted(listed_ids(answer)) == sorted([here, there, replacing])
    assert person_list(client, new_person()).find(f".//{{{REHAB}}}intygsData") is None


def test_the_person_list_refuses_an_unreadable_person_id(client):
    answer = person_list(client, "1912121212xx")
    result = answer.find(f"{{{etree.QName(answer).namespace}}}result")
    assert (local(result, "resultCode"), local(result, "resultMessage")) == (
        "ERROR",
        "Could not parse passed personnummer",
    )


# -- ListSickLeavesForCare ----------------------------------------------------------------------


def care_cases(client: GatewayClient, unit: str, **kwargs) -> list[dict]:
    _, answer = client.call_raw(CARE, 1, samples.list_sick_leaves_for_care(unit, **kwargs))
    ns = etree.QName(answer).namespace

    def t(el, path):
        return el.findtext(
            "/".join(f"{{{ns}}}{p}" if not p.startswith("t:") else f"{{{TYPES_3}}}{p[2:]}" for p in path.split("/"))
        )

    return [
        {
            "person": t(s, "person-id/t:extension"),
            "root": t(s, "person-id/t:root"),
            "unit": t(s, "enhets-id/t:extension"),
            "doctor": t(s, "personal-id/t:extension"),
            "start": t(s, "startdatum"),
            "end": t(s, "slutdatum"),
            "diagnosis": t(s, "diagnoskod/code"),
            "certificates": int(t(s, "antalIntyg")),
            "days": int(t(s, "sjukskrivningslangd")),
            "active": int(t(s, "sjukskrivningsgrad/aktivGrad")),
            "grades": [int(g.text) for g in s.iter(f"{{{ns}}}grad")],
        }
        for s in answer.iter(f"{{{ns}}}sjukfall")
    ]


@pytest.fixture(scope="module")
def linked(client):
    """A patient with two certificates two days apart on a unit of their own."""
    unit, patient = new_unit(), new_person()
    register(client, patient, unit, [("HELT_NEDSATT", day(-20), day(-11))])
    register(client, patient, unit, [("HALFTEN", day(-8), day(10))])
    return unit, patient


def test_certificates_within_the_gap_make_one_case(client, linked):
    unit, patient = linked
    [case] = care_cases(client, unit, max_gap=5)
    assert case == {
        "person": patient,
        "root": "1.2.752.129.2.1.3.1",
        "unit": unit,
        "doctor": samples.DOCTOR,
        "start": day(-20),
        "end": day(10),
        "diagnosis": "M544",
        "certificates": 2,
        "days": 10 + 19,
        "active": 50,
        "grades": [50],
    }


def test_a_smaller_gap_splits_them_and_the_case_is_the_active_one(client, linked):
    unit, _ = linked
    [case] = care_cases(client, unit, max_gap=1)
    assert (case["start"], case["certificates"], case["days"]) == (day(-8), 1, 19)


@pytest.mark.parametrize(
    ("bounds", "kept"),
    [({"min_days": 29}, True), ({"min_days": 30}, False), ({"max_days": 29}, False), ({"max_days": 30}, True)],
)
def test_length_bounds_keep_min_inclusive_max_exclusive(client, linked, bounds, kept):
    unit, _ = linked
    assert len(care_cases(client, unit, max_gap=5, **bounds)) == (1 if kept else 0)


def test_the_doctor_filter(client, linked):
    unit, _ = linked
    assert len(care_cases(client, unit, max_gap=5, doctor_ids=(samples.DOCTOR,))) == 1
    assert care_cases(client, unit, max_gap=5, doctor_ids=("SE2321000016-NOBODY",)) == []


@pytest.mark.parametrize(
    ("unit", "gap", "fault"),
    [
        (" ", 5, "Request to ListSickLeavesForCare is missing required parameter 'enhets-id'"),
        (
            "SE2321000016-1003",
            -1,
            "Request to ListSickLeavesForCare has invalid value for parameter 'maxDagarMellanIntyg', "
            "must be >= 0, was -1",
        ),
    ],
)
def test_care_list_faults_are_the_references(gateway, unit, gap, fault):
    status, envelope = post(gateway, CARE, samples.list_sick_leaves_for_care(unit, max_gap=gap))
    assert status == 500
    assert envelope.findtext(f".//{{{SOAP_ENV}}}Fault/faultcode").endswith("Server")
    assert envelope.findtext(f".//{{{SOAP_ENV}}}Fault/faultstring") == fault


def test_a_care_list_request_against_the_schema_is_a_client_fault(gateway):
    bad = samples.list_sick_leaves_for_care("SE2321000016-1003").replace(b">5<", b">fem<")
    status, envelope = post(gateway, CARE, bad)
    assert status == 500
    assert envelope.findtext(f".//{{{SOAP_ENV}}}Fault/faultcode").endswith("Client")
    assert envelope.findtext(f".//{{{SOAP_ENV}}}Fault/faultstring").startswith("Unmarshalling Error")


# -- sub-units, from the operator's file --------------------------------------------------------


@pytest.fixture(scope="module")
def gateway_with_sub_units(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gw-sub-units")
    (folder / "units.toml").write_text(
        '[sub_units]\n"SE2321000016-MAIN" = ["SE2321000016-MOT1", "SE2321000016-MOT2"]\n', encoding="utf-8"
    )
    gw = GatewayProcess(
        folder,
        workers=1,
        extra_env={"INTYGSGW_DELIVERY": "false", "INTYGSGW_SUB_UNITS_FILE": str(folder / "units.toml")},
    ).start()
    yield gw
    gw.stop()


def test_a_units_list_includes_its_sub_units_on_the_same_care_giver(gateway_with_sub_units):
    client = GatewayClient(gateway_with_sub_units.base_url)
    periods = [("HELT_NEDSATT", day(-3), day(10))]
    main = register(client, new_person(), "SE2321000016-MAIN", periods)
    sub = register(client, new_person(), "SE2321000016-MOT1", periods)
    # A sub-unit's certificate naming another care giver is not the unit's.
    register(client, new_person(), "SE2321000016-MOT2", periods, care_giver_id="SE2321000016-0002")
    register(client, new_person(), "SE2321000016-ELSEWHERE", periods)
    assert sorted(listed_ids(active_list(client, "SE2321000016-MAIN"))) == sorted([main, sub])
    # A sub-unit's own list is just itself.
    assert listed_ids(active_list(client, "SE2321000016-MOT1")) == [sub]
