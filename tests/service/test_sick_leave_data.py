"""Sick-leave data is written with a certificate whose type feeds the sick-leave lists, and only then."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.domain.results import OK
from intygsgw.domain.sick_leave import WorkCapacity
from intygsgw.handlers.rehab_items import render_intygs_data
from intygsgw.interactions import REGISTER_CERTIFICATE_3
from intygsgw.service import certificates as lifecycle
from intygsgw.service import sick_leave
from tests.service.test_lifecycle import PATIENT
from tests.support.fakes import Fixed

INTYG = f"{{{REGISTER_CERTIFICATE_3.namespace}}}intyg"
SMITTBARARPENNING = '<c:svar id="27"><c:delsvar id="27.1">true</c:delsvar></c:svar>'


def command(
    cid: str,
    person: str = PATIENT,
    extra_svar: str = "",
    unit: str = "SE-UNIT-1",
    relation: tuple[str, str] | None = None,
    doctor: str = "SE-DOC-1",
    signed_at: dt.datetime = dt.datetime(2026, 11, 20, 10, 15),
    periods: tuple[tuple[str, str, str], ...] | None = None,
) -> lifecycle.RegisterCertificate:
    spec = CertificateSpec(certificate_id=cid, person_id=person)
    xml = samples.register_certificate(spec if periods is None else replace(spec, periods=periods))
    if extra_svar:
        xml = xml.replace(b"<c:svar ", extra_svar.encode() + b"<c:svar ", 1)
    intyg = etree.fromstring(xml).find(f".//{INTYG}")
    return lifecycle.RegisterCertificate(
        certificate_id=cid,
        type_code="LISJP",
        version="1.3",
        person_id=person,
        signed_at=signed_at,
        care_unit_id=unit,
        care_unit_name="Vårdenheten",
        care_giver_id="SE-GIVER-1",
        doctor_id=doctor,
        doctor_name="Doktor Ek",
        relation=relation,
        document=xml,
        namespaces={},
        parsed=intyg,
    )


def test_a_lisjp_is_written_with_its_diagnoses_employment_and_periods(svc):
    assert lifecycle.register_certificate(svc, command("sl-1")) == OK
    [(cert, deleted)] = svc.store.tables.sick_leave.values()
    assert not deleted
    assert (cert.certificate_id, cert.patient_id, cert.patient_name) == ("sl-1", PATIENT, "Tolvan Tolvansson")
    assert (cert.care_giver_id, cert.care_unit_id, cert.doctor_name) == ("SE-GIVER-1", "SE-UNIT-1", "Doktor Ek")
    assert (cert.diagnosis, cert.secondary_diagnoses, cert.employment) == ("M544", ("G479",), ("NUVARANDE_ARBETE",))
    # The sample's two periods: HELT_NEDSATT, then HALFTEN.
    assert cert.periods == (
        WorkCapacity(dt.date(2026, 11, 20), dt.date(2026, 12, 3), 100),
        WorkCapacity(dt.date(2026, 12, 4), dt.date(2026, 12, 31), 50),
    )


def test_a_revocation_marks_it_deleted(svc):
    lifecycle.register_certificate(svc, command("sl-2"))
    assert lifecycle.revoke_certificate(svc, "sl-2", PATIENT) == OK
    assert svc.store.tables.sick_leave["sl-2"][1] is True


@pytest.mark.parametrize("left_out", ["smittbararpenning", "validation person"])
def test_certificates_the_lists_leave_out_are_not_written(svc, left_out):
    cmd = (
        command("sl-3", extra_svar=SMITTBARARPENNING)
        if left_out == "smittbararpenning"
        else command("sl-3", person="194011306125")
    )
    assert lifecycle.register_certificate(svc, cmd) == OK
    assert svc.store.tables.sick_leave == {}


# -- the unit's list -------------------------------------------------------------------------
# The service clock reads 2026-12-01; the sample's periods are 20 Nov-3 Dec (100%) and 4-31 Dec (50%).


def listed(svc, units=("SE-UNIT-1",), gap: int = 5):
    return [
        (case.anchor.certificate_id, [c.certificate_id for c in case.certificates])
        for case in sick_leave.unit_sick_leaves(svc, "SE-GIVER-1", list(units), gap)
    ]


def test_a_units_active_sick_leave_is_listed_with_todays_grade(svc):
    lifecycle.register_certificate(svc, command("u-1"))
    [case] = sick_leave.unit_sick_leaves(svc, "SE-GIVER-1", ["SE-UNIT-1"], 5)
    assert (case.anchor.certificate_id, case.start, case.end, case.days, case.active_grade) == (
        "u-1",
        dt.date(2026, 11, 20),
        dt.date(2026, 12, 31),
        42,
        100,
    )
    assert listed(svc, units=("SE-UNIT-2",)) == []
    assert listed(svc, gap=-1) == []


def test_a_replaced_certificate_is_hidden_until_its_replacement_is_revoked(svc):
    lifecycle.register_certificate(svc, command("u-old"))
    lifecycle.register_certificate(svc, command("u-new", relation=("ERSATT", "u-old")))
    assert listed(svc) == [("u-new", ["u-new"])]
    lifecycle.revoke_certificate(svc, "u-new", PATIENT)
    assert listed(svc) == [("u-old", ["u-old"])]


# -- a care unit and its sub-units (the operator's file stands in for the reference's HSA) -----


def with_sub_units(svc, units: dict[str, tuple[str, ...]]):
    return replace(svc, sub_units=Fixed(units), render_sick_leave_item=render_intygs_data)


def test_a_care_unit_whose_certificates_are_all_on_its_sub_units_lists_them(svc):
    # The reference asks HSA for the unit's care giver, so a unit whose doctors all sign at its
    # mottagningar still has one, and its lists hold the mottagningar's sick leaves (§5.2).
    svc = with_sub_units(svc, {"SE-UNIT-MAIN": ("SE-UNIT-MOT1",)})
    lifecycle.register_certificate(svc, command("sub-1", unit="SE-UNIT-MOT1"))
    [case] = sick_leave.care_unit_cases(svc, "SE-UNIT-MAIN", 5)
    assert case.certificate_ids == ("sub-1",)
    [rehab] = sick_leave.rehab_sick_leaves(svc, "SE-UNIT-MAIN", None, 5, 0)
    assert rehab.certificate_ids == ("sub-1",)
    care_giver, items = sick_leave.unit_items(svc, "SE-UNIT-MAIN")
    assert care_giver == "SE-GIVER-1"
    assert [b"<r:intygsId>sub-1</r:intygsId>" in item for item in items] == [True]


# -- Rehabstöd's two passes (internal REST /sickleave/active and /filters) --------------------
# The service clock reads 2026-12-01; the sample's periods run 20 Nov to 31 Dec.

EARLIER = (("HELT_NEDSATT", "2026-10-01", "2026-11-17"),)


def test_a_sub_units_sick_leave_links_the_patients_certificates_on_the_whole_care_unit(svc):
    # The reference's first pass finds the patients on the sub-unit asked for; its second links
    # all their certificates on the care unit and its sub-units (§5.3, GetSickLeavesService).
    svc = with_sub_units(svc, {"SE-UNIT-MAIN": ("SE-UNIT-MOT1",)})
    lifecycle.register_certificate(svc, command("on-main", unit="SE-UNIT-MAIN", periods=EARLIER))
    lifecycle.register_certificate(svc, command("on-mot1", unit="SE-UNIT-MOT1"))
    [case] = sick_leave.rehab_sick_leaves(svc, "SE-UNIT-MAIN", "SE-UNIT-MOT1", 5, 0)
    assert (case.anchor.certificate_id, case.certificate_ids) == ("on-mot1", ("on-main", "on-mot1"))
    assert (case.start, case.days) == (dt.date(2026, 10, 1), 48 + 42)
    # Who is listed still comes from the sub-unit alone.
    assert sick_leave.rehab_sick_leaves(svc, "SE-UNIT-MAIN", "SE-UNIT-MOT2", 5, 0) == []


def test_a_doctors_filters_count_the_patients_with_a_certificate_of_theirs_active(svc):
    # The reference selects the doctor's certificates before the engine's first pass, so a
    # patient whose latest active certificate is another doctor's still counts for this one.
    lifecycle.register_certificate(svc, command("by-a", doctor="SE-DOC-A"))
    lifecycle.register_certificate(svc, command("by-b", doctor="SE-DOC-B", signed_at=dt.datetime(2026, 11, 25, 8, 0)))
    [case] = sick_leave.active_cases(svc, "SE-UNIT-1", None, 0, "SE-DOC-A")
    assert (case.doctor_id, case.certificate_ids) == ("SE-DOC-A", ("by-a",))
    [case] = sick_leave.active_cases(svc, "SE-UNIT-1", None, 0, None)
    assert case.doctor_id == "SE-DOC-B"


def test_a_doctors_patients_on_a_sub_unit_are_those_with_one_of_their_certificates_active_there(svc):
    # First pass: a certificate of the doctor's active on the sub-unit (the later one there is
    # another doctor's). Second pass: the case on the whole care unit, anchored on the doctor's
    # latest certificate on the care unit itself.
    svc = with_sub_units(svc, {"SE-UNIT-MAIN": ("SE-UNIT-MOT1",)})
    lifecycle.register_certificate(svc, command("mot1-a", unit="SE-UNIT-MOT1", doctor="SE-DOC-A"))
    lifecycle.register_certificate(
        svc,
        command("mot1-b", unit="SE-UNIT-MOT1", doctor="SE-DOC-B", signed_at=dt.datetime(2026, 11, 21, 8, 0)),
    )
    lifecycle.register_certificate(
        svc,
        command("main-a", unit="SE-UNIT-MAIN", doctor="SE-DOC-A", signed_at=dt.datetime(2026, 11, 22, 8, 0)),
    )
    [case] = sick_leave.rehab_sick_leaves(svc, "SE-UNIT-MAIN", "SE-UNIT-MOT1", 5, 0, ["SE-DOC-A"])
    assert (case.anchor.certificate_id, case.doctor_id) == ("main-a", "SE-DOC-A")
    assert sorted(case.certificate_ids) == ["main-a", "mot1-a", "mot1-b"]
