"""The sick-leave engine, rule by rule (hub-behaviour §5, §1.11, §2.4).

Every expected date and day count is worked out by hand in the comments next
to it; the properties at the end check the invariants on generated data.
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intygsgw.domain.records import RelationRecord
from intygsgw.domain.sick_leave import (
    CaseFilter,
    Parameters,
    SickLeaveCertificate,
    WorkCapacity,
    cleaned_diagnosis_code,
    days_covered,
    filter_cases,
    listable,
    of_patients_on_sick_leave,
    patient_cases,
    unit_cases,
    without_gaps,
)

TODAY = dt.date(2026, 12, 5)
TOLVAN = "191212121212"
LILLTOLVAN = "201212121212"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def cert(
    cid: str,
    *periods: tuple[str, str, int],
    patient: str = TOLVAN,
    patient_name: str = "Tolvan Tolvansson",
    signed: str = "2026-11-01T10:00",
    diagnosis: str = "F32",
    doctor: str = "DOCTOR-1",
    unit: str = "UNIT-1",
    employment: tuple[str, ...] = (),
    revoked: bool = False,
    test: bool = False,
) -> SickLeaveCertificate:
    return SickLeaveCertificate(
        certificate_id=cid,
        patient_id=patient,
        patient_name=patient_name,
        care_giver_id="GIVER-1",
        care_unit_id=unit,
        care_unit_name=f"Enheten {unit}",
        doctor_id=doctor,
        doctor_name=f"Läkare {doctor}",
        signed_at=dt.datetime.fromisoformat(signed),
        diagnosis=diagnosis,
        periods=tuple(WorkCapacity(d(s), d(e), g) for s, e, g in periods),
        employment=employment,
        certificate_type="lisjp",
        revoked=revoked,
        test=test,
    )


def params(gap: int = 5, since_end: int = 0, today: dt.date = TODAY) -> Parameters:
    return Parameters(today=today, max_gap=gap, max_days_since_end=since_end)


def ids(certs) -> list[str]:
    return [c.certificate_id for c in certs]


def relation(new: str, old: str, code: str) -> RelationRecord:
    return RelationRecord(from_id=new, to_id=old, code=code, created_at=dt.datetime(2026, 11, 1))


# -- a certificate on its own -----------------------------------------------------------------


def test_days_are_inclusive_and_a_day_in_two_periods_counts_once():
    assert days_covered([WorkCapacity(d("2026-12-01"), d("2026-12-01"), 100)]) == 1
    # 1-10 and 5-14 overlap on 5-10: the union is 1-14, 14 days.
    assert (
        days_covered(
            [WorkCapacity(d("2026-12-01"), d("2026-12-10"), 100), WorkCapacity(d("2026-12-05"), d("2026-12-14"), 50)]
        )
        == 14
    )
    # 1-3 and 7-9 with a hole between: 3 + 3; given out of order.
    assert (
        days_covered(
            [WorkCapacity(d("2026-12-07"), d("2026-12-09"), 25), WorkCapacity(d("2026-12-01"), d("2026-12-03"), 25)]
        )
        == 6
    )
    # Across a month end: 28 Feb-3 Mar 2027 is 28 Feb, 1, 2, 3 Mar.
    assert days_covered([WorkCapacity(d("2027-02-28"), d("2027-03-03"), 50)]) == 4


def test_a_certificate_spans_its_periods_and_is_active_only_inside_one():
    c = cert("a", ("2026-12-10", "2026-12-20", 50), ("2026-11-20", "2026-12-03", 100))
    assert (c.start, c.end, c.days) == (d("2026-11-20"), d("2026-12-20"), 14 + 11)  # 20 Nov-3 Dec, 10-20 Dec
    assert c.active_on(d("2026-12-03")) and c.active_on(d("2026-12-10"))
    assert not c.active_on(TODAY)  # 5 Dec is in the hole
    assert not c.recently_ended(TODAY, 14)  # nor has it ended: it runs to 20 Dec
    assert (c.grade_on(d("2026-11-20")), c.grade_on(d("2026-12-20")), c.grade_on(TODAY)) == (100, 50, None)


def test_recently_ended_counts_max_days_since_end_days_after_the_end():
    c = cert("a", ("2026-11-20", "2026-12-01", 100))  # ended four days before 5 Dec
    assert c.recently_ended(TODAY, 4) and not c.recently_ended(TODAY, 3)
    yesterday = cert("b", ("2026-11-20", "2026-12-04", 100))
    assert not yesterday.recently_ended(TODAY, 0) and yesterday.recently_ended(TODAY, 1)
    assert not cert("c", ("2026-11-20", "2026-12-05", 100)).recently_ended(TODAY, 14)  # still active today


def test_a_period_cannot_end_before_it_starts_and_a_certificate_needs_a_period():
    with pytest.raises(ValueError):
        WorkCapacity(d("2026-12-02"), d("2026-12-01"), 100)
    with pytest.raises(ValueError):
        cert("empty")


def test_the_diagnosis_code_is_its_first_seven_characters_cleaned():
    assert cleaned_diagnosis_code("f32.1") == "F321"
    assert cleaned_diagnosis_code(" m54-p ") == "M54-P"
    # "J06.9  " are the first seven; the name after them is dropped.
    assert cleaned_diagnosis_code("J06.9  Akut övre luftvägsinfektion") == "J069"


# -- what the lists may show (§5.2, §2.4) ----------------------------------------------------------


def test_revoked_and_test_certificates_are_never_listed():
    kept = cert("kept", ("2026-12-01", "2026-12-31", 100))
    gone = [
        cert("revoked", ("2026-12-01", "2026-12-31", 100), revoked=True),
        cert("t", ("2026-12-01", "2026-12-31", 100), test=True),
    ]
    assert ids(listable([*gone, kept], [])) == ["kept"]


@pytest.mark.parametrize("code", ["ERSATT", "KOMPLT"])
def test_a_replaced_certificate_is_hidden_until_its_replacement_is_revoked(code):
    old = cert("old", ("2026-12-01", "2026-12-31", 100))
    new = cert("new", ("2026-12-01", "2026-12-31", 50))
    assert ids(listable([old, new], [relation("new", "old", code)])) == ["new"]
    revoked_new = cert("new", ("2026-12-01", "2026-12-31", 50), revoked=True)
    assert ids(listable([old, revoked_new], [relation("new", "old", code)])) == ["old"]


def test_extension_and_copy_hide_nothing_nor_does_a_replacement_the_lists_do_not_hold():
    old = cert("old", ("2026-12-01", "2026-12-31", 100))
    new = cert("new", ("2026-12-01", "2026-12-31", 50))
    relations = [relation("new", "old", "FRLANG"), relation("new", "old", "KOPIA")]
    assert ids(listable([old, new], relations)) == ["old", "new"]
    # The replacing certificate is no sick-leave certificate (another type), so nothing hides "old".
    assert ids(listable([old], [relation("not-sick-leave", "old", "ERSATT")])) == ["old"]


def test_a_units_raw_list_holds_every_certificate_of_the_patients_on_sick_leave():
    old = cert("old", ("2026-06-01", "2026-06-30", 100))
    active = cert("active", ("2026-12-01", "2026-12-31", 100))
    ended = cert("ended", ("2026-11-20", "2026-12-02", 50), patient=LILLTOLVAN)  # ended three days ago
    assert ids(of_patients_on_sick_leave([old, active, ended], TODAY, 3)) == ["old", "active", "ended"]
    assert ids(of_patients_on_sick_leave([old, active, ended], TODAY, 2)) == ["old", "active"]


def test_the_raw_list_looks_at_periods_but_the_cases_at_whole_certificates():
    # Today is in the hole; the first period ended two days ago.
    holed = cert("holed", ("2026-11-20", "2026-12-03", 100), ("2026-12-10", "2026-12-20", 50))
    assert ids(of_patients_on_sick_leave([holed], TODAY, 2)) == ["holed"]
    assert unit_cases([holed], params(since_end=2)) == []


# -- per care unit (§5.3 "Enhet") ----------------------------------------------------------------


def test_a_patient_with_nothing_active_or_recently_ended_has_no_case():
    assert unit_cases([cert("old", ("2026-10-01", "2026-10-31", 100))], params(since_end=14)) == []


def test_the_active_certificate_is_the_anchor_with_its_grade_today_and_its_grades_by_start():
    c = cert("a", ("2026-12-04", "2026-12-20", 50), ("2026-12-01", "2026-12-03", 100))  # given out of order
    [case] = unit_cases([c], params())
    assert (case.anchor, case.start, case.end, case.days, case.active_grade, case.grades) == (
        c,
        d("2026-12-01"),
        d("2026-12-20"),
        20,  # 1-20 Dec
        50,  # 5 Dec is in 4-20 Dec
        (100, 50),
    )
    assert not case.recently_ended and case.certificate_count == 1


@pytest.mark.parametrize("late_ends", ["2026-12-10", "2027-01-31"])  # before and after the other one
def test_of_several_active_certificates_the_latest_signed_is_the_anchor_and_the_other_still_links(late_ends):
    early = cert("early", ("2026-12-01", "2026-12-31", 100), signed="2026-11-30T08:00", doctor="DOCTOR-1")
    late = cert("late", ("2026-12-05", late_ends, 25), signed="2026-12-04T08:00", doctor="DOCTOR-2")
    [case] = unit_cases([early, late], params())
    assert case.anchor is late and case.active_grade == 25 and case.grades == (25,)
    assert ids(case.certificates) == ["early", "late"] and case.doctor_id == "DOCTOR-2"
    # 1-31 Dec (31), or 1 Dec-31 Jan (31 + 31).
    expected_days = 31 if late_ends == "2026-12-10" else 62
    assert (case.start, case.end, case.days) == (d("2026-12-01"), max(d("2026-12-31"), d(late_ends)), expected_days)


def test_of_active_certificates_signed_at_the_same_time_the_one_that_ends_first_is_the_anchor():
    longer = cert("longer", ("2026-12-01", "2026-12-31", 100), signed="2026-11-30T08:00")
    shorter = cert("shorter", ("2026-12-01", "2026-12-15", 50), signed="2026-11-30T08:00")
    [case] = unit_cases([longer, shorter], params())
    assert case.anchor is shorter


def test_who_where_and_what_come_from_the_anchor():
    earlier = cert("earlier", ("2026-11-01", "2026-11-30", 100), doctor="DOCTOR-1", unit="UNIT-1", diagnosis="M54")
    anchor = cert(
        "anchor",
        ("2026-12-01", "2026-12-31", 50),
        doctor="DOCTOR-2",
        unit="UNIT-2",
        diagnosis="f32.1",
        employment=("NUVARANDE_ARBETE",),
    )
    [case] = unit_cases([earlier, anchor], params())
    assert (case.doctor_id, case.doctor_name, case.care_unit_id, case.care_unit_name) == (
        "DOCTOR-2",
        "Läkare DOCTOR-2",
        "UNIT-2",
        "Enheten UNIT-2",
    )
    assert (case.diagnosis, case.diagnosis_code, case.employment) == ("f32.1", "F321", ("NUVARANDE_ARBETE",))
    assert (case.patient_id, case.patient_name, case.care_giver_id) == (TOLVAN, "Tolvan Tolvansson", "GIVER-1")
    assert case.certificate_ids == ("earlier", "anchor") and case.certificate_count == 2


def test_extension_right_and_left_stops_at_the_first_gap_wider_than_the_parameter():
    # gap 5: a next start up to end + 6 days still links.
    far_left = cert("far-left", ("2026-10-01", "2026-10-10", 100))  # ends 10 Oct; "left" starts 1 Nov: too far
    left = cert("left", ("2026-11-01", "2026-11-24", 100))  # ends 24 Nov; anchor starts 30 Nov = 24 Nov + 6: links
    anchor = cert("anchor", ("2026-11-30", "2026-12-10", 50))
    right = cert("right", ("2026-12-16", "2026-12-31", 25))  # starts 16 Dec = 10 Dec + 6: links
    far_right = cert("far-right", ("2027-01-07", "2027-01-20", 25))  # 31 Dec + 6 = 6 Jan < 7 Jan: does not
    [case] = unit_cases([far_right, anchor, far_left, right, left], params(gap=5))
    assert ids(case.certificates) == ["left", "anchor", "right"]
    assert (case.start, case.end) == (d("2026-11-01"), d("2026-12-31"))
    # 1-24 Nov (24) + 30 Nov-10 Dec (11) + 16-31 Dec (16) = 51.
    assert case.days == 51


def test_a_gap_one_day_too_wide_splits():
    anchor = cert("anchor", ("2026-12-01", "2026-12-10", 100))
    left = cert("left", ("2026-11-01", "2026-11-24", 100))  # 24 Nov + 6 = 30 Nov < 1 Dec: not linked at gap 5
    [case] = unit_cases([left, anchor], params(gap=5))
    assert ids(case.certificates) == ["anchor"] and case.days == 10
    [wider] = unit_cases([left, anchor], params(gap=6))  # 24 Nov + 7 = 1 Dec: linked
    assert ids(wider.certificates) == ["left", "anchor"] and wider.days == 24 + 10


def test_a_gap_of_zero_links_only_the_next_day():
    anchor = cert("anchor", ("2026-12-01", "2026-12-10", 100))
    next_day = cert("next-day", ("2026-12-11", "2026-12-20", 50))
    [case] = unit_cases([anchor, next_day], params(gap=0))
    assert ids(case.certificates) == ["anchor", "next-day"] and case.days == 20
    a_day_off = cert("a-day-off", ("2026-12-12", "2026-12-20", 50))
    [case] = unit_cases([anchor, a_day_off], params(gap=0))
    assert ids(case.certificates) == ["anchor"]


def test_right_and_left_of_the_anchor_follow_the_end_so_a_certificate_inside_it_does_not_cut_the_chain():
    anchor = cert("anchor", ("2026-12-01", "2026-12-31", 100))
    inside = cert("inside", ("2026-12-06", "2026-12-10", 50))  # ends before the anchor: on its left
    later = cert("later", ("2027-01-03", "2027-01-20", 25))  # 31 Dec + 6 = 6 Jan >= 3 Jan: links to the anchor
    [case] = unit_cases([later, inside, anchor], params(gap=5))
    assert ids(case.certificates) == ["anchor", "inside", "later"]
    # 1-31 Dec (31; 6-10 Dec inside it) + 3-20 Jan (18) = 49.
    assert (case.start, case.end, case.days) == (d("2026-12-01"), d("2027-01-20"), 49)


def test_extending_right_measures_from_the_last_certificate_taken_not_the_furthest_end():
    anchor = cert("anchor", ("2026-12-01", "2026-12-31", 100))
    long = cert("long", ("2026-12-20", "2027-02-28", 50))  # 20 Dec <= 31 Dec + 6: taken; compare 28 Feb
    short = cert("short", ("2027-01-02", "2027-01-10", 50))  # 2 Jan <= 28 Feb + 6: taken; compare 10 Jan
    overlapping = cert("overlapping", ("2027-02-20", "2027-03-10", 25))  # 20 Feb > 10 Jan + 6 = 16 Jan: stop
    [case] = unit_cases([overlapping, short, long, anchor], params(gap=5))
    assert ids(case.certificates) == ["anchor", "long", "short"]
    # 1 Dec 2026-28 Feb 2027: 31 + 31 + 28 = 90.
    assert (case.end, case.days) == (d("2027-02-28"), 90)


def test_extending_left_starts_from_the_earliest_start_taken_on_the_right():
    anchor = cert("anchor", ("2026-12-03", "2026-12-10", 50), signed="2026-12-02T08:00")
    # Active too but signed earlier, and it ends after the anchor: on its right, starting 20 Nov.
    around = cert("around", ("2026-11-20", "2026-12-31", 100), signed="2026-11-19T08:00")
    # Ends 15 Nov: 20 Nov - 6 = 14 Nov <= 15 Nov links it; from the anchor's 3 Dec it would not (27 Nov).
    left = cert("left", ("2026-11-01", "2026-11-15", 100))
    [case] = unit_cases([left, around, anchor], params(gap=5))
    assert case.anchor is anchor and case.active_grade == 50
    assert ids(case.certificates) == ["left", "around", "anchor"]
    # 1-15 Nov (15) + 20 Nov-31 Dec (11 + 31 = 42) = 57.
    assert (case.start, case.end, case.days) == (d("2026-11-01"), d("2026-12-31"), 57)


def test_a_recently_ended_case_is_anchored_on_the_first_to_end_and_has_no_grade_today():
    first = cert("first", ("2026-11-20", "2026-11-30", 75))  # ended 5 days before 5 Dec
    second = cert("second", ("2026-12-02", "2026-12-03", 25))  # ended 2 days before; 2 Dec <= 30 Nov + 6
    assert unit_cases([first, second], params(since_end=1)) == []
    [case] = unit_cases([second, first], params(since_end=5))
    assert case.anchor is first and case.active_grade is None and case.recently_ended
    assert case.grades == (75,) and ids(case.certificates) == ["first", "second"]
    # 20-30 Nov (11) + 2-3 Dec (2) = 13.
    assert (case.start, case.end, case.days) == (d("2026-11-20"), d("2026-12-03"), 13)
    # At 4 days the first no longer counts as recently ended; the second anchors and links it on the left.
    [case] = unit_cases([first, second], params(since_end=4))
    assert case.anchor is second and ids(case.certificates) == ["first", "second"]


def test_an_active_certificate_beats_a_recently_ended_one_as_anchor():
    ended = cert("ended", ("2026-11-01", "2026-12-03", 100), signed="2026-12-01T08:00")
    active = cert("active", ("2026-12-05", "2026-12-20", 50), signed="2026-11-01T08:00")
    [case] = unit_cases([ended, active], params(since_end=5))
    assert case.anchor is active and case.active_grade == 50


def test_a_negative_gap_gives_nothing():
    assert unit_cases([cert("a", ("2026-12-01", "2026-12-31", 100))], params(gap=-1)) == []
    assert patient_cases([cert("a", ("2026-12-01", "2026-12-31", 100))], params(gap=-1)) == []


def test_a_huge_gap_links_everything_without_overflowing_the_calendar():
    old = cert("old", ("2000-01-01", "2000-01-31", 100))
    anchor = cert("anchor", ("2026-12-01", "2026-12-31", 100))
    [case] = unit_cases([old, anchor], params(gap=2**31 - 1))
    assert ids(case.certificates) == ["old", "anchor"] and case.days == 31 + 31
    [chained] = patient_cases([old, anchor], params(gap=2**31 - 1))
    assert chained.days == 62


def test_patients_are_kept_apart_and_listed_by_id():
    cases = unit_cases(
        [
            cert("b", ("2026-12-01", "2026-12-31", 100), patient=LILLTOLVAN),
            cert("a", ("2026-12-01", "2026-12-31", 100), patient=TOLVAN),
        ],
        params(),
    )
    assert [(c.patient_id, ids(c.certificates)) for c in cases] == [(TOLVAN, ["a"]), (LILLTOLVAN, ["b"])]


# -- the ListSickLeavesForCare filter (§1.11) ----------------------------------------------------


def test_the_length_filter_keeps_min_days_and_leaves_out_max_days():
    ten = unit_cases([cert("ten", ("2026-12-01", "2026-12-10", 100), doctor="DOCTOR-1")], params())
    assert ten[0].days == 10
    assert filter_cases(ten, CaseFilter(min_days=10)) == ten
    assert filter_cases(ten, CaseFilter(min_days=11)) == []
    assert filter_cases(ten, CaseFilter(max_days=10)) == []  # exclusive
    assert filter_cases(ten, CaseFilter(max_days=11)) == ten
    assert filter_cases(ten, CaseFilter()) == ten


def test_the_doctor_filter_keeps_the_cases_whose_anchor_one_of_them_signed():
    cases = unit_cases(
        [
            cert("a", ("2026-12-01", "2026-12-31", 100), doctor="DOCTOR-1", patient=TOLVAN),
            cert("b", ("2026-12-01", "2026-12-31", 100), doctor="DOCTOR-2", patient=LILLTOLVAN),
        ],
        params(),
    )
    assert [c.doctor_id for c in filter_cases(cases, CaseFilter(doctor_ids=("DOCTOR-2",)))] == ["DOCTOR-2"]
    assert len(filter_cases(cases, CaseFilter(doctor_ids=("DOCTOR-1", "DOCTOR-2")))) == 2
    assert filter_cases(cases, CaseFilter(doctor_ids=("DOCTOR-3",))) == []


# -- per patient (§5.3 "Patient") ----------------------------------------------------------------


def test_a_patients_certificates_chain_over_small_gaps_latest_case_first_future_left_out():
    a = cert("a", ("2026-06-01", "2026-06-30", 100), diagnosis="M54")
    b = cert("b", ("2026-07-03", "2026-07-31", 50), diagnosis="M54")  # 30 Jun + 6 = 6 Jul >= 3 Jul: joins
    c = cert("c", ("2026-11-15", "2026-12-20", 25), signed="2026-11-14T09:00", diagnosis="F32")
    future = cert("future", ("2027-03-01", "2027-03-31", 100))  # starts after today: left out
    second, first = patient_cases([future, c, a, b], params(gap=5))
    assert ids(second.certificates) == ["c"]
    # 15 Nov-20 Dec: 16 + 20 = 36.
    assert (second.start, second.end, second.diagnosis, second.days) == (d("2026-11-15"), d("2026-12-20"), "F32", 36)
    assert ids(first.certificates) == ["b", "a"]  # latest start first
    # 1-30 Jun (30) + 3-31 Jul (29) = 59.
    assert (first.start, first.end, first.days) == (d("2026-06-01"), d("2026-07-31"), 59)


def test_a_case_that_starts_today_is_kept():
    [case] = patient_cases([cert("a", ("2026-12-05", "2026-12-20", 100))], params())
    assert case.start == TODAY


def test_chaining_measures_from_the_certificate_just_before_so_cases_can_overlap():
    # By start: long (1 Jan), inside (5 Jan), late (1 Mar). "late" is measured from "inside"'s 10 Jan:
    # 10 Jan + 6 = 16 Jan < 1 Mar, a new case, although "long" runs to 31 Mar.
    long = cert("long", ("2026-01-01", "2026-03-31", 100))
    inside = cert("inside", ("2026-01-05", "2026-01-10", 50))
    late = cert("late", ("2026-03-01", "2026-03-05", 25))
    second, first = patient_cases([late, inside, long], params(gap=5))
    assert ids(second.certificates) == ["late"] and ids(first.certificates) == ["inside", "long"]
    assert (first.end, second.start) == (d("2026-03-31"), d("2026-03-01"))
    # 1 Jan-31 Mar: 31 + 28 + 31 = 90.
    assert first.days == 90


def test_the_diagnosis_is_the_latest_signed_active_certificates_or_else_the_latest_signeds():
    older_active = cert("a", ("2026-12-01", "2026-12-31", 100), signed="2026-11-30T08:00", diagnosis="F32")
    newer_ended = cert("b", ("2026-11-25", "2026-12-03", 50), signed="2026-12-02T08:00", diagnosis="J06.9")
    [case] = patient_cases([older_active, newer_ended], params())
    assert case.diagnosis == "F32"
    [past] = patient_cases([newer_ended], params())
    assert (past.diagnosis, past.diagnosis_code) == ("J06.9", "J069")


def test_the_patient_is_named_as_on_the_earliest_certificate():
    earlier = cert("a", ("2026-11-01", "2026-11-30", 100), patient_name="Tolvan Tolvansson")
    renamed = cert("b", ("2026-12-01", "2026-12-31", 100), patient_name="Tolvan Elvansson")
    [case] = patient_cases([renamed, earlier], params())
    assert (case.patient_id, case.patient_name, case.certificate_count) == (TOLVAN, "Tolvan Tolvansson", 2)


def test_the_per_patient_chaining_refuses_two_patients():
    with pytest.raises(ValueError):
        patient_cases(
            [
                cert("a", ("2026-12-01", "2026-12-31", 100)),
                cert("b", ("2026-12-01", "2026-12-31", 100), patient=LILLTOLVAN),
            ],
            params(),
        )


# -- properties ----------------------------------------------------------------------------------

EPOCH = dt.date(2026, 1, 1)
FAR_FUTURE = dt.date(2030, 1, 1)
FAST = settings(max_examples=80, deadline=None)


@st.composite
def certificates(draw, patients=(TOLVAN,)) -> list[SickLeaveCertificate]:
    out = []
    for n in range(draw(st.integers(1, 7))):
        periods = []
        for _ in range(draw(st.integers(1, 3))):
            start = EPOCH + dt.timedelta(days=draw(st.integers(0, 150)))
            end = start + dt.timedelta(days=draw(st.integers(0, 30)))
            periods.append((start.isoformat(), end.isoformat(), draw(st.sampled_from([25, 50, 75, 100]))))
        # Few signing times, so equal ones happen.
        signed = f"2026-01-01T{draw(st.integers(0, 3)):02d}:00"
        out.append(cert(f"c{n}", *periods, signed=signed, patient=draw(st.sampled_from(patients))))
    return out


@st.composite
def renewals(draw) -> list[SickLeaveCertificate]:
    """Certificates that follow one another: each starts and ends no earlier than the one before."""
    out, start, end = [], EPOCH, EPOCH
    for n in range(draw(st.integers(1, 7))):
        start = start + dt.timedelta(days=draw(st.integers(0, 20)))
        end = max(end, start) + dt.timedelta(days=draw(st.integers(0, 20)))
        out.append(cert(f"r{n}", (start.isoformat(), end.isoformat(), 100), signed=f"2026-01-01T{n:02d}:00"))
    return out


def covered(certs) -> set[dt.date]:
    return {p.start + dt.timedelta(days=i) for c in certs for p in c.periods for i in range((p.end - p.start).days + 1)}


def one_cluster(certs, gap: int) -> bool:
    reached = None
    for c in sorted(certs, key=lambda c: c.start):
        if reached is not None and (c.start - reached).days > gap + 1:
            return False
        reached = c.end if reached is None else max(reached, c.end)
    return True


@FAST
@given(certificates(), st.integers(0, 30))
def test_chaining_a_patient_never_loses_a_day_or_counts_one_twice(certs, gap):
    cases = patient_cases(certs, Parameters(FAR_FUTURE, gap))
    assert sorted(ids(c for case in cases for c in case.certificates)) == sorted(ids(certs))
    for case in cases:
        days = covered(case.certificates)
        assert case.days == len(days)
        assert all(case.start <= day <= case.end for day in days)
        assert case.start in days and case.end in days
    assert covered([c for case in cases for c in case.certificates]) == covered(certs)


@FAST
@given(certificates(), st.integers(0, 30), st.integers(0, 30))
def test_a_larger_gap_never_yields_more_cases(certs, gap, more):
    assert len(patient_cases(certs, Parameters(FAR_FUTURE, gap + more))) <= len(
        patient_cases(certs, Parameters(FAR_FUTURE, gap))
    )


@FAST
@given(certificates(), st.integers(0, 30))
def test_a_patients_consecutive_cases_are_more_than_the_gap_apart(certs, gap):
    # Measured, as the chaining is, from the latest-starting certificate of the earlier case.
    later_first = patient_cases(certs, Parameters(FAR_FUTURE, gap))
    for later, earlier in pairwise(later_first):
        assert (later.start - earlier.certificates[0].end).days > gap + 1


@FAST
@given(renewals(), st.integers(0, 30))
def test_cases_of_one_patient_never_overlap_when_certificates_follow_one_another(certs, gap):
    cases = sorted(patient_cases(certs, Parameters(FAR_FUTURE, gap)), key=lambda c: c.start)
    for earlier, later in pairwise(cases):
        assert (later.start - earlier.end).days > gap + 1


@FAST
@given(certificates(patients=(TOLVAN, LILLTOLVAN)), st.integers(0, 30), st.integers(0, 160), st.integers(0, 14))
def test_a_unit_case_is_one_linked_cluster_around_its_anchor_and_counts_each_day_once(certs, gap, day, since_end):
    today = EPOCH + dt.timedelta(days=day)
    cases = unit_cases(certs, Parameters(today, gap, since_end))
    expected = {c.patient_id for c in certs if c.active_on(today) or c.recently_ended(today, since_end)}
    assert [case.patient_id for case in cases] == sorted(expected)
    for case in cases:
        assert case.anchor in case.certificates
        assert all(c.patient_id == case.patient_id for c in case.certificates)
        assert case.anchor.active_on(today) or case.anchor.recently_ended(today, since_end)
        assert (case.active_grade is None) == (not case.anchor.active_on(today))
        days = covered(case.certificates)
        assert case.days == len(days)
        assert (min(days), max(days)) == (case.start, case.end)
        assert one_cluster(case.certificates, gap)


@FAST
@given(certificates(), st.integers(0, 30), st.integers(0, 30), st.integers(0, 160))
def test_a_larger_gap_never_drops_a_certificate_from_a_unit_case(certs, gap, more, day):
    today = EPOCH + dt.timedelta(days=day)
    narrow = {case.patient_id: set(case.certificate_ids) for case in unit_cases(certs, Parameters(today, gap, 5))}
    wide = {case.patient_id: set(case.certificate_ids) for case in unit_cases(certs, Parameters(today, gap + more, 5))}
    assert narrow.keys() == wide.keys()
    assert all(narrow[p] <= wide[p] for p in narrow)


@FAST
@given(certificates(patients=(TOLVAN, LILLTOLVAN)), st.integers(0, 30), st.integers(0, 160), st.randoms())
def test_the_order_certificates_arrive_in_changes_nothing(certs, gap, day, random):
    today = EPOCH + dt.timedelta(days=day)
    shuffled = list(certs)
    random.shuffle(shuffled)
    assert unit_cases(shuffled, Parameters(today, gap, 3)) == unit_cases(certs, Parameters(today, gap, 3))
    for patient in (TOLVAN, LILLTOLVAN):
        mine = [c for c in certs if c.patient_id == patient]
        theirs = [c for c in shuffled if c.patient_id == patient]
        assert patient_cases(theirs, Parameters(today, gap)) == patient_cases(mine, Parameters(today, gap))


def test_periods_without_gaps_cover_every_day_of_their_span():
    p = lambda a, b: WorkCapacity(d(a), d(b), 100)  # noqa: E731
    assert without_gaps([p("2026-12-01", "2026-12-04"), p("2026-12-05", "2026-12-20")])
    assert without_gaps([p("2026-12-05", "2026-12-20"), p("2026-12-01", "2026-12-10")])  # overlapping, unordered
    assert not without_gaps([p("2026-12-01", "2026-12-04"), p("2026-12-06", "2026-12-20")])  # 5 December missing
    assert not without_gaps(
        [p("2026-12-01", "2026-12-10"), p("2026-12-02", "2026-12-03"), p("2026-12-12", "2026-12-20")]
    )
    assert not without_gaps([])


_spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), min_size=1, max_size=5)


@given(_spans)
def test_without_gaps_is_the_span_being_all_covered_days(spans):
    # The stored flag lets a unit's list skip the periods: it must agree with counting the days.
    periods = [WorkCapacity(TODAY + dt.timedelta(days=a), TODAY + dt.timedelta(days=a + n), 50) for a, n in spans]
    span = (max(p.end for p in periods) - min(p.start for p in periods)).days + 1
    assert without_gaps(periods) == (days_covered(periods) == span)
