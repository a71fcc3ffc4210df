"""Sick-leave cases (sjukfall) from the sick-leave certificates of patients, as the reference computes them.

Pure: certificates and parameters in, cases out; no storage, no wire format.
Two views (hub-behaviour §5.3):

- per care unit (``unit_cases``): for each patient with a certificate active
  today or recently ended, the case around one anchor certificate, extended
  to the right and to the left over gaps of at most ``max_gap`` days;
- per patient (``patient_cases``): all of a patient's certificates chained by
  start date, a new case wherever the gap to the previous certificate is
  larger than ``max_gap``.

Days are calendar dates and every interval includes both ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True)
class WorkCapacity:
    """One period of reduced work capacity (nedsättning) and its grade: 100, 75, 50 or 25 percent."""

    start: dt.date
    end: dt.date
    grade: int

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class SickLeaveCertificate:
    certificate_id: str
    patient_id: str
    patient_name: str
    care_giver_id: str
    care_unit_id: str
    care_unit_name: str
    doctor_id: str
    doctor_name: str
    signed_at: dt.datetime
    diagnosis: str
    periods: tuple[WorkCapacity, ...]
    secondary_diagnoses: tuple[str, ...] = ()
    employment: tuple[str, ...] = ()

    @property
    def start(self) -> dt.date:
        return min(p.start for p in self.periods)

    @property
    def end(self) -> dt.date:
        return max(p.end for p in self.periods)

    def active_on(self, day: dt.date) -> bool:
        return any(p.covers(day) for p in self.periods)

    def recently_ended(self, day: dt.date, max_days_since_end: int) -> bool:
        """Ended before ``day`` and no more than ``max_days_since_end`` days before it."""
        return not self.active_on(day) and self.end < day < self.end + dt.timedelta(days=max_days_since_end + 1)


@dataclass(frozen=True)
class Parameters:
    today: dt.date  # aktivtDatum: the day a certificate is active on
    max_gap: int  # maxIntygsGlapp: days between certificates that still make one case
    max_days_since_end: int = 0  # maxDagarSedanAvslut: how long a case counts as recently ended


@dataclass(frozen=True)
class UnitCase:
    """A patient's sick leave as a care unit sees it: the anchor certificate and those linked to it."""

    anchor: SickLeaveCertificate
    certificates: tuple[SickLeaveCertificate, ...]  # by start
    start: dt.date
    end: dt.date
    days: int
    grades: tuple[WorkCapacity, ...]  # the anchor's periods, by start
    active_grade: int | None  # the anchor's grade today; None for a recently ended case

    @property
    def patient_id(self) -> str:
        return self.anchor.patient_id


@dataclass(frozen=True)
class PatientCase:
    """One of a patient's sick leaves across every unit: a chain of certificates."""

    certificates: tuple[SickLeaveCertificate, ...]  # by start, latest first
    start: dt.date
    end: dt.date
    diagnosis: str
    days: int


def days_covered(periods: list[WorkCapacity] | tuple[WorkCapacity, ...]) -> int:
    """Calendar days in the union of ``periods``, both ends included."""
    total, reached = 0, None
    for p in sorted(periods, key=lambda p: p.start):
        first = p.start if reached is None or p.start > reached else reached + dt.timedelta(days=1)
        if p.end >= first:
            total += (p.end - first).days + 1
        reached = p.end if reached is None else max(reached, p.end)
    return total


def unit_cases(certificates: list[SickLeaveCertificate], params: Parameters) -> list[UnitCase]:
    """The cases of one care unit's patients that are active today or recently ended."""
    if params.max_gap < 0:
        return []
    by_patient: dict[str, list[SickLeaveCertificate]] = {}
    for c in certificates:
        by_patient.setdefault(c.patient_id, []).append(c)
    cases = []
    for mine in by_patient.values():
        case = _unit_case(mine, params)
        if case is not None:
            cases.append(case)
    return cases


def _unit_case(certificates: list[SickLeaveCertificate], params: Parameters) -> UnitCase | None:
    today, gap = params.today, params.max_gap
    by_end = sorted(certificates, key=lambda c: (c.end, c.start, c.certificate_id))
    active = [c for c in by_end if c.active_on(today)]
    ended = [c for c in by_end if c.recently_ended(today, params.max_days_since_end)]
    if not active and not ended:
        return None
    # Several active at once: the latest signed is the active one.
    anchor = max(active, key=lambda c: c.signed_at) if active else ended[0]
    others = [c for c in certificates if c is not anchor]

    right: list[SickLeaveCertificate] = []
    compare = anchor.end
    for c in sorted((c for c in others if c.start >= anchor.start), key=lambda c: c.start):
        if c.start > compare + dt.timedelta(days=gap + 1):
            break
        right.append(c)
        compare = c.end

    left: list[SickLeaveCertificate] = []
    compare = min([anchor.start] + [c.start for c in right])
    for c in sorted(
        (c for c in others if c.start < anchor.start and c not in right), key=lambda c: c.end, reverse=True
    ):
        if c.end < compare - dt.timedelta(days=gap + 1):
            break
        left.append(c)
        compare = c.start

    linked = sorted([anchor, *right, *left], key=lambda c: (c.start, c.end))
    return UnitCase(
        anchor=anchor,
        certificates=tuple(linked),
        start=min(c.start for c in linked),
        end=max(c.end for c in linked),
        days=days_covered([p for c in _last_cluster(linked, gap) for p in c.periods]),
        grades=tuple(sorted(anchor.periods, key=lambda p: p.start)),
        active_grade=next((p.grade for p in anchor.periods if p.covers(today)), None),
    )


def _last_cluster(by_start: list[SickLeaveCertificate], gap: int) -> list[SickLeaveCertificate]:
    """The certificates after the last break of more than ``gap`` days in the chain."""
    cut = 0
    for i, (prev, nxt) in enumerate(pairwise(by_start), start=1):
        if prev.end + dt.timedelta(days=gap + 1) < nxt.start:
            cut = i
    return by_start[cut:]


def patient_cases(certificates: list[SickLeaveCertificate], params: Parameters) -> list[PatientCase]:
    """One patient's cases, latest first; a case that starts after today is left out."""
    if params.max_gap < 0 or not certificates:
        return []
    chains: list[list[SickLeaveCertificate]] = []
    for c in sorted(certificates, key=lambda c: (c.start, c.end, c.certificate_id)):
        if chains and c.start <= chains[-1][-1].end + dt.timedelta(days=params.max_gap + 1):
            chains[-1].append(c)
        else:
            chains.append([c])
    cases = []
    for chain in chains:
        start = min(c.start for c in chain)
        if start > params.today:
            continue
        active = [c for c in chain if c.active_on(params.today)]
        source = max(active or chain, key=lambda c: c.signed_at)
        cases.append(
            PatientCase(
                certificates=tuple(sorted(chain, key=lambda c: c.start, reverse=True)),
                start=start,
                end=max(c.end for c in chain),
                diagnosis=source.diagnosis,
                days=days_covered([p for c in chain for p in c.periods]),
            )
        )
    return sorted(cases, key=lambda case: case.start, reverse=True)
