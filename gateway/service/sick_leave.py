"""Sick leaves as the sick-leave lists show them, from the data written at registration."""

from __future__ import annotations

import datetime as dt

from intygsgw import audit
from intygsgw.domain.sick_leave import Parameters, UnitCase, unit_cases
from intygsgw.service.services import Services


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
    cases = unit_cases(certificates, Parameters(today, max_gap, max_days_since_end))
    for case in cases:
        audit.note(case.patient_id, [c.certificate_id for c in case.certificates])
    return cases
