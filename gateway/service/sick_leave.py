"""Sick leaves as the sick-leave lists show them, from the data written at registration.

A care unit's list covers the unit and its sub-units (intygsgw.config.care_units)
on the care giver the unit's certificates name. Validation persons never appear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from intygsgw import audit
from intygsgw.domain.personnummer import PersonId, try_parse_person_id
from intygsgw.domain.records import CertificateRecord
from intygsgw.domain.sick_leave import (
    CaseFilter,
    Parameters,
    SickLeaveCertificate,
    UnitCase,
    filter_cases,
    unit_cases,
)
from intygsgw.service.services import Services

if TYPE_CHECKING:
    from intygsgw.rules.definitions import TypeSet
    from intygsgw.rules.engine import Answers
    from intygsgw.service.ports import SickLeaveRepository


def sick_leave_of(
    svc: Services, types: TypeSet, record: CertificateRecord, intyg, index: Answers | None = None
) -> SickLeaveCertificate | None:
    """The certificate as the sick-leave lists will read it; None when they leave it out.

    Written in the transaction that stores the certificate (or handles its
    certificate-service signed event). A validation person's certificates and
    test certificates never appear in the lists.
    """
    if record.person_id in svc.validation_persons or record.test_certificate or record.signed_at is None:
        return None
    answers = types.sick_leave_answers(record.type, intyg, index)
    if answers is None:
        return None
    return SickLeaveCertificate(
        certificate_id=record.id,
        patient_id=record.person_id,
        patient_name=answers.patient_name,
        care_giver_id=record.care_giver_id,
        care_unit_id=record.care_unit_id,
        care_unit_name=record.care_unit_name,
        doctor_id=record.doctor_id,
        doctor_name=record.doctor_name,
        signed_at=record.signed_at,
        diagnosis=answers.diagnosis,
        periods=answers.periods,
        secondary_diagnoses=answers.secondary_diagnoses,
        employment=answers.employment,
    )


def care_units(svc: Services, unit_id: str) -> list[str]:
    """The unit and its sub-units, the unit first."""
    subs = svc.sub_units.current().get(unit_id, ()) if svc.sub_units is not None else ()
    return [unit_id, *(s for s in subs if s != unit_id)]


def _care_giver_of(rows: SickLeaveRepository, svc: Services, unit_id: str) -> str | None:
    """The care giver of the unit: the one its latest certificate names, else the one the latest
    certificate of its first sub-unit (in the file's order) with certificates names.

    The reference asks HSA, which knows a unit's care giver whether or not anyone signs at the
    unit itself; a care unit whose doctors all sign at its mottagningar must still list them.
    """
    for unit in care_units(svc, unit_id):
        care_giver = rows.care_giver_of_unit(unit)
        if care_giver is not None:
            return care_giver
    return None


def listed_item_of(svc: Services, cert: SickLeaveCertificate | None) -> str | None:
    """The certificate as the lists show it, to store with its row; None when there is none to store."""
    if cert is None or svc.render_sick_leave_item is None:
        return None
    return svc.render_sick_leave_item(cert)


def unit_items(
    svc: Services, unit_id: str, person: PersonId | None = None, max_days_since_end: int = 0
) -> tuple[str | None, list[bytes]]:
    """The care giver of the unit, and every certificate of the patients on sick leave there as
    list items (UTF-8), each patient's joined into one run, in list order.

    On sick leave: a period covers today or ended at most ``max_days_since_end``
    days ago. Raw certificates, not merged into cases (ListActiveSickLeavesForCareUnit).
    The items stored with the rows are used as they are; a patient with a certificate
    stored without one has all of theirs rendered by the same ``render_sick_leave_item``
    that renders them for storing. An unknown unit has no care giver and no certificates.
    """
    today = svc.clock().date()
    since = today - dt.timedelta(days=max(0, max_days_since_end))
    with svc.store.reading() as uow:
        care_giver = _care_giver_of(uow.sick_leave, svc, unit_id)
        if care_giver is None:
            return None, []
        listing = uow.sick_leave.unit_listing(care_giver, care_units(svc, unit_id), today, since)
        excluded, only = svc.validation_persons, person.digits if person is not None else None
        if excluded or only is not None:
            listing = [r for r in listing if r[0] not in excluded and (only is None or r[0] == only)]
        missing = [cid for _, ids, items in listing if items is None for cid in ids]
        rendered: dict[str, str] = {}
        if missing:
            render = svc.render_sick_leave_item
            assert render is not None, "sick-leave rows without a list item, and no renderer to make one"
            rendered = {c.certificate_id: render(c) for c in uow.sick_leave.certificates(missing)}
    for patient_id, ids, _ in listing:
        audit.note(patient_id, ids)
    return care_giver, [
        items if items is not None else "".join(rendered[cid] for cid in ids).encode() for _, ids, items in listing
    ]


def person_certificates(svc: Services, person: PersonId) -> list[SickLeaveCertificate]:
    """Every sick-leave certificate of the person on every care giver (ListSickLeavesForPerson)."""
    if person.digits in svc.validation_persons:
        audit.note(person.digits)
        return []
    with svc.store.reading() as uow:
        certificates = uow.sick_leave.for_patient(person.digits)
    audit.note(person.digits, [c.certificate_id for c in certificates])
    return certificates


def care_unit_cases(svc: Services, unit_id: str, max_gap: int, case_filter: CaseFilter | None = None) -> list[UnitCase]:
    """The unit's active sick-leave cases with the request's filter applied (ListSickLeavesForCare)."""
    if max_gap < 0:
        return []
    today, _, certificates = _on_sick_leave(svc, unit_id, None, 0)
    return filter_cases(_noted_cases(certificates, Parameters(today, max_gap)), case_filter or CaseFilter())


def unit_sick_leaves(
    svc: Services, care_giver_id: str, unit_ids: list[str], max_gap: int, max_days_since_end: int = 0
) -> list[UnitCase]:
    """The sick leaves of a care giver's units that are active today or ended at most ``max_days_since_end`` ago.

    A negative gap gives nothing, as in the reference. Validation persons never appear.
    """
    if max_gap < 0:
        return []
    today = svc.clock().date()
    since = today - dt.timedelta(days=max(0, max_days_since_end))
    with svc.store.reading() as uow:
        certificates = uow.sick_leave.for_units(care_giver_id, unit_ids, today, since)
    certificates = [c for c in certificates if c.patient_id not in svc.validation_persons]
    return _noted_cases(certificates, Parameters(today, max_gap, max_days_since_end))


def _noted_cases(certificates: list[SickLeaveCertificate], params: Parameters) -> list[UnitCase]:
    """The engine's cases, each patient and their certificates noted for the access log."""
    cases = unit_cases(certificates, params)
    for case in cases:
        audit.note(case.patient_id, [c.certificate_id for c in case.certificates])
    return cases


def rehab_sick_leaves(
    svc: Services,
    care_unit_id: str,
    unit_id: str | None,
    max_gap: int,
    max_days_since_end: int,
    doctor_ids: Sequence[str] = (),
) -> list[UnitCase]:
    """Rehabstöd's active list (internal REST ``/sickleave/active``): the engine in two passes (§5.3).

    The first pass, with no gap, finds the patients whose sick leave is active
    today or ended at most ``max_days_since_end`` days ago on ``unit_id`` (the
    care unit and its sub-units when None), counting only the doctors'
    certificates when doctors are given; the second links all of those
    patients' certificates on the care unit and its sub-units with the
    requested gap, as the reference's second query reads every unit of the
    care unit whichever one was asked for. Patients whose personnummer fails
    its control digit are left out, as the reference's register check does.
    """
    if max_gap < 0:
        return []
    today, certificates = _rehab_certificates(svc, care_unit_id, [unit_id] if unit_id else None, max_days_since_end)
    patients = {c.patient_id for c in _first_pass(certificates, today, max_days_since_end, doctor_ids)}
    if unit_id and patients:
        # The request names unit_id as one of the care unit's, whether or not the operator's file does.
        whole = care_units(svc, care_unit_id)
        _, certificates = _rehab_certificates(
            svc, care_unit_id, whole if unit_id in whole else [*whole, unit_id], max_days_since_end
        )
    cases = unit_cases(
        [c for c in certificates if c.patient_id in patients], Parameters(today, max_gap, max_days_since_end)
    )
    for case in cases:
        audit.note(case.patient_id, [c.certificate_id for c in case.certificates])
    return cases


def active_cases(
    svc: Services, care_unit_id: str, unit_id: str | None, max_days_since_end: int, doctor_id: str | None = None
) -> list[UnitCase]:
    """The first pass alone (what Rehabstöd's filters are made from): cases with no gap, of the doctor's
    certificates if a doctor is given."""
    today, certificates = _rehab_certificates(svc, care_unit_id, [unit_id] if unit_id else None, max_days_since_end)
    cases = _first_pass(certificates, today, max_days_since_end, (doctor_id,) if doctor_id is not None else ())
    for case in cases:
        audit.note(case.patient_id, [c.certificate_id for c in case.certificates])
    return cases


def _first_pass(
    certificates: list[SickLeaveCertificate], today: dt.date, max_days_since_end: int, doctor_ids: Sequence[str]
) -> list[UnitCase]:
    """Cases with no gap of the certificates active today or recently ended; only the doctors' count
    when doctors are given.

    The reference selects the doctors' certificates before its engine picks each patient's active
    one, so a patient is the doctor's while one of the doctor's certificates is active, even when
    another doctor's later one is the case's.
    """
    if doctor_ids:
        certificates = [c for c in certificates if c.doctor_id in doctor_ids]
    return unit_cases(certificates, Parameters(today, 0, max_days_since_end))


def _rehab_certificates(
    svc: Services, care_unit_id: str, units: list[str] | None, max_days_since_end: int
) -> tuple[dt.date, list[SickLeaveCertificate]]:
    """The certificates on ``units`` (default: the care unit and its sub-units) of the patients on sick
    leave there; none for an unknown care unit."""
    today, _, certificates = _on_sick_leave(svc, care_unit_id, units, max_days_since_end)
    return today, [c for c in certificates if _checked(c.patient_id)]


def _on_sick_leave(
    svc: Services, care_unit_id: str, units: list[str] | None, max_days_since_end: int
) -> tuple[dt.date, str | None, list[SickLeaveCertificate]]:
    """(today, the unit's care giver, every certificate of the patients on sick leave on ``units``).

    ``units`` defaults to the care unit and its sub-units. On sick leave: a period covers today or
    ended at most ``max_days_since_end`` days ago. An unknown unit has no care giver and nothing;
    validation persons never appear.
    """
    today = svc.clock().date()
    since = today - dt.timedelta(days=max(0, max_days_since_end))
    with svc.store.reading() as uow:
        care_giver = _care_giver_of(uow.sick_leave, svc, care_unit_id)
        if care_giver is None:
            return today, None, []
        certificates = uow.sick_leave.for_units(care_giver, units or care_units(svc, care_unit_id), today, since)
    return today, care_giver, [c for c in certificates if c.patient_id not in svc.validation_persons]


def _checked(patient_id: str) -> bool:
    person = try_parse_person_id(patient_id)
    return person is not None and person.has_valid_control_digit()
