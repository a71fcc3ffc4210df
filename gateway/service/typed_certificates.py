"""Certificates of given types for units or a person, as Rehabstöd reads them (internal REST
``/typedcertificate``): its lists of läkarutlåtanden, the doctors who signed them, and a patient's
certificates to the employer.

A window is whole days: from the start of ``signed_from`` up to the end of ``signed_to``; either may be
left open. Revoked certificates are left out; test certificates are not (they are flagged). Lists are
oldest signed first. Diagnoses, work capacity and occupations are read from the stored certificate
where its type's catalogue entry says they are (``diagnosis_data``, ``work_capacity_data``); a type
that names none is left out of the lists that show them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from intygsgw import audit
from intygsgw.domain import states as st
from intygsgw.domain.personnummer import PersonId
from intygsgw.domain.records import CertificateRecord, StoredDocument
from intygsgw.domain.sick_leave import WorkCapacity
from intygsgw.service.services import Services

# The läkarutlåtanden a person's diagnosed list converts, as the reference's TypedCertificateService does.
PERSON_DIAGNOSED_TYPES = frozenset({"luse", "luae_na", "luae_fs"})
# The certificates to the employer a person's sick-leave list converts, as the reference's.
PERSON_SICK_LEAVE_TYPES = frozenset({"ag7804", "ag114"})


@dataclass(frozen=True)
class Diagnosed:
    """A certificate and its diagnosis codes, the main one first."""

    record: CertificateRecord
    diagnoses: tuple[str, ...]


@dataclass(frozen=True)
class SickLeaveOfPerson:
    """A certificate to the employer: its diagnoses, the patient's name, work capacity and occupations."""

    record: CertificateRecord
    diagnoses: tuple[str, ...]
    patient_name: str
    periods: tuple[WorkCapacity, ...]
    occupations: tuple[str, ...]


def _window(signed_from: dt.date | None, signed_to: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    start = dt.datetime.combine(signed_from, dt.time()) if signed_from is not None else None
    before = dt.datetime.combine(signed_to + dt.timedelta(days=1), dt.time()) if signed_to is not None else None
    return start, before


def _stored(
    svc: Services,
    unit_ids: Sequence[str],
    person: PersonId | None,
    type_ids: Sequence[str],
    signed_from: dt.date | None,
    signed_to: dt.date | None,
    wanted: Callable[[CertificateRecord], bool],
) -> list[tuple[CertificateRecord, StoredDocument]]:
    """The unrevoked certificates of these types (any case) in the window, on these units (any when
    none) and of the person when given, that ``wanted`` keeps, each with its stored document."""
    start, before = _window(signed_from, signed_to)
    with svc.store.reading() as uow:
        digits = person.digits if person else None
        records = [
            r
            for r in uow.certificates.find_typed(unit_ids, digits, [t.lower() for t in type_ids], start, before)
            if wanted(r)
        ]
        histories = uow.certificates.states_for([r.id for r in records])
        records = [r for r in records if not st.is_revoked(histories[r.id])]
        documents = uow.certificates.stored_documents([r.id for r in records])
    return [(r, documents[r.id]) for r in records if r.id in documents]


def signing_doctors(
    svc: Services,
    unit_ids: Sequence[str],
    type_ids: Sequence[str],
    signed_from: dt.date | None = None,
    signed_to: dt.date | None = None,
) -> list[str]:
    """The HSA ids of the doctors who signed unrevoked certificates of these types on these units
    in the window, each once, in the order of their first such certificate; none without units.

    Types are matched as given (the stored ids are lower case), as the reference's query does.
    """
    if not unit_ids:
        return []
    start, before = _window(signed_from, signed_to)
    with svc.store.reading() as uow:
        records = uow.certificates.find_typed(unit_ids, None, type_ids, start, before)
        histories = uow.certificates.states_for([r.id for r in records])
    doctors: dict[str, None] = {}
    for r in records:
        if not st.is_revoked(histories[r.id]):
            doctors.setdefault(r.doctor_id, None)
    return list(doctors)


def diagnosed_for_units(
    svc: Services,
    unit_ids: Sequence[str],
    type_ids: Sequence[str],
    signed_from: dt.date | None = None,
    signed_to: dt.date | None = None,
    doctor_ids: Sequence[str] = (),
) -> list[Diagnosed]:
    """Unrevoked certificates of these types (any case) on these units in the window, signed by one of
    the doctors when given, with their diagnoses; none without units."""
    if not unit_ids:
        return []
    return _diagnosed(svc, unit_ids, None, type_ids, signed_from, signed_to, doctor_ids, None)


def diagnosed_for_person(
    svc: Services,
    person: PersonId,
    type_ids: Sequence[str],
    signed_from: dt.date | None = None,
    signed_to: dt.date | None = None,
    unit_ids: Sequence[str] = (),
) -> list[Diagnosed]:
    """The person's unrevoked läkarutlåtanden (luse, luae_na, luae_fs) of these types (any case) on
    these units (any when none) in the window, with their diagnoses."""
    found = _diagnosed(svc, unit_ids, person, type_ids, signed_from, signed_to, (), PERSON_DIAGNOSED_TYPES)
    audit.note(person.digits, [d.record.id for d in found])
    return found


def _diagnosed(
    svc: Services,
    unit_ids: Sequence[str],
    person: PersonId | None,
    type_ids: Sequence[str],
    signed_from: dt.date | None,
    signed_to: dt.date | None,
    doctor_ids: Sequence[str],
    only_types: frozenset[str] | None,
) -> list[Diagnosed]:
    types = svc.types.current()

    def wanted(r: CertificateRecord) -> bool:
        ctype = types.catalog.by_id(r.type)
        return (
            (only_types is None or r.type in only_types)
            and (not doctor_ids or r.doctor_id in doctor_ids)
            and ctype is not None
            and ctype.diagnosis_fields is not None
        )

    found = []
    for r, document in _stored(svc, unit_ids, person, type_ids, signed_from, signed_to, wanted):
        diagnoses = types.diagnoses(r.type, document)
        if diagnoses is not None:
            found.append(Diagnosed(r, diagnoses))
    for d in found:
        audit.note(d.record.person_id, [d.record.id])
    return found


def sick_leave_for_person(
    svc: Services,
    person: PersonId,
    type_ids: Sequence[str],
    signed_from: dt.date | None = None,
    signed_to: dt.date | None = None,
    unit_ids: Sequence[str] = (),
    doctor_ids: Sequence[str] = (),
) -> list[SickLeaveOfPerson]:
    """The person's unrevoked certificates to the employer (ag7804, ag114) of these types (any case) on
    these units (any when none) in the window, signed by one of the doctors when given."""
    types = svc.types.current()

    def wanted(r: CertificateRecord) -> bool:
        return r.type in PERSON_SICK_LEAVE_TYPES and (not doctor_ids or r.doctor_id in doctor_ids)

    found = []
    for r, document in _stored(svc, unit_ids, person, type_ids, signed_from, signed_to, wanted):
        work = types.work_capacity(r.type, document)
        if work is not None:
            diagnoses = types.diagnoses(r.type, document)
            found.append(SickLeaveOfPerson(r, diagnoses or (), work.patient_name, work.periods, work.occupations))
    audit.note(person.digits, [f.record.id for f in found])
    return found
