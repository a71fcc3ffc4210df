"""Reading what the lists show of a certificate from its intyg: a sick-leave certificate's diagnoses,
employment and work-capacity periods, and any type's summary for Mina intyg.

Which delsvar hold them is data (the type's ``[sick_leave_data]``, ``[summary]``, ...), so a new
type is a catalogue entry, not code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from intygsgw import ns
from intygsgw.domain.sick_leave import WorkCapacity
from intygsgw.rules.catalog import DiagnosisFields, SickLeaveFields, SummaryFields, WorkCapacityFields
from intygsgw.rules.engine import Answers

_C = f"{{{ns.CORE}}}"
_T = f"{{{ns.TYPES}}}"


@dataclass(frozen=True)
class SickLeaveAnswers:
    """What the certificate itself says; who issued it, for whom and when comes from the registration."""

    patient_name: str
    diagnosis: str
    secondary_diagnoses: tuple[str, ...]
    employment: tuple[str, ...]
    periods: tuple[WorkCapacity, ...]


def read_sick_leave(intyg, fields: SickLeaveFields, index: Answers | None = None) -> SickLeaveAnswers | None:
    """The sick-leave answers of ``intyg``, or None for a certificate the sick-leave lists leave out.

    Left out, as in the reference: no main diagnosis code, smittbärarpenning
    (avstängning enligt smittskyddslagen), or no period that can be read.
    ``index``: ``Answers(intyg)``, when the rules built it already.
    """
    if index is None:
        index = Answers(intyg)
    by_id = index.delsvar
    periods = []
    grades = dict(fields.grades)
    for svar in index.order:
        # A period and its grade are two delsvar of one svar; the last of each counts.
        graded, dated = svar.ds.get(fields.grade), svar.ds.get(fields.period)
        if graded is None or dated is None:
            continue
        grade, period = grades.get(_code(graded[-1])), _period(dated[-1])
        if grade is not None and period is not None:
            periods.append(WorkCapacity(period[0], period[1], grade))
    if fields.excluded_when_true and any(_text(d) == "true" for d in by_id.get(fields.excluded_when_true, ())):
        return None
    diagnosis = next((code for d in by_id.get(fields.diagnosis, ()) if (code := _code(d))), "")
    if not diagnosis or not periods:
        return None
    return SickLeaveAnswers(
        patient_name=_patient_name(intyg),
        diagnosis=diagnosis,
        secondary_diagnoses=tuple(
            c for did in fields.secondary_diagnoses for d in by_id.get(did, ()) if (c := _code(d))
        ),
        employment=tuple(c for d in by_id.get(fields.employment, ()) if (c := _code(d))),
        periods=tuple(sorted(periods, key=lambda p: p.start)),
    )


def read_diagnoses(intyg, fields: DiagnosisFields) -> tuple[str, ...]:
    """The diagnosis codes of ``intyg``: the main one first (when it has one), then the others in order."""
    by_id = Answers(intyg).delsvar
    return tuple(
        code
        for did in (fields.diagnosis, *fields.secondary_diagnoses)
        for d in by_id.get(did, ())
        if (code := _code(d))
    )


@dataclass(frozen=True)
class WorkCapacityAnswers:
    """What a certificate to the employer says of the patient's work capacity, in the certificate's order."""

    patient_name: str
    periods: tuple[WorkCapacity, ...]
    occupations: tuple[str, ...]  # the names of its occupations (codes without a name as they are)


def read_work_capacity(intyg, fields: WorkCapacityFields) -> WorkCapacityAnswers:
    """The work-capacity periods (each grade paired with the period of its svar) and occupations of ``intyg``.

    A grade is a cv code mapped to percent, or without ``grades`` a quantity in percent (its whole part).
    A period or grade that cannot be read is left out.
    """
    index = Answers(intyg)
    grades = dict(fields.grades)
    periods = []
    for svar in index.order:
        graded, dated = svar.ds.get(fields.grade), svar.ds.get(fields.period)
        if graded is None or dated is None:
            continue
        grade = grades.get(_code(graded[-1])) if grades else _quantity(graded[-1])
        period = _period(dated[-1])
        if grade is not None and period is not None:
            periods.append(WorkCapacity(period[0], period[1], grade))
    names = dict(fields.employment_names)
    occupations = tuple(names.get(code, code) for d in index.delsvar.get(fields.employment, ()) if (code := _code(d)))
    return WorkCapacityAnswers(_patient_name(intyg), tuple(periods), occupations)


# The reference stores the summary in a column of 255 characters and cuts what is longer.
SUMMARY_MAX_LENGTH = 255


def read_summary_value(intyg, fields: SummaryFields) -> str | None:
    """The summary value of ``intyg`` as the reference's modules compute it; None when it has none.

    A delsvar is read only in the svar its id starts with (6.2 in svar 6), as the reference's modules
    read it, in document order. ``periods``: ordered by start (ties keep their order), from the first
    one's start to the last one's end. ``text``: the first one's text. ``codes``: the texts of the
    codes, joined by ", "; a code without a text gives no value.
    """
    if fields.periods:
        dated = [p for d in _in_own_svar(intyg, fields.periods) if (p := _dates(d)) is not None]
        if not dated:
            return None
        dated.sort(key=lambda p: p[0])
        value = f"{dated[0][0].isoformat()} - {dated[-1][1].isoformat()}"
    elif fields.text:
        first = next(iter(_in_own_svar(intyg, fields.text)), None)
        if first is None:
            return None
        value = _text(first)
    elif fields.codes:
        texts = dict(fields.code_texts)
        shown = [texts.get(_code(d)) for d in _in_own_svar(intyg, fields.codes)]
        if not shown or None in shown:
            return None
        value = ", ".join(t for t in shown if t is not None)
    else:
        return None
    return value[:SUMMARY_MAX_LENGTH]


def _in_own_svar(intyg, delsvar_id: str) -> list:
    svar_id = delsvar_id.split(".", 1)[0]
    return [d for svar in Answers(intyg).svar.get(svar_id, ()) for d in svar.ds.get(delsvar_id, ())]


def _dates(delsvar) -> tuple[dt.date, dt.date] | None:
    # Unlike _period, a period ending before it starts is kept: the reference does not check it
    # here, and AF00251's published rules never check its periods' datatype.
    try:
        return (
            dt.date.fromisoformat((delsvar.findtext(f"{_T}datePeriod/{_T}start") or "").strip()[:10]),
            dt.date.fromisoformat((delsvar.findtext(f"{_T}datePeriod/{_T}end") or "").strip()[:10]),
        )
    except ValueError:
        return None


def _quantity(delsvar) -> int | None:
    try:
        return int(float((delsvar.findtext(f"{_T}pq/{_T}value") or "").strip()))
    except ValueError:
        return None


def _text(element) -> str:
    return "".join(element.itertext()).strip()


def _code(delsvar) -> str:
    return (delsvar.findtext(f"{_T}cv/{_T}code") or "").strip()


def _period(delsvar) -> tuple[dt.date, dt.date] | None:
    start = delsvar.findtext(f"{_T}datePeriod/{_T}start")
    end = delsvar.findtext(f"{_T}datePeriod/{_T}end")
    try:
        first, last = dt.date.fromisoformat((start or "").strip()[:10]), dt.date.fromisoformat((end or "").strip()[:10])
    except ValueError:
        return None
    return (first, last) if first <= last else None


def _patient_name(intyg) -> str:
    patient = intyg.find(f"{_C}patient")
    if patient is None:
        return ""
    parts = (patient.findtext(f"{_C}{name}") for name in ("fornamn", "mellannamn", "efternamn"))
    return " ".join(p.strip() for p in parts if p and p.strip())
