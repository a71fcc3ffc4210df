"""Sick-leave cases (sjukfall) from patients' sick-leave certificates, as the reference hub computes them.

Pure: certificates and parameters in, cases out; no storage, no wire format.
The rules are hub-behaviour §5 (with §1.11 for the list filter and §2.4 for
replacements):

- ``listable``: the certificates the sick-leave lists may show at all (§5.2);
- ``of_patients_on_sick_leave``: a care unit's raw list, every certificate of
  the patients with a period active today or recently ended (§5.2);
- ``unit_cases``: one case per patient around an anchor certificate (§5.3, "Enhet");
- ``filter_cases``: the length and doctor filter of ListSickLeavesForCare (§1.11);
- ``patient_cases``: one patient's certificates chained into cases (§5.3, "Patient").

Days are calendar dates and every interval includes both ends. Distances
between dates are compared as whole days rather than by adding the gap to a
date, so a huge gap from a caller cannot overflow the date range.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from intygsgw.domain.records import RelationRecord

# Relations (new → old) that hide the old certificate from the lists while the new one stands (§2.4).
HIDING_RELATIONS = frozenset({"ERSATT", "KOMPLT"})


@dataclass(frozen=True)
class WorkCapacity:
    """One period of reduced work capacity (nedsättning) and its grade in percent: 100, 75, 50 or 25."""

    start: dt.date
    end: dt.date  # inclusive
    grade: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a work-capacity period cannot end ({self.end}) before it starts ({self.start})")

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class SickLeaveCertificate:
    """A certificate as the sick-leave data keeps it (the SJUKFALL_CERT row and its periods, §5.1)."""

    certificate_id: str
    patient_id: str
    patient_name: str
    care_giver_id: str
    care_unit_id: str
    care_unit_name: str
    doctor_id: str
    doctor_name: str
    signed_at: dt.datetime
    diagnosis: str  # the main diagnosis code as written; never blank (§5.1)
    periods: tuple[WorkCapacity, ...]
    secondary_diagnoses: tuple[str, ...] = ()
    employment: tuple[str, ...] = ()
    certificate_type: str = ""
    revoked: bool = False  # DELETED in the reference: set by a revocation
    test: bool = False

    def __post_init__(self) -> None:
        # Without a period a certificate has no start or end, and every rule below needs both.
        if not self.periods:
            raise ValueError(f"sick-leave certificate {self.certificate_id} has no work-capacity period")

    @property
    def start(self) -> dt.date:
        return min(p.start for p in self.periods)

    @property
    def end(self) -> dt.date:
        return max(p.end for p in self.periods)

    @property
    def days(self) -> int:
        return days_covered(self.periods)

    def active_on(self, day: dt.date) -> bool:
        # A day in a hole between two periods does not count, although it lies between start and end.
        return any(p.covers(day) for p in self.periods)

    def recently_ended(self, day: dt.date, max_days_since_end: int) -> bool:
        """Ended before ``day``, at most ``max_days_since_end`` days before it."""
        return not self.active_on(day) and self.end < day and (day - self.end).days <= max_days_since_end

    def grade_on(self, day: dt.date) -> int | None:
        # Periods should not overlap; if they do, the first listed wins, as in the reference.
        return next((p.grade for p in self.periods if p.covers(day)), None)


@dataclass(frozen=True)
class Parameters:
    today: dt.date  # aktivtDatum
    max_gap: int  # maxIntygsGlapp (maxDagarMellanIntyg): a negative gap gives no case at all
    max_days_since_end: int = 0  # maxAntalDagarSedanSjukfallAvslut; 0 in ListSickLeavesForCare


@dataclass(frozen=True)
class CaseFilter:
    """The ListSickLeavesForCare request's filter, applied after the engine (§1.11)."""

    min_days: int = 0  # minstaSjukskrivningslangd, inclusive
    max_days: int | None = None  # maxSjukskrivningslangd, exclusive; None: no upper bound
    doctor_ids: tuple[str, ...] = ()  # personal-id; empty: every doctor


@dataclass(frozen=True)
class UnitCase:
    """A patient's sick leave as a care unit sees it: the anchor certificate and those linked to it.

    Who, where and what come from the anchor (§5.3), so the properties below
    read it; the dates and the day count span the linked certificates.
    """

    anchor: SickLeaveCertificate  # the active certificate, or the first recently ended one
    certificates: tuple[SickLeaveCertificate, ...]  # anchor included, by start
    start: dt.date
    end: dt.date
    days: int  # sjukskrivningslangd
    grades: tuple[int, ...]  # the anchor's grades, by period start
    active_grade: int | None  # the anchor's grade today; None for a recently ended case

    @property
    def recently_ended(self) -> bool:
        return self.active_grade is None

    @property
    def patient_id(self) -> str:
        return self.anchor.patient_id

    @property
    def patient_name(self) -> str:
        return self.anchor.patient_name

    @property
    def care_giver_id(self) -> str:
        return self.anchor.care_giver_id

    @property
    def care_unit_id(self) -> str:
        return self.anchor.care_unit_id

    @property
    def care_unit_name(self) -> str:
        return self.anchor.care_unit_name

    @property
    def doctor_id(self) -> str:
        return self.anchor.doctor_id

    @property
    def doctor_name(self) -> str:
        return self.anchor.doctor_name

    @property
    def diagnosis(self) -> str:
        return self.anchor.diagnosis

    @property
    def diagnosis_code(self) -> str:
        return cleaned_diagnosis_code(self.anchor.diagnosis)

    @property
    def secondary_diagnoses(self) -> tuple[str, ...]:
        return self.anchor.secondary_diagnoses

    @property
    def employment(self) -> tuple[str, ...]:
        return self.anchor.employment

    @property
    def certificate_count(self) -> int:  # antalIntyg
        return len(self.certificates)

    @property
    def certificate_ids(self) -> tuple[str, ...]:
        return tuple(c.certificate_id for c in self.certificates)


@dataclass(frozen=True)
class PatientCase:
    """One of a patient's sick leaves across every unit and care giver: a chain of certificates."""

    patient_id: str
    patient_name: str  # as the case's earliest certificate has it, as in the reference
    certificates: tuple[SickLeaveCertificate, ...]  # latest start first
    start: dt.date
    end: dt.date
    diagnosis: str  # of the latest signed active certificate, else of the latest signed
    days: int

    @property
    def diagnosis_code(self) -> str:
        return cleaned_diagnosis_code(self.diagnosis)

    @property
    def certificate_count(self) -> int:
        return len(self.certificates)


def days_covered(periods: Iterable[WorkCapacity]) -> int:
    """Calendar days in the union of ``periods``, both ends included; a day in two periods counts once."""
    total, reached = 0, None
    for p in sorted(periods, key=lambda p: p.start):
        first = p.start if reached is None or p.start > reached else reached + dt.timedelta(days=1)
        if p.end >= first:
            total += (p.end - first).days + 1
        reached = p.end if reached is None else max(reached, p.end)
    return total


def without_gaps(periods: Iterable[WorkCapacity]) -> bool:
    """Whether ``periods`` cover every day from the first start to the last end (False without periods)."""
    reached = None
    for p in sorted(periods, key=lambda p: p.start):
        if reached is not None and p.start > reached + dt.timedelta(days=1):
            return False
        reached = p.end if reached is None else max(reached, p.end)
    return reached is not None


def cleaned_diagnosis_code(code: str) -> str:
    """The diagnosis code as ListSickLeavesForCare answers it: the first seven characters, upper case,
    letters, digits and hyphens only ("f32.1" → "F321").

    Seven, because the reference reads anything after the seventh character
    as the diagnosis's name.
    """
    return re.sub(r"[^A-Z0-9-]", "", code[:7].strip().upper())


def listable(
    certificates: Iterable[SickLeaveCertificate], relations: Iterable[RelationRecord]
) -> list[SickLeaveCertificate]:
    """The certificates the sick-leave lists may show: not revoked, not test, not replaced.

    A certificate is replaced while an ERSATT or KOMPLT relation points to it
    from a certificate among ``certificates`` that is not revoked: revoking the
    replacement brings the original back (§2.4, INTYG-7848). Pass the
    patient's revoked certificates too, or their replacements look alive.
    """
    certificates = list(certificates)
    standing = {c.certificate_id for c in certificates if not c.revoked}
    replaced = {r.to_id for r in relations if r.code in HIDING_RELATIONS and r.from_id in standing}
    return [c for c in certificates if not c.revoked and not c.test and c.certificate_id not in replaced]


def of_patients_on_sick_leave(
    certificates: Iterable[SickLeaveCertificate], today: dt.date, max_days_since_end: int = 0
) -> list[SickLeaveCertificate]:
    """Every certificate of the patients with a period active today or ended at most ``max_days_since_end`` days ago.

    The raw list of ListActiveSickLeavesForCareUnit (§5.2). It looks at single
    periods, not whole certificates, so it may keep a patient that
    ``unit_cases`` then leaves out (today in a hole between two periods).
    """
    certificates = list(certificates)
    current = {
        c.patient_id
        for c in certificates
        for p in c.periods
        if p.covers(today) or (p.end < today and (today - p.end).days <= max_days_since_end)
    }
    return [c for c in certificates if c.patient_id in current]


def unit_cases(certificates: Iterable[SickLeaveCertificate], params: Parameters) -> list[UnitCase]:
    """The case of each patient with a certificate active today or recently ended, by patient id.

    ``certificates`` are what the selection of §5.2 returns for a unit (see
    ``listable``); the engine itself does not look at the revoked or test flags.
    """
    if params.max_gap < 0:
        return []
    by_patient: dict[str, list[SickLeaveCertificate]] = {}
    for c in certificates:
        by_patient.setdefault(c.patient_id, []).append(c)
    cases = (_unit_case(by_patient[patient], params) for patient in sorted(by_patient))
    return [case for case in cases if case is not None]


def filter_cases(cases: Iterable[UnitCase], case_filter: CaseFilter) -> list[UnitCase]:
    """The cases ListSickLeavesForCare keeps: ``min_days <= days < max_days``, by one of the doctors if any are given."""
    f = case_filter
    return [
        case
        for case in cases
        if f.min_days <= case.days
        and (f.max_days is None or case.days < f.max_days)
        and (not f.doctor_ids or case.doctor_id in f.doctor_ids)
    ]


def patient_cases(certificates: Iterable[SickLeaveCertificate], params: Parameters) -> list[PatientCase]:
    """One patient's cases, latest first; a case that starts after today is left out.

    Each certificate, in order of start, joins the case of the certificate
    just before it when it starts at most ``max_gap`` days after that one's
    end. Just before, not the longest so far: a long certificate followed by
    a short one inside it can split a case that still overlaps the next one,
    as in the reference.
    """
    certificates = list(certificates)
    if params.max_gap < 0 or not certificates:
        return []
    if len({c.patient_id for c in certificates}) > 1:
        # Chaining two people's certificates would show one person's sick leave as another's.
        raise ValueError("patient_cases takes the certificates of one patient")
    chains: list[list[SickLeaveCertificate]] = []
    for c in sorted(certificates, key=_by_start):
        if chains and _within_gap(chains[-1][-1].end, c.start, params.max_gap):
            chains[-1].append(c)
        else:
            chains.append([c])
    # Chains start strictly later one after the other, so reversing puts the latest first.
    return [_patient_case(chain, params) for chain in reversed(chains) if chain[0].start <= params.today]


# -- the steps --------------------------------------------------------------------------------


def _by_end(c: SickLeaveCertificate) -> tuple:
    # The reference keeps the database's order among equal ends; signing time and id make ours independent of it.
    return (c.end, c.signed_at, c.certificate_id)


def _by_start(c: SickLeaveCertificate) -> tuple:
    # Among equal starts the longest comes last, so it is the one the next certificate is measured against.
    return (c.start, c.end, c.signed_at, c.certificate_id)


def _within_gap(end: dt.date, next_start: dt.date, gap: int) -> bool:
    """``next_start <= end + gap + 1``: at most ``gap`` days without a certificate between the two."""
    return (next_start - end).days <= gap + 1


def _unit_case(certificates: list[SickLeaveCertificate], params: Parameters) -> UnitCase | None:
    today, gap = params.today, params.max_gap
    by_end = sorted(certificates, key=_by_end)
    active = [c for c in by_end if c.active_on(today)]
    if active:
        # One active certificate only: the latest signed; on equal times the one that ends first.
        anchor = max(active, key=lambda c: c.signed_at)
    else:
        ended = [c for c in by_end if c.recently_ended(today, params.max_days_since_end)]
        if not ended:
            return None
        anchor = ended[0]

    # Right and left of the anchor means later and earlier in order of end, not of start.
    at = next(i for i, c in enumerate(by_end) if c is anchor)
    right = _extend_right(by_end[at + 1 :], anchor.end, gap)
    left = _extend_left(by_end[:at], min([anchor.start, *(c.start for c in right)]), gap)

    linked = sorted([*left, anchor, *right], key=_by_start)
    return UnitCase(
        anchor=anchor,
        certificates=tuple(linked),
        start=min(c.start for c in linked),
        end=max(c.end for c in linked),
        days=_linked_days(linked, gap),
        grades=tuple(p.grade for p in sorted(anchor.periods, key=lambda p: p.start)),
        active_grade=anchor.grade_on(today),
    )


def _extend_right(later: list[SickLeaveCertificate], compare: dt.date, gap: int) -> list[SickLeaveCertificate]:
    """Later certificates by start, while each starts within the gap after the end of the last one taken.

    The last one taken, not the furthest end so far: the reference measures
    against the certificate just linked, and stops at the first one too far.
    """
    taken = []
    for c in sorted(later, key=lambda c: c.start):
        if not _within_gap(compare, c.start, gap):
            break
        taken.append(c)
        compare = c.end
    return taken


def _extend_left(earlier: list[SickLeaveCertificate], compare: dt.date, gap: int) -> list[SickLeaveCertificate]:
    """Earlier certificates, latest end first, while each ends within the gap before the start of the last one taken."""
    taken = []
    for c in reversed(earlier):
        if not _within_gap(c.end, compare, gap):
            break
        taken.append(c)
        compare = c.start
    taken.reverse()
    return taken


def _linked_days(certificates: Sequence[SickLeaveCertificate], gap: int) -> int:
    """The covered days of the last cluster: after the last break of more than ``gap`` days, by start.

    A break is measured from the furthest end so far. The certificates a case
    links always form one cluster, so this counts them all; the reference
    computes it this way and so do we, should a rule above ever change.
    """
    ordered = sorted(certificates, key=_by_start)
    cluster: list[SickLeaveCertificate] = []
    reached: dt.date | None = None
    for c in ordered:
        if reached is not None and not _within_gap(reached, c.start, gap):
            cluster = []
        cluster.append(c)
        reached = c.end if reached is None else max(reached, c.end)
    return days_covered(p for c in cluster for p in c.periods)


def _patient_case(chain: list[SickLeaveCertificate], params: Parameters) -> PatientCase:
    active = [c for c in chain if c.active_on(params.today)]
    source = max(active or chain, key=lambda c: c.signed_at)
    return PatientCase(
        patient_id=chain[0].patient_id,
        patient_name=chain[0].patient_name,
        certificates=tuple(sorted(chain, key=lambda c: c.start, reverse=True)),
        start=min(c.start for c in chain),
        end=max(c.end for c in chain),
        diagnosis=source.diagnosis,
        days=_linked_days(chain, params.max_gap),
    )
