"""Rehabstöd's sick-leave list: the filter it applies to the cases, and the code lists it offers.

Pure: cases in, cases out. The diagnosis chapters are ICD-10-SE's (a code
belongs to the chapter whose range holds its letter and first two digits);
occupations and rehabilitation statuses are the code lists Rehabstöd
filters by. A case shows the rehabilitation status set for it last
(:func:`status_of_case`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from intygsgw.domain.records import RehabStatusRecord
from intygsgw.domain.sick_leave import UnitCase, cleaned_diagnosis_code


@dataclass(frozen=True)
class Chapter:
    from_letter: str
    from_number: int
    to_letter: str
    to_number: int
    name: str

    @property
    def range(self) -> str:
        if self.blank:
            return ""
        return f"{self.from_letter}{self.from_number:02d}-{self.to_letter}{self.to_number:02d}"

    @property
    def blank(self) -> bool:
        """The chapter of codes in no chapter: blank letters, as the reference and Rehabstöd spell it."""
        return not self.from_letter.strip() and not self.to_letter.strip()

    def contains(self, code: str) -> bool:
        found = _CATEGORY.match(code)
        if not found:
            return False
        value = _value(found.group(1), int(found.group(2)))
        return _value(self.from_letter, self.from_number) <= value <= _value(self.to_letter, self.to_number)


_CATEGORY = re.compile(r"^([A-Z])([0-9]{2})")


def _value(letter: str, number: int) -> int:
    return ord(letter) * 100 + number


def _chapter(row: str) -> Chapter:
    found = re.match(r"^([A-Z])([0-9]{2})-([A-Z])([0-9]{2})(.*)$", row)
    assert found is not None, row
    return Chapter(found.group(1), int(found.group(2)), found.group(3), int(found.group(4)), found.group(5))


CHAPTERS: tuple[Chapter, ...] = tuple(
    _chapter(row)
    for row in (
        "A00-B99Vissa infektionssjukdomar och parasitsjukdomar",
        "C00-D48Tumörer",
        "D50-D89Sjukdomar i blod och blodbildande organ samt vissa rubbningar i immunsystemet",
        "E00-E90Endokrina sjukdomar, nutritionsrubbningar och ämnesomsättningssjukdomar",
        "F00-F99Psykiska sjukdomar och syndrom samt beteendestörningar",
        "G00-G99Sjukdomar i nervsystemet",
        "H00-H59Sjukdomar i ögat och närliggande organ",
        "H60-H95Sjukdomar i örat och mastoidutskottet",
        "I00-I99Cirkulationsorganens sjukdomar",
        "J00-J99Andningsorganens sjukdomar",
        "K00-K93Matsmältningsorganens sjukdomar",
        "L00-L99Hudens och underhudens sjukdomar",
        "M00-M99Sjukdomar i muskuloskeletala systemet och bindväven",
        "N00-N99Sjukdomar i urin- och könsorganen",
        "O00-O99Graviditet, förlossning och barnsängstid",
        "P00-P96Vissa perinatala tillstånd",
        "Q00-Q99Medfödda missbildningar, deformiteter och kromosomavvikelser",
        "R00-R99Symtom, sjukdomstecken och onormala kliniska fynd och laboratoriefynd som ej klassificeras på "
        "annan plats",
        "S00-T98Skador, förgiftningar och vissa andra följder av yttre orsaker",
        "U00-U99Koder för särskilda ändamål",
        "V01-Y98Yttre orsaker till sjukdom och död",
        "Z00-Z99Faktorer av betydelse för hälsotillståndet och för kontakter med hälso- och sjukvården",
    )
)
# Where a code fits no chapter (Rehabstöd shows it apart). Blank letters and an empty id, as the
# reference answers it and as Rehabstöd's own list of chapters holds it when it sends it back as a filter.
NO_CHAPTER = Chapter(" ", 0, " ", 0, "Utan giltig diagnoskod")

OCCUPATIONS: tuple[tuple[str, str], ...] = (
    ("NUVARANDE_ARBETE", "Nuvarande arbete"),
    ("ARBETSSOKANDE", "Arbetssökande"),
    ("FORALDRALEDIG", "Föräldraledighet"),
    ("STUDIER", "Studier"),
)
# A stored occupation code as Rehabstöd shows it: the reference's engine answers and filters by these
# names, not by the codes. Older certificates' codes name the same occupations.
OCCUPATION_NAMES: dict[str, str] = {
    **dict(OCCUPATIONS),
    "ARBETSLOSHET": "Arbetssökande",
    "FORALDRALEDIGHET": "Föräldraledighet",
}
# The rehabilitation statuses a coordinator can set; a case without one is shown as the first, "none".
REKO_STATUSES: tuple[tuple[str, str], ...] = (
    ("REKO_1", "-"),
    ("REKO_2", "Kontaktad"),
    ("REKO_3", "Aktiv"),
    ("REKO_4", "Uppföljning"),
    ("REKO_5", "Avslutad"),
    ("REKO_6", "Avböjt"),
    ("REKO_7", "Lämnas utan åtgärd"),
    ("REKO_8", "Medicinsk rehab"),
)
NO_REKO_STATUS = "REKO_1"
REKO_NAMES: dict[str, str] = dict(REKO_STATUSES)
# What the list's text search finds a case without a status by.
NO_STATUS_TEXT = "Ingen"


def status_of_case(
    statuses: Iterable[RehabStatusRecord], patient_id: str, start: dt.date, end: dt.date
) -> RehabStatusRecord | None:
    """The status a sick leave of the patient from ``start`` to ``end`` (whole days) shows.

    Among the patient's statuses whose sick-leave moment falls within those days,
    the one registered last; of two registered at the same moment, the one stored
    last (``statuses`` in stored order). None when there is none: the case then
    counts as REKO_1, as the reference counts it. A status set during an earlier
    sick leave does not follow the patient into the next one.
    """
    first, after = dt.datetime.combine(start, dt.time()), dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    chosen: RehabStatusRecord | None = None
    for status in statuses:
        if status.patient_id != patient_id or not first <= status.sick_leave_timestamp < after:
            continue
        if chosen is None or status.registered_at >= chosen.registered_at:
            chosen = status
    return chosen


StatusOf = Callable[[UnitCase], RehabStatusRecord | None]


def _no_status(case: UnitCase) -> RehabStatusRecord | None:
    return None


def reko_name(status_id: str) -> str:
    """A status's name; an id not in the list has the name of REKO_1, as the reference names it."""
    return REKO_NAMES.get(status_id, REKO_NAMES[NO_REKO_STATUS])


def occupation_names(codes: Iterable[str]) -> list[str | None]:
    """The occupations' names, in order; None for a code without one, as the reference answers it."""
    return [OCCUPATION_NAMES.get(code) for code in codes]


def chapter_of(diagnosis: str) -> Chapter:
    code = cleaned_diagnosis_code(diagnosis)
    return next((c for c in CHAPTERS if c.contains(code)), NO_CHAPTER)


def age_on(person_digits: str, today: dt.date) -> int | None:
    """Whole years on ``today``; a samordningsnummer's day has 60 added. None when no date can be read."""
    try:
        born = dt.date(int(person_digits[:4]), int(person_digits[4:6]), int(person_digits[6:8]) % 60 or 1)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@dataclass(frozen=True)
class RehabFilter:
    length_intervals: Sequence[tuple[int | None, int | None]] = ()  # inclusive days, None: open
    chapters: Sequence[Chapter] = ()
    age_from: int | None = None  # both or neither, as the reference reads them
    age_to: int | None = None
    end_from: dt.date | None = None
    end_to: dt.date | None = None
    doctor_ids: Sequence[str] = ()
    reko_status_ids: Sequence[str] = ()
    occupation_ids: Sequence[str] = ()
    text: str = ""


def rehab_filter(
    cases: Iterable[UnitCase], f: RehabFilter, today: dt.date, status_of: StatusOf = _no_status
) -> list[UnitCase]:
    """The cases the filter keeps; ``status_of`` gives each case's rehabilitation status."""
    chapter_ranges = {c.range for c in f.chapters}
    wanted_names = [name for wanted, name in OCCUPATIONS if wanted in f.occupation_ids]
    kept = []
    for case in cases:
        if f.length_intervals and not any(
            (low is None or low <= case.days) and (high is None or case.days <= high)
            for low, high in f.length_intervals
        ):
            continue
        if chapter_ranges and chapter_of(case.diagnosis).range not in chapter_ranges:
            continue
        if f.age_from is not None and f.age_to is not None:
            age = age_on(case.patient_id, today)
            if age is None or not f.age_from <= age <= f.age_to:
                continue
        if (f.end_from and case.end < f.end_from) or (f.end_to and case.end > f.end_to):
            continue
        if f.doctor_ids and case.doctor_id not in f.doctor_ids:
            continue
        status = status_of(case)
        if f.reko_status_ids and (status.status if status else NO_REKO_STATUS) not in f.reko_status_ids:
            continue
        # An id the list does not offer selects nothing; a name is matched within each of the case's.
        if f.occupation_ids and not any(
            wanted in name for wanted in wanted_names for name in occupation_names(case.employment) if name
        ):
            continue
        if f.text and not _matches(case, f.text, today, status):
            continue
        kept.append(case)
    return kept


def _matches(case: UnitCase, text: str, today: dt.date, status: RehabStatusRecord | None) -> bool:
    """Whether one of the case's fields, as Rehabstöd shows it, contains ``text`` in any case.

    The fields and their forms are the reference's (TextSearchFilterService), except
    the diagnosis's description, which the gateway does not know.
    """
    needle = text.upper()
    age = age_on(case.patient_id, today)
    haystack = [
        f"{age} år" if age is not None else "",
        case.patient_name,
        _sex(case.patient_id),
        case.diagnosis_code,
        *(cleaned_diagnosis_code(d) for d in case.secondary_diagnoses if d),
        case.start.isoformat(),
        case.end.isoformat(),
        f"{case.days} dagar",
        str(case.certificate_count),
        f"{case.active_grade or 0}%",
        case.doctor_name,
        dashed(case.patient_id),
        *(name for name in occupation_names(case.employment) if name),
        reko_name(status.status) if status else NO_STATUS_TEXT,
    ]
    return any(needle in value.upper() for value in haystack)


def _sex(person_digits: str) -> str:
    """As the list shows it: the second-last digit odd for a man."""
    if len(person_digits) != 12 or not person_digits.isdigit():
        return "Okänd"
    return "Man" if int(person_digits[10]) % 2 else "Kvinna"


def dashed(person_digits: str) -> str:
    """The personnummer as Rehabstöd's list shows it, ``yyyyMMdd-nnnn`` (anything else as it is)."""
    if len(person_digits) == 12 and person_digits.isdigit():
        return f"{person_digits[:8]}-{person_digits[8:]}"
    return person_digits
