"""Occupations (sysselsättning) as Rehabstöd's sick-leave list shows, filters and searches them.

The reference's engine turns each stored code into the name Rehabstöd
displays (its SysselsattningMapper) before the case is answered, filtered by
occupation or searched as text.
"""

from __future__ import annotations

from intygsgw.domain import rehab
from intygsgw.domain.sick_leave import Parameters, unit_cases
from tests.unit.test_sick_leave_engine import TODAY, cert

CASE = unit_cases(
    [cert("c-1", ("2026-12-01", "2026-12-20", 100), employment=("NUVARANDE_ARBETE", "STUDIER"))],
    Parameters(TODAY, 5),
)


def test_a_cases_occupations_are_the_names_rehabstod_shows():
    [case] = CASE
    assert rehab.occupation_names(case.employment) == ["Nuvarande arbete", "Studier"]
    # Codes of older certificates that name the same occupations.
    assert rehab.occupation_names(("ARBETSLOSHET", "FORALDRALEDIGHET")) == ["Arbetssökande", "Föräldraledighet"]


def test_the_text_search_finds_an_occupation_by_its_name_not_its_code():
    def found(text: str) -> bool:
        return bool(rehab.rehab_filter(CASE, rehab.RehabFilter(text=text), TODAY))

    assert found("nuvarande arbete")
    assert found("STUDIER")  # the name in any case
    assert not found("NUVARANDE_ARBETE")


def test_the_occupation_filter_reads_the_names():
    def found(*wanted: str) -> bool:
        return bool(rehab.rehab_filter(CASE, rehab.RehabFilter(occupation_ids=wanted), TODAY))

    assert found("NUVARANDE_ARBETE") and found("STUDIER", "ARBETSSOKANDE")
    assert not found("ARBETSSOKANDE") and not found("Nuvarande arbete")
