"""The certificate lifecycle through the service layer alone, on the in-memory store.

The same rules are proven over HTTP against SQLite and PostgreSQL in
tests/integration; here each rule is one call on a fake, so the whole file
runs in a fraction of a second and a failing rule points at one function.
"""

from __future__ import annotations

import datetime as dt

import pytest

from intygsgw.domain.outcome import Outcome
from intygsgw.domain.results import OK, ErrorId, ServiceError
from intygsgw.domain.states import HSVARD, INVANA, State
from intygsgw.interactions import REGISTER_CERTIFICATE_3, REVOKE_CERTIFICATE_2
from intygsgw.service import certificates as lifecycle
from intygsgw.service.services import Services

PATIENT = "191212121212"
OTHER_PATIENT = "195206172339"
DOCUMENT = b"<RegisterCertificate>the element as received</RegisterCertificate>"


def register(
    svc: Services,
    cid: str = "cert-1",
    person: str = PATIENT,
    type_code: str = "LISJP",
    version: str = "1.3",
    relation: tuple[str, str] | None = None,
):
    return lifecycle.register_certificate(
        svc,
        lifecycle.RegisterCertificate(
            certificate_id=cid,
            type_code=type_code,
            version=version,
            person_id=person,
            signed_at=dt.datetime(2026, 11, 30, 14, 0),
            care_unit_id="SE-UNIT-1",
            care_unit_name="Vårdenheten",
            care_giver_id="SE-GIVER-1",
            doctor_id="SE-DOC-1",
            doctor_name="Doktor Ek",
            relation=relation,
            document=DOCUMENT,
            namespaces={},
        ),
    )


def states(svc: Services, cid: str, part: str = INVANA) -> list[tuple[State, str]]:
    return [(e.state, e.target) for e in lifecycle.get_certificate(svc, cid, part).statuses]


# -- register -----------------------------------------------------------------------


def test_register_stores_the_document_as_received_with_state_received(svc):
    assert register(svc) == OK
    view = lifecycle.get_certificate(svc, "cert-1", HSVARD)
    assert view.document.document == DOCUMENT
    assert view.record.type == "lisjp" and view.record.person_id == PATIENT
    assert [(e.state, e.target) for e in view.statuses] == [(State.RECEIVED, HSVARD)]


def test_register_again_for_the_same_patient_is_info_certificate_already_exists(svc):
    register(svc)
    again = register(svc)
    assert (again.code, again.text) == ("INFO", "Certificate already exists")


def test_register_the_same_id_for_another_patient_is_a_validation_error(svc):
    register(svc)
    clash = register(svc, person=OTHER_PATIENT)
    assert (clash.code, clash.error_id, clash.text) == ("ERROR", ErrorId.VALIDATION_ERROR, "Certificate already exists")
    assert lifecycle.get_certificate(svc, "cert-1", HSVARD).record.person_id == PATIENT


def test_register_an_unsupported_version_names_type_and_version(svc):
    refused = register(svc, version="99.0")
    assert refused.error_id is ErrorId.VALIDATION_ERROR
    assert refused.text == "Certificate with type: LISJP does not support version: 99.0"


def test_register_a_malformed_person_id_is_refused_before_anything_is_stored(svc):
    refused = register(svc, person="19121212-XXXX")
    assert refused.text == "Social security number is not of correct format."
    with pytest.raises(ServiceError):
        lifecycle.get_certificate(svc, "cert-1", HSVARD)


def test_register_an_unknown_relation_code_is_an_application_error(svc):
    refused = register(svc, "cert-2", relation=("BYTER", "cert-1"))
    assert (refused.error_id, refused.text) == (ErrorId.APPLICATION_ERROR, "Unknown relation code: BYTER")


# -- send -----------------------------------------------------------------------------


def test_send_delivers_the_stored_bytes_once_and_records_sent(svc, outbound):
    register(svc)
    assert lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA") == OK
    assert [(s.contract_ns, s.logical_address, s.payload) for s in outbound.sent] == [
        (REGISTER_CERTIFICATE_3.namespace, "FKORG", DOCUMENT)
    ]
    assert states(svc, "cert-1")[0] == (State.SENT, "FKASSA")

    again = lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA")
    assert (again.code, again.text) == ("INFO", "Certificate 'cert-1' already sent to 'FKASSA'.")
    assert len(outbound.sent) == 1


def test_send_for_the_wrong_patient_is_unknown_certificate(svc, outbound):
    register(svc)
    refused = lifecycle.send_certificate(svc, "cert-1", OTHER_PATIENT, "FKASSA")
    assert (refused.error_id, refused.text) == (ErrorId.APPLICATION_ERROR, "Unknown certificate ID: cert-1")
    assert outbound.sent == []


@pytest.mark.parametrize("target", ["TRANSP", "RETIRED", "NOBODY", "HSVARD"])
def test_send_to_a_recipient_that_cannot_take_it_is_a_technical_error_and_sends_nothing(svc, outbound, target):
    register(svc)
    refused = lifecycle.send_certificate(svc, "cert-1", PATIENT, target)
    assert (refused.error_id, refused.text) == (
        ErrorId.TECHNICAL_ERROR,
        "Certificate 'cert-1' couldn't be sent to recipient",
    )
    assert outbound.sent == []


def test_a_send_the_receiver_refuses_leaves_the_certificate_unsent(svc, outbound):
    register(svc)
    outbound.answer = Outcome("result", result_code="ERROR", error_id="TECHNICAL_ERROR", text="down")
    assert lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA").error_id is ErrorId.TECHNICAL_ERROR
    assert states(svc, "cert-1") == [(State.RECEIVED, HSVARD)]


def test_a_validation_persons_certificate_never_leaves(svc, outbound):
    register(svc, person="194011306125")
    refused = lifecycle.send_certificate(svc, "cert-1", "194011306125", "FKASSA")
    assert refused.error_id is ErrorId.VALIDATION_ERROR
    assert "validation person" in refused.text
    assert outbound.sent == []


# -- revoke ---------------------------------------------------------------------------


def test_revoke_queues_the_revocation_to_each_recipient_it_was_sent_to(svc):
    register(svc)
    lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA")
    assert lifecycle.revoke_certificate(svc, "cert-1", PATIENT, forward=b"<Revoke/>") == OK
    assert states(svc, "cert-1")[0] == (State.CANCELLED, HSVARD)
    queued = svc.store.tables.outbox
    assert [(q["contract"], q["logical_address"], q["payload"]) for q in queued] == [
        (REVOKE_CERTIFICATE_2.namespace, "FKORG", b"<Revoke/>")
    ]


def test_revoke_twice_is_info_and_queues_nothing_more(svc):
    register(svc)
    lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA")
    lifecycle.revoke_certificate(svc, "cert-1", PATIENT, forward=b"<Revoke/>")
    again = lifecycle.revoke_certificate(svc, "cert-1", PATIENT, forward=b"<Revoke/>")
    assert (again.code, again.text) == ("INFO", "Certificate cert-1 is already revoked.")
    assert len(svc.store.tables.outbox) == 1


def test_revoke_an_unknown_certificate_asks_the_sender_to_try_again(svc):
    refused = lifecycle.revoke_certificate(svc, "missing", PATIENT)
    # APPLICATION_ERROR: a revocation can overtake its registration.
    assert (refused.error_id, refused.text) == (
        ErrorId.APPLICATION_ERROR,
        "Certificate missing does not exist for patient.",
    )


def test_a_revoked_certificate_is_not_sent(svc, outbound):
    register(svc)
    lifecycle.revoke_certificate(svc, "cert-1", PATIENT)
    refused = lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA")
    assert (refused.code, refused.text) == ("INFO", "Certificate 'cert-1' has been revoked.")
    assert outbound.sent == []


# -- archive and visibility per part ----------------------------------------------------


def citizen_list(svc: Services, archived: bool, part: str = INVANA) -> list[str]:
    listed = lifecycle.list_for_citizen(svc, PATIENT, [], archived, part, None, None)
    assert listed.result == OK
    return [v.record.id for v in listed.certificates]


def test_archive_and_restore_move_the_certificate_between_the_citizens_lists(svc):
    register(svc)
    assert citizen_list(svc, archived=False) == ["cert-1"]
    when = dt.datetime(2026, 12, 2, 10, 0)
    assert lifecycle.set_certificate_status(svc, "cert-1", INVANA, "DELETE", when) == OK
    assert (citizen_list(svc, archived=False), citizen_list(svc, archived=True)) == ([], ["cert-1"])
    assert lifecycle.set_certificate_status(svc, "cert-1", INVANA, "RESTOR", when + dt.timedelta(hours=1)) == OK
    assert (citizen_list(svc, archived=False), citizen_list(svc, archived=True)) == (["cert-1"], [])


def test_each_part_sees_its_own_statuses(svc):
    register(svc)
    lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA")
    lifecycle.set_certificate_status(svc, "cert-1", "TRANSP", "SENTTO", dt.datetime(2026, 12, 3, 8, 0))
    lifecycle.set_certificate_status(svc, "cert-1", INVANA, "DELETE", dt.datetime(2026, 12, 4, 8, 0))
    everything = states(svc, "cert-1", INVANA)
    assert everything == [
        (State.DELETED, INVANA),
        (State.SENT, "TRANSP"),
        (State.SENT, "FKASSA"),
        (State.RECEIVED, HSVARD),
    ]
    # Care: all but the citizen's archiving.
    assert states(svc, "cert-1", HSVARD) == everything[1:]
    # A recipient: no archiving, and only its own SENT.
    assert states(svc, "cert-1", "FKASSA") == [(State.SENT, "FKASSA"), (State.RECEIVED, HSVARD)]
    assert states(svc, "cert-1", "TRANSP") == [(State.SENT, "TRANSP"), (State.RECEIVED, HSVARD)]


def test_an_unknown_status_code_is_refused_with_the_references_text(svc):
    register(svc)
    refused = lifecycle.set_certificate_status(svc, "cert-1", INVANA, "LOST", dt.datetime(2026, 12, 2))
    assert refused.error_id is ErrorId.VALIDATION_ERROR
    assert refused.text == "No enum constant se.inera.intyg.common.support.model.StatusKod.LOST"


def test_death_certificates_are_not_listed_for_the_citizen(svc):
    register(svc, "db-1", type_code="DB", version="1.0")
    register(svc, "cert-1")
    assert citizen_list(svc, archived=False) == ["cert-1"]


# -- relations ------------------------------------------------------------------------


def test_relations_are_listed_both_ways_with_the_newer_ones_revocation(svc):
    register(svc, "old")
    register(svc, "new", relation=("ERSATT", "old"))
    lifecycle.revoke_certificate(svc, "new", PATIENT)
    for asked in ("old", "new"):
        [relation] = lifecycle.list_relations(svc, [asked])[asked]
        assert (relation.code, relation.from_id, relation.to_id, relation.from_revoked) == (
            "ERSATT",
            "new",
            "old",
            True,
        )


def test_the_ts_bas_text_versions_journal_systems_send_are_accepted(svc):
    for n, version in enumerate(("6.7", "6.8", "7.0")):
        assert register(svc, f"ts-{n}", type_code="TSTRK1007", version=version) == OK


def test_an_unknown_version_tells_the_operator_which_file_to_change(svc, caplog):
    refused = register(svc, type_code="TSTRK1007", version="6.9")
    assert refused.text == "Certificate with type: TSTRK1007 does not support version: 6.9"
    assert "add it to 'versions' in" in caplog.text and "ts-bas.toml" in caplog.text
    register(svc, type_code="TSTRK9999", version="1.0")
    assert "'TSTRK9999' is not in the catalogue: add a definition for it to" in caplog.text


# -- one delivery per certificate and recipient -----------------------------------------


def hold_send(svc: Services, cid: str, recipient_id: str, until: dt.datetime) -> None:
    with svc.store.writing() as uow:
        assert uow.certificates.claim_send(cid, recipient_id, "another-gateway", dt.datetime.min, until)
        uow.commit()


def test_a_send_in_flight_elsewhere_is_not_sent_again(svc, outbound, monkeypatch):
    monkeypatch.setattr(lifecycle, "WAIT_FOR_OTHER_SEND", 0.2)
    register(svc)
    hold_send(svc, "cert-1", "FKASSA", until=dt.datetime(2999, 1, 1))
    answer = lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA")
    assert answer.error_id is ErrorId.TECHNICAL_ERROR  # try again: the other send decides
    assert outbound.sent == []


def test_the_claim_of_a_sender_that_died_is_taken_over(svc, outbound):
    register(svc)
    hold_send(svc, "cert-1", "FKASSA", until=dt.datetime(2000, 1, 1))
    assert lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA") == OK
    assert len(outbound.sent) == 1
    assert svc.store.tables.send_claims == {}  # settled with the SENT state


def test_a_failed_send_leaves_no_claim_behind(svc, outbound):
    register(svc)
    outbound.answer = Outcome("connect", text="refused")
    assert lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA").error_id is ErrorId.TECHNICAL_ERROR
    assert svc.store.tables.send_claims == {}
    outbound.answer = Outcome("result", result_code="OK")
    assert lifecycle.send_certificate(svc, "cert-1", PATIENT, "FKASSA") == OK
