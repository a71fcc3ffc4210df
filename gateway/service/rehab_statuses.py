"""Rehabstöd's rehabilitation statuses (REKO): set by a coordinator, shown in the sick-leave lists.

A status is about a patient's sick leave on a care unit: Rehabstöd sends a
moment within the sick leave, and every list reading a case of that patient on
that care unit shows the status registered last whose moment lies within the
case (intygsgw.domain.rehab.status_of_case). Statuses are only added; setting
another one adds it. They are patient data: each set and each read is noted
for the access log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from intygsgw import audit
from intygsgw.domain import rehab
from intygsgw.domain.personnummer import PersonId
from intygsgw.domain.records import RehabStatusRecord
from intygsgw.domain.sick_leave import UnitCase
from intygsgw.service.services import Services


@dataclass(frozen=True)
class NewStatus:
    """A status as Rehabstöd sets it."""

    status: str
    person: PersonId
    care_provider_id: str
    care_unit_id: str
    unit_id: str | None
    staff_id: str
    staff_name: str
    sick_leave_timestamp: dt.datetime


def set_status(svc: Services, new: NewStatus) -> RehabStatusRecord:
    """Store the status, registered now, with its access-log entry in the same transaction."""
    record = RehabStatusRecord(
        status=new.status,
        patient_id=new.person.digits,
        care_provider_id=new.care_provider_id,
        care_unit_id=new.care_unit_id,
        unit_id=new.unit_id,
        staff_id=new.staff_id,
        staff_name=new.staff_name,
        sick_leave_timestamp=new.sick_leave_timestamp,
        registered_at=svc.clock(),
    )
    audit.note(record.patient_id)
    access = audit.current()
    with svc.store.writing() as uow:
        uow.rehab_statuses.add(record)
        audit.in_transaction(access, uow)
        uow.commit()
    if access is not None:
        access.written = True
    return record


def status_of_sick_leave(
    svc: Services, person: PersonId, care_unit_id: str, start: dt.date, end: dt.date
) -> RehabStatusRecord | None:
    """The status a sick leave of the person on the care unit from ``start`` to ``end`` shows."""
    audit.note(person.digits)
    with svc.store.reading() as uow:
        statuses = uow.rehab_statuses.for_patients(care_unit_id, [person.digits])
    return rehab.status_of_case(statuses, person.digits, start, end)


CaseKey = tuple[str, dt.date, dt.date]


def statuses_of_cases(svc: Services, care_unit_id: str, cases: Sequence[UnitCase]) -> dict[CaseKey, RehabStatusRecord]:
    """Each case's status on the care unit the list was asked for, by :func:`case_key`; cases without
    one are left out. The patients are noted already by the listing that found the cases."""
    if not cases:
        return {}
    with svc.store.reading() as uow:
        statuses = uow.rehab_statuses.for_patients(care_unit_id, [c.patient_id for c in cases])
    by_patient: dict[str, list[RehabStatusRecord]] = {}
    for status in statuses:
        by_patient.setdefault(status.patient_id, []).append(status)
    found = {}
    for case in cases:
        chosen = rehab.status_of_case(by_patient.get(case.patient_id, ()), case.patient_id, case.start, case.end)
        if chosen is not None:
            found[case_key(case)] = chosen
    return found


def case_key(case: UnitCase) -> CaseKey:
    return (case.patient_id, case.start, case.end)
