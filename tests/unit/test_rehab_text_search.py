"""Rehabstöd's text search over the sick-leave list: what it looks in, as the reference's
TextSearchFilterService does (hub-behaviour §5.3 gives the case's fields).

A case matches when one of these, as the list shows them, contains the text
(in any case): the patient's age ("113 år"), name, sex ("Man"/"Kvinna"),
personnummer with its dash, the diagnosis and bi-diagnosis codes, the start
and end dates, the length ("20 dagar"), the number of certificates, today's
grade ("100%"), the doctor's name, the occupations' names and the
rehabilitation status ("Ingen" without one).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from intygsgw.domain import rehab
from intygsgw.domain.sick_leave import Parameters, unit_cases
from tests.unit.test_sick_leave_engine import TODAY, cert

# TODAY is 2026-12-05; Tolvan (191212121212, an odd second-last digit) is 113 on it.
CASES = unit_cases(
    [
        replace(
            cert("c-1", ("2026-12-01", "2026-12-10", 100), ("2026-12-11", "2026-12-20", 50), diagnosis="F32"),
            secondary_diagnoses=("g47.9",),
        )
    ],
    Parameters(TODAY, 5),
)


def found(text: str) -> bool:
    return bool(rehab.rehab_filter(CASES, rehab.RehabFilter(text=text), TODAY))


@pytest.mark.parametrize(
    "text",
    [
        *("113 år", "tolvan", "man", "19121212-1212", "G479", "f32"),
        *("2026-12-01", "2026-12-20", "20 dagar", "1", "100%", "läkare doctor-1", "ingen"),
    ],
)
def test_the_text_search_finds_what_the_list_shows(text):
    assert found(text)


@pytest.mark.parametrize("text", ["kvinna", "50", "191212121212"])
def test_the_text_search_does_not_find_what_the_list_does_not_show(text):
    # 50 is a grade of the anchor's, but only today's grade is searched; the personnummer is
    # searched as shown, with its dash.
    assert not found(text)
