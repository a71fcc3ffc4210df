"""The lifecycle and list contracts over HTTP, called by zeep from the served WSDL.

Each test runs against a gateway on SQLite and one on PostgreSQL. Every
non-fault answer is also checked against the published responder schema by
the client (tests/support/soapclient.py).
"""

from __future__ import annotations

import uuid

import pytest
import zeep.exceptions
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec

CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"
PART_SYSTEM = "769bb12b-bd9f-4203-a5cd-fd14f2eb3b80"
STATUS_SYSTEM = "9871cd17-8755-4ed9-b894-ff3729e775a4"


def new_id() -> str:
    return str(uuid.uuid4())


def register(client, spec: CertificateSpec):
    result, _raw = client.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
    return result.result


def part(code: str) -> dict:
    return {"code": code, "codeSystem": PART_SYSTEM}


def ii(extension: str, root: str = samples.CARE_UNIT) -> dict:
    return {"root": root, "extension": extension}


def person(pnr: str = samples.PATIENT) -> dict:
    return {"root": "1.2.752.129.2.1.3.1", "extension": pnr}


def get(client, cid: str, part_code: str = "HSVARD") -> etree._Element:
    _, raw = client.call("GetCertificate", 2, **{"intygs-id": ii(cid), "part": part(part_code)})
    return raw


def statuses(raw: etree._Element) -> list[tuple[str, str]]:
    return [
        (s.findtext(f"{{{CORE}}}part/{{{TYPES}}}code"), s.findtext(f"{{{CORE}}}status/{{{TYPES}}}code"))
        for s in raw.iter(f"{{{CORE}}}status")
        if s.find(f"{{{CORE}}}part") is not None
    ]


def hos_personal() -> dict:
    return {
        "personal-id": {"root": "1.2.752.129.2.1.4.1", "extension": samples.DOCTOR},
        "fullstandigtNamn": "Ingrid Nilsson Läkare",
        "enhet": {
            "enhets-id": {"root": "1.2.752.129.2.1.4.1", "extension": samples.CARE_UNIT},
            "arbetsplatskod": {"root": "1.2.752.29.4.71", "extension": "1234567890"},
            "enhetsnamn": "Vårdcentralen Linden",
            "postadress": "Lindvägen 4",
            "postnummer": "12345",
            "postort": "Stockholm",
            "telefonnummer": "08-1234567",
            "vardgivare": {
                "vardgivare-id": {"root": "1.2.752.129.2.1.4.1", "extension": samples.CARE_GIVER},
                "vardgivarnamn": "Region Exempel",
            },
        },
    }


def revoke(client, cid: str, pnr: str = samples.PATIENT):
    result, _ = client.call(
        "RevokeCertificate",
        2,
        **{
            "skickatTidpunkt": "2026-11-21T09:00:00",
            "intygs-id": ii(cid),
            "patientPerson-id": person(pnr),
            "skickatAv": hos_personal(),
        },
    )
    return result.result


# --------------------------------------------------------------------------
# RegisterCertificate 3
# --------------------------------------------------------------------------


def test_register_stores_the_certificate_received_by_care(client):
    cid = new_id()
    result = register(client, CertificateSpec(certificate_id=cid))
    assert result.resultCode == "OK"
    raw = get(client, cid)
    assert raw.findtext(f".//{{{CORE}}}intygs-id/{{{TYPES}}}extension") == cid
    assert statuses(raw) == [("HSVARD", "RECEIV")]


def test_register_twice_for_the_same_patient_answers_info(client):
    cid = new_id()
    assert register(client, CertificateSpec(certificate_id=cid)).resultCode == "OK"
    again = register(client, CertificateSpec(certificate_id=cid))
    assert (again.resultCode, again.resultText) == ("INFO", "Certificate already exists")
    assert again.errorId is None


def test_register_same_id_for_another_patient_is_a_validation_error(client):
    cid = new_id()
    assert register(client, CertificateSpec(certificate_id=cid)).resultCode == "OK"
    other = register(client, CertificateSpec(certificate_id=cid, person_id=samples.OTHER_PATIENT))
    assert (other.resultCode, other.errorId, other.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "Certificate already exists",
    )


def test_register_unknown_type_version(client):
    result = register(client, CertificateSpec(certificate_id=new_id(), version="9.0"))
    assert (result.resultCode, result.errorId, result.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "Certificate with type: LISJP does not support version: 9.0",
    )


@pytest.mark.parametrize(("version", "supported"), [("1.9", False), ("1", True), ("1.0", True)])
def test_register_needs_a_known_text_version_and_reads_a_bare_major_as_its_first(client, version, supported):
    # INTYG-7234: the major version must have a module and the minor a deployed text version;
    # the reference reads "1" as "1.0".
    result = register(client, CertificateSpec(certificate_id=new_id(), version=version))
    if supported:
        assert (result.resultCode, result.errorId, result.resultText) == ("OK", None, None)
    else:
        assert (result.resultCode, result.errorId, result.resultText) == (
            "ERROR",
            "VALIDATION_ERROR",
            f"Certificate with type: LISJP does not support version: {version}",
        )


def test_register_bad_person_id(client):
    result = register(
        client, CertificateSpec(certificate_id=new_id(), person_id="181212121212")
    )  # 12 digits, but no such century
    assert (result.resultCode, result.errorId, result.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "Social security number is not of correct format.",
    )


def test_register_texts_longer_than_the_gateway_stores_are_a_validation_error(client):
    # The schema allows any length; PostgreSQL refused these as a database
    # failure while SQLite stored them. Both now answer the same, naming the field.
    cid = new_id()
    result = register(
        client, CertificateSpec(certificate_id=cid, care_unit_name="Vårdcentral " * 30)
    )  # 359 once trimmed
    assert (result.resultCode, result.errorId, result.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "care_unit_name is 359 characters long; the gateway stores at most 255",
    )
    assert register(client, CertificateSpec(certificate_id=cid)).resultCode == "OK"  # nothing was kept
    result = register(client, CertificateSpec(certificate_id="x" * 129))
    assert (result.resultCode, result.errorId, result.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "id is 129 characters long; the gateway stores at most 128",
    )


def test_register_schema_violation_is_an_unmarshalling_error_result(client):
    envelope = samples.register_certificate(CertificateSpec(certificate_id=new_id()))
    broken = envelope.replace(b"<c:version>1.3</c:version>", b"")
    result, _ = client.call_raw("RegisterCertificate", 3, broken)
    assert (result.result.resultCode, result.result.errorId) == ("ERROR", "VALIDATION_ERROR")
    assert result.result.resultText.startswith("Unmarshalling Error: ")


def test_stored_certificate_is_returned_with_every_answer(client):
    cid = new_id()
    spec = CertificateSpec(certificate_id=cid)
    register(client, spec)
    raw = get(client, cid)
    returned = raw.find(f"{{{raw.tag[1:].split('}')[0]}}}intyg")
    sent = etree.fromstring(samples.intyg_document(spec))
    assert [infoset(a) for a in returned.findall(f"{{{CORE}}}svar")] == [
        infoset(a) for a in sent.findall(f"{{{CORE}}}svar")
    ]
    assert infoset(returned.find(f"{{{CORE}}}skapadAv")) == infoset(sent.find(f"{{{CORE}}}skapadAv"))


def infoset(el: etree._Element):
    """Names, attributes and text; prefixes are not part of the content."""
    return (el.tag, dict(el.attrib), (el.text or "").strip(), [infoset(c) for c in el])


# --------------------------------------------------------------------------
# GetCertificate 2
# --------------------------------------------------------------------------


def test_get_unknown_certificate_is_a_server_fault(client):
    cid = new_id()
    with pytest.raises(zeep.exceptions.Fault) as fault:
        get(client, cid)
    assert fault.value.message == f"Certificate with id {cid} is invalid or does not exist"
    assert fault.value.code.endswith("Server")


def test_status_list_is_newest_first_and_filtered_per_part(client):
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid))
    _, _ = client.call(
        "SetCertificateStatus",
        2,
        **{
            "intygs-id": ii(cid),
            "part": part("FKASSA"),
            "status": {"code": "SENTTO", "codeSystem": STATUS_SYSTEM},
            "tidpunkt": "2030-01-01T10:00:00",
        },
    )  # after the registration, whenever the test runs
    as_care = statuses(get(client, cid, "HSVARD"))
    as_citizen = statuses(get(client, cid, "INVANA"))
    assert as_care[0] == ("FKASSA", "SENTTO") and ("HSVARD", "RECEIV") in as_care
    assert as_citizen[0] == ("FKASSA", "SENTTO")


# --------------------------------------------------------------------------
# RevokeCertificate 2
# --------------------------------------------------------------------------


def test_revoke_then_revoke_again(client):
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid))
    assert revoke(client, cid).resultCode == "OK"
    again = revoke(client, cid)
    assert (again.resultCode, again.resultText) == ("INFO", f"Certificate {cid} is already revoked.")
    assert ("HSVARD", "CANCEL") in statuses(get(client, cid))


def test_revoke_unknown_or_for_another_patient(client):
    cid = new_id()
    unknown = revoke(client, cid)
    assert (unknown.resultCode, unknown.errorId, unknown.resultText) == (
        "ERROR",
        "APPLICATION_ERROR",
        f"Certificate {cid} does not exist for patient.",
    )
    register(client, CertificateSpec(certificate_id=cid))
    other = revoke(client, cid, samples.OTHER_PATIENT)
    assert (other.resultCode, other.errorId) == ("ERROR", "APPLICATION_ERROR")


# --------------------------------------------------------------------------
# SetCertificateStatus 2
# --------------------------------------------------------------------------


def set_status(client, cid: str, code: str, part_code: str = "INVANA", at: str = "2030-01-01T10:00:00"):
    result, _ = client.call(
        "SetCertificateStatus",
        2,
        **{
            "intygs-id": ii(cid),
            "part": part(part_code),
            "status": {"code": code, "codeSystem": STATUS_SYSTEM},
            "tidpunkt": at,
        },
    )
    return result.result


def test_set_status_archive_and_restore(client):
    cid = new_id()
    register(client, CertificateSpec(certificate_id=cid))
    assert set_status(client, cid, "DELETE").resultCode == "OK"
    assert set_status(client, cid, "RESTOR", at="2030-01-01T11:00:00").resultCode == "OK"
    assert statuses(get(client, cid, "INVANA"))[:2] == [("INVANA", "RESTOR"), ("INVANA", "DELETE")]


def test_set_status_unknown_part_and_unknown_certificate(client):
    cid = new_id()
    unknown = set_status(client, cid, "DELETE")
    assert (unknown.resultCode, unknown.errorId, unknown.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        f"Unknown certificate ID: {cid}",
    )
    register(client, CertificateSpec(certificate_id=cid))
    bad_part = set_status(client, cid, "DELETE", "NOSUCH")
    assert (bad_part.resultCode, bad_part.errorId, bad_part.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "No recipient found for recipient id: NOSUCH",
    )
    # Status codes outside the reference's enum get the message of its failed
    # enum lookup, word for word.
    bad_status = set_status(client, cid, "ARCHIV")
    assert (bad_status.resultCode, bad_status.errorId, bad_status.resultText) == (
        "ERROR",
        "VALIDATION_ERROR",
        "No enum constant se.inera.intyg.common.support.model.StatusKod.ARCHIV",
    )


# --------------------------------------------------------------------------
# List contracts
# --------------------------------------------------------------------------


def listed_ids(raw: etree._Element) -> list[str]:
    return [el.findtext(f"{{{TYPES}}}extension") for el in raw.iter(f"{{{CORE}}}intygs-id")]


def test_list_for_care_by_unit_includes_revoked(client):
    pnr = "194011306125"  # a person of this test alone
    unit = f"SE2321000016-{uuid.uuid4().hex[:6].upper()}"
    kept, revoked, elsewhere = new_id(), new_id(), new_id()
    register(client, CertificateSpec(certificate_id=kept, person_id=pnr, care_unit_id=unit))
    register(client, CertificateSpec(certificate_id=revoked, person_id=pnr, care_unit_id=unit))
    register(client, CertificateSpec(certificate_id=elsewhere, person_id=pnr))
    revoke(client, revoked, pnr)
    _, raw = client.call(
        "ListCertificatesForCare",
        3,
        **{"person-id": person(pnr), "enhets-id": [{"root": "1.2.752.129.2.1.4.1", "extension": unit}]},
    )
    # Once each, though the revoked one has two states (INTYGFV-13831: a join on the states repeated it).
    assert sorted(listed_ids(raw)) == sorted([kept, revoked])


@pytest.mark.parametrize("major", [3, 4])
def test_list_for_citizen_archived_filter(client, major):
    pnr = "195007152458" if major == 3 else "196203072480"
    active, archived = new_id(), new_id()
    register(client, CertificateSpec(certificate_id=active, person_id=pnr))
    register(client, CertificateSpec(certificate_id=archived, person_id=pnr))
    set_status(client, archived, "DELETE")
    request = {
        "person-id": person(pnr),
        "intygTyp": [{"code": "LISJP", "codeSystem": "b64ea353-e8f6-4832-b563-fc7d46f29548"}],
        "arkiverade": False,
        "part": part("INVANA"),
    }
    result, raw = client.call("ListCertificatesForCitizen", major, **request)
    assert listed_ids(raw) == [active]
    request["arkiverade"] = True
    _, raw = client.call("ListCertificatesForCitizen", major, **request)
    assert listed_ids(raw) == [archived]
    if major == 3:
        assert result.result.resultCode == "OK"
    # INTYG-2279/2721: the newest of DELETE and RESTOR decides, however many came before.
    set_status(client, archived, "RESTOR", at="2030-01-01T11:00:00")
    assert listed_ids(client.call("ListCertificatesForCitizen", major, **request)[1]) == []
    request["arkiverade"] = False
    assert sorted(listed_ids(client.call("ListCertificatesForCitizen", major, **request)[1])) == sorted(
        [active, archived]
    )
    set_status(client, archived, "DELETE", at="2030-01-01T12:00:00")
    assert listed_ids(client.call("ListCertificatesForCitizen", major, **request)[1]) == [active]


def test_relations_and_type_info(client):
    original, replacement = new_id(), new_id()
    register(client, CertificateSpec(certificate_id=original))
    register(client, CertificateSpec(certificate_id=replacement, relation=("ERSATT", original)))
    _, raw = client.call("ListRelationsForCertificate", 1, **{"intygs-id": [original]})
    ns = raw.tag.split("}")[0][1:]
    relation = raw.find(f".//{{{ns}}}relation")
    assert relation.findtext(f"{{{ns}}}fran-intygs-id/{{{TYPES}}}extension") == replacement
    assert relation.findtext(f"{{{ns}}}till-intygs-id/{{{TYPES}}}extension") == original
    assert relation.findtext(f"{{{ns}}}typ/{{{TYPES}}}code") == "ERSATT"
    info, _ = client.call("GetCertificateTypeInfo", 1, **{"intygs-id": replacement})
    # The reference answers with its internal type id, not the external code.
    assert (info.typ.code, info.typVersion) == ("lisjp", "1.3")


def relations_of(client, cid: str) -> list[tuple[str, str, str, str]]:
    """(typ, fran-intygs-id, till-intygs-id, fran-intyg-makulerat) of cid's graph.

    The answer is ordered by skapad, checked here; relations created within the same
    second (the stored resolution) may come in either order, so the tuples are sorted.
    """
    _, raw = client.call("ListRelationsForCertificate", 1, **{"intygs-id": [cid]})
    ns = raw.tag.split("}")[0][1:]
    relations = list(raw.iter(f"{{{ns}}}relation"))
    created = [rel.findtext(f"{{{ns}}}skapad") for rel in relations]
    assert created == sorted(created)
    return sorted(
        (
            rel.findtext(f"{{{ns}}}typ/{{{TYPES}}}code"),
            rel.findtext(f"{{{ns}}}fran-intygs-id/{{{TYPES}}}extension"),
            rel.findtext(f"{{{ns}}}till-intygs-id/{{{TYPES}}}extension"),
            rel.findtext(f"{{{ns}}}fran-intyg-makulerat"),
        )
        for rel in relations
    )


def test_relations_are_the_whole_graph_and_name_a_revoked_replacement(client):
    # INTYG-7048: a caller may replace the original again once its replacement is revoked,
    # and learns that from fran-intyg-makulerat.
    original, replacement, completion = new_id(), new_id(), new_id()
    register(client, CertificateSpec(certificate_id=original))
    register(client, CertificateSpec(certificate_id=replacement, relation=("ERSATT", original)))
    register(client, CertificateSpec(certificate_id=completion, relation=("KOMPLT", replacement)))
    graph = [("ERSATT", replacement, original, "false"), ("KOMPLT", completion, replacement, "false")]
    # Descendants from the oldest, ancestors from the newest: the same graph either way.
    assert relations_of(client, original) == graph
    assert relations_of(client, completion) == graph
    assert revoke(client, replacement).resultCode == "OK"
    assert relations_of(client, original) == [
        ("ERSATT", replacement, original, "true"),
        ("KOMPLT", completion, replacement, "false"),
    ]


@pytest.mark.parametrize(
    ("certificate_id", "text"),
    [
        (" ", "Request to GetCertificateType is missing required parameter 'intygs-id'"),
        (
            "no-such-certificate",
            "Failed to get certificate's type. Certificate with id no-such-certificate is invalid or does not exist",
        ),
    ],
)
def test_type_info_of_a_missing_or_unknown_id_is_a_server_fault(client, certificate_id, text):
    with pytest.raises(zeep.exceptions.Fault) as fault:
        client.call("GetCertificateTypeInfo", 1, **{"intygs-id": certificate_id})
    assert (fault.value.message, fault.value.code.endswith("Server")) == (text, True)


def test_register_element_is_stored_byte_for_byte(client, gateway):
    """The stored RegisterCertificate element is the very bytes the caller sent."""
    from sqlalchemy import create_engine, text

    cid = new_id()
    envelope = samples.register_certificate(CertificateSpec(certificate_id=cid))
    # Odd but legal formatting a re-serialiser would normalise away.
    envelope = envelope.replace(b"<c:version>", b"<c:version   >").replace(b"</c:postort>", b"</c:postort\n>")
    # Straight over HTTP: zeep would re-serialise the envelope before sending.
    import requests

    response = requests.post(
        gateway.base_url + "/clinicalprocess/healthcond/certificate/RegisterCertificate/3/rivtabp21",
        data=envelope,
        headers={"Content-Type": "text/xml; charset=UTF-8"},
        timeout=30,
    )
    assert b"<core:resultCode>OK</core:resultCode>" in response.content, response.text[:500]
    start = envelope.index(b"<r:RegisterCertificate")
    end = envelope.index(b"</r:RegisterCertificate>") + len(b"</r:RegisterCertificate>")
    url = gateway.db or f"sqlite:///{gateway.workdir / 'intygsgw.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT document FROM certificate_document WHERE certificate_id = :id"), {"id": cid}
            ).scalar_one()
    finally:
        engine.dispose()
    assert bytes(stored) == envelope[start:end]


def test_foreign_extension_content_is_accepted_and_kept(client):
    cid = new_id()
    envelope = samples.register_certificate(CertificateSpec(certificate_id=cid)).replace(
        b"</c:vardgivare></c:enhet>",
        b'</c:vardgivare><x:regionalTag xmlns:x="urn:example:region">Norr</x:regionalTag></c:enhet>',
        1,
    )
    assert b"urn:example:region" in envelope
    result, _ = client.call_raw("RegisterCertificate", 3, envelope)
    assert result.result.resultCode == "OK"
    assert get(client, cid).find(".//{urn:example:region}regionalTag").text == "Norr"
