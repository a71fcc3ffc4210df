"""The sick-leave engine, rule by rule, with the expected dates worked out by hand (hub-behaviour §5.3)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from intygsgw.domain.sick_leave import (
    Parameters,
    SickLeaveCertificate,
    WorkCapacity,
    days_covered,
    patient_cases,
    unit_cases,
)

TODAY = dt.date(2026, 12, 5)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def cert(
    cid: str,
    *periods: tuple[str, str, int],
    patient: str = "191212121212",
    signed: str = "2026-11-01T10:00",
    diagnosis: str = "F32",
) -> SickLeaveCertificate:
    return SickLeaveCertificate(
        certificate_id=cid,
        patient_id=patient,
        patient_name="Tolvan Tolvansson",
        care_giver_id="VG",
        care_unit_id="VE",
        care_unit_name="Enheten",
        doctor_id="L",
        doctor_name="Läkaren",
        signed_at=dt.datetime.fromisoformat(signed),
        diagnosis=diagnosis,
        periods=tuple(WorkCapacity(d(s), d(e), g) for s, e, g in periods),
    )


def params(gap: int = 5, since_end: int = 0, today: dt.date = TODAY) -> Parameters:
    return Parameters(today=today, max_gap=gap, max_days_since_end=since_end)


# -- a certificate on its own ------------------------------------------------------------


def test_days_are_inclusive_and_overlaps_count_once():
    assert days_covered([WorkCapacity(d("2026-12-01"), d("2026-12-01"), 100)]) == 1
    # 1-10 and 5-14 overlap on 5-10: the union is 1-14, 14 days.
    assert (
        days_covered(
            [WorkCapacity(d("2026-12-01"), d("2026-12-10"), 100), WorkCapacity(d("2026-12-05"), d("2026-12-14"), 50)]
        )
        == 14
    )
    # 1-3 and 7-9 with a hole: 3 + 3.
    assert (
        days_covered(
            [WorkCapacity(d("2026-12-07"), d("2026-12-09"), 25), WorkCapacity(d("2026-12-01"), d("2026-12-03"), 25)]
        )
        == 6
    )


def test_recently_ended_counts_max_days_since_end_days_after_the_end():
    c = cert("a", ("2026-11-20", "2026-12-01", 100))  # ended four days before today
    assert not c.active_on(TODAY)
    assert c.recently_ended(TODAY, 4) and not c.recently_ended(TODAY, 3)


# -- per care unit -----------------------------------------------------------------------


def test_a_patient_with_nothing_active_or_recently_ended_has_no_case():
    assert unit_cases([cert("old", ("2026-10-01", "2026-10-31", 100))], params()) == []


def test_the_active_certificate_is_the_anchor_with_its_grade_today():
    c = cert("a", ("2026-12-01", "2026-12-03", 100), ("2026-12-04", "2026-12-20", 50))
    [case] = unit_cases([c], params())
    assert (case.anchor, case.start, case.end, case.days, case.active_grade) == (
        c,
        d("2026-12-01"),
        d("2026-12-20"),
        20,
        50,
    )
    assert [p.grade for p in case.grades] == [100, 50]


def test_of_several_active_certificates_the_latest_signed_is_the_anchor():
    early = cert("early", ("2026-12-01", "2026-12-31", 100), signed="2026-11-30T08:00")
    late = cert("late", ("2026-12-05", "2026-12-10", 25), signed="2026-12-04T08:00")
    [case] = unit_cases([early, late], params())
    assert case.anchor is late and case.active_grade == 25


def test_extension_right_and_left_stops_at_the_first_gap_wider_than_the_parameter():
    # gap 5: a next start up to end + 6 days still links.
    far_left = cert("far-left", ("2026-10-01", "2026-10-10", 100))  # ends 10 Oct; next starts 1 Nov: 22 days
    left = cert("left", ("2026-11-01", "2026-11-24", 100))  # ends 24 Nov; anchor starts 30 Nov: 6 days, links
    anchor = cert("anchor", ("2026-11-30", "2026-12-10", 50))
    right = cert("right", ("2026-12-16", "2026-12-31", 25))  # starts 16 Dec = 10 Dec + 6: links
    far_right = cert("far-right", ("2027-01-08", "2027-01-20", 25))  # 31 Dec + 6 = 6 Jan < 8 Jan: does not
    [case] = unit_cases([far_right, anchor, far_left, right, left], params(gap=5))
    assert [c.certificate_id for c in case.certificates] == ["left", "anchor", "right"]
    assert (case.start, case.end) == (d("2026-11-01"), d("2026-12-31"))
    # Days: 1-24 Nov (24) + 30 Nov-10 Dec (11) + 16-31 Dec (16) = 51.
    assert case.days == 51


def test_a_gap_one_day_too_wide_splits_and_the_case_counts_only_its_last_cluster_days():
    anchor = cert("anchor", ("2026-12-01", "2026-12-10", 100))
    left = cert("left", ("2026-11-01", "2026-11-24", 100))  # 24 Nov + 6 = 30 Nov < 1 Dec: not linked at gap 5
    [case] = unit_cases([left, anchor], params(gap=5))
    assert [c.certificate_id for c in case.certificates] == ["anchor"] and case.days == 10
    [wider] = unit_cases([left, anchor], params(gap=6))
    assert [c.certificate_id for c in wider.certificates] == ["left", "anchor"] and wider.days == 34


def test_a_recently_ended_case_has_no_grade_today():
    c = cert("ended", ("2026-11-20", "2026-12-02", 75))
    assert unit_cases([c], params(since_end=0)) == []
    [case] = unit_cases([c], params(since_end=3))
    assert case.anchor is c and case.active_grade is None


def test_a_negative_gap_gives_nothing():
    assert unit_cases([cert("a", ("2026-12-01", "2026-12-31", 100))], params(gap=-1)) == []
    assert patient_cases([cert("a", ("2026-12-01", "2026-12-31", 100))], params(gap=-1)) == []


def test_patients_are_kept_apart():
    cases = unit_cases(
        [
            cert("a", ("2026-12-01", "2026-12-31", 100), patient="191212121212"),
            cert("b", ("2026-12-01", "2026-12-31", 100), patient="195206172339"),
        ],
        params(),
    )
    assert sorted(c.patient_id for c in cases) == ["191212121212", "195206172339"]


# -- per patient --------------------------------------------------------------------------


def test_a_patients_certificates_chain_over_small_gaps_latest_case_first():
    a = cert("a", ("2026-06-01", "2026-06-30", 100), diagnosis="M54")
    b = cert("b", ("2026-07-03", "2026-07-31", 50), diagnosis="M54")  # 30 Jun + 6 = 6 Jul: joins
    c = cert("c", ("2026-11-15", "2026-12-20", 25), signed="2026-11-14T09:00", diagnosis="F32")
    future = cert("future", ("2027-03-01", "2027-03-31", 100))
    second, first = patient_cases([future, c, a, b], params(gap=5))
    assert [x.certificate_id for x in second.certificates] == ["c"]  # latest first
    assert (second.start, second.end, second.diagnosis, second.days) == (d("2026-11-15"), d("2026-12-20"), "F32", 36)
    assert [x.certificate_id for x in first.certificates] == ["b", "a"]
    assert (first.start, first.end, first.days) == (d("2026-06-01"), d("2026-07-31"), 59)


def test_the_diagnosis_is_the_active_certificates_or_else_the_latest_signed():
    older_active = cert("a", ("2026-12-01", "2026-12-31", 100), signed="2026-11-30T08:00", diagnosis="F32")
    newer_ended = cert("b", ("2026-11-25", "2026-12-03", 50), signed="2026-12-02T08:00", diagnosis="J06")
    [case] = patient_cases([older_active, newer_ended], params())
    assert case.diagnosis == "F32"
    [past] = patient_cases([newer_ended], params())
    assert past.diagnosis == "J06"


# -- properties ---------------------------------------------------------------------------

EPOCH = dt.date(2026, 1, 1)


@st.composite
def certificates(draw) -> list[SickLeaveCertificate]:
    out = []
    for n in range(draw(st.integers(1, 8))):
        periods = []
        for _ in range(draw(st.integers(1, 3))):
            start = EPOCH + dt.timedelta(days=draw(st.integers(0, 200)))
            periods.append(
                (
                    start.isoformat(),
                    (start + dt.timedelta(days=draw(st.integers(0, 40)))).isoformat(),
                    draw(st.sampled_from([25, 50, 75, 100])),
                )
            )
        out.append(cert(f"c{n}", *periods, signed=f"2026-01-01T{n:02d}:00"))
    return out


def covered(certs) -> set[dt.date]:
    return {p.start + dt.timedelta(days=i) for c in certs for p in c.periods for i in range((p.end - p.start).days + 1)}


@settings(max_examples=200, deadline=None)
@given(certificates(), st.integers(0, 30))
def test_chaining_a_patient_never_loses_a_day_or_counts_one_twice(certs, gap):
    far_future = Parameters(today=dt.date(2030, 1, 1), max_gap=gap)
    cases = patient_cases(certs, far_future)
    assert sorted(c.certificate_id for case in cases for c in case.certificates) == sorted(
        c.certificate_id for c in certs
    )
    for case in cases:
        assert case.days == len(covered(case.certificates))
    assert covered([c for case in cases for c in case.certificates]) == covered(certs)


@settings(max_examples=200, deadline=None)
@given(certificates(), st.integers(0, 30), st.integers(0, 30))
def test_a_larger_gap_never_yields_more_cases(certs, gap, more):
    far_future = dt.date(2030, 1, 1)
    assert len(patient_cases(certs, Parameters(far_future, gap + more))) <= len(
        patient_cases(certs, Parameters(far_future, gap))
    )


@settings(max_examples=200, deadline=None)
@given(certificates(), st.integers(0, 30), st.integers(0, 240))
def test_a_unit_case_links_its_anchor_and_counts_the_days_of_its_last_cluster(certs, gap, day):
    today = EPOCH + dt.timedelta(days=day)
    for case in unit_cases(certs, Parameters(today, gap, max_days_since_end=10)):
        assert case.anchor in case.certificates
        assert case.start <= case.anchor.start and case.end >= case.anchor.end
        assert 0 < case.days <= len(covered(case.certificates))
