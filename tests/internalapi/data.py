"""Certificates for the internal API's tests, registered over SOAP as a care system registers them."""

from __future__ import annotations

import datetime as dt
import functools
import uuid

from lxml import etree

from intygsgw.devtools import rules_corpus, samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.rules.catalog import DEFAULT_DIR
from intygsgw.rules.definitions import load_types
from tests.support.fresh import TODAY, day, new_hsa, new_person
from tests.support.soapclient import GatewayClient

__all__ = [
    "TODAY",
    "day",
    "new_hsa",
    "new_person",
    "register",
    "register_employer",
    "register_sample",
    "register_typed",
]


def register(
    soap: GatewayClient,
    person: str,
    *,
    unit: str = samples.CARE_UNIT,
    care_giver: str = samples.CARE_GIVER,
    doctor: str = samples.DOCTOR,
    signed: str | None = None,
    relation: tuple[str, str] | None = None,
    periods=None,
    extra_answers: tuple[str, ...] = (),
) -> str:
    cid = str(uuid.uuid4())
    periods = periods or (("HELT_NEDSATT", day(-10), day(5)), ("HALFTEN", day(6), day(20)))
    spec = CertificateSpec(
        certificate_id=cid,
        person_id=person,
        care_unit_id=unit,
        care_giver_id=care_giver,
        doctor_id=doctor,
        signed_at=signed or f"{day(-10)}T10:00:00",
        relation=relation,
        periods=tuple(periods),
        extra_answers=extra_answers,
    )
    result, _ = soap.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
    assert result.result.resultCode == "OK", result.result
    return cid


def revoke(soap: GatewayClient, cid: str, person: str) -> None:
    result, _ = soap.call_raw("RevokeCertificate", 2, samples.revoke_certificate(cid, person_id=person))
    assert result.result.resultCode == "OK", result.result


def set_status(soap: GatewayClient, cid: str, status: str, part: str = "INVANA", at: str | None = None) -> None:
    at = at or dt.datetime.now().replace(microsecond=0).isoformat()
    result, _ = soap.call_raw("SetCertificateStatus", 2, samples.set_certificate_status(cid, status, part, at))
    assert result.result.resultCode == "OK", result.result


_CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
_ICD10_SE = "1.2.752.116.1.1.1.1.3"


_TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"


@functools.cache
def _answers(type_id: str) -> tuple[str, ...]:
    """The answers of a valid certificate of the type (from the rules' own corpus), but its diagnoses."""
    return tuple(etree.tostring(s, encoding="unicode") for s in _corpus_svar(type_id, 0) if s.get("id") != "6")


def _corpus_svar(type_id: str, seed: int, major: str = "1") -> list:
    sample = rules_corpus.generate(_type_set().rules[(type_id, major)], 1, seed=seed)[0]
    return list(etree.fromstring(sample.xml).iter(f"{{{_CORE}}}svar"))


def _diagnoses(codes: tuple[str, ...]) -> str:
    """Svar 6 of a läkarutlåtande: the main diagnosis (6.2) and up to two more (6.4, 6.6), each described."""
    parts = "".join(
        f'<c:delsvar id="6.{2 * n + 1}">Beskrivning {n}</c:delsvar>'
        f'<c:delsvar id="6.{2 * n + 2}"><t:cv><t:code>{code}</t:code><t:codeSystem>{_ICD10_SE}</t:codeSystem>'
        f"</t:cv></c:delsvar>"
        for n, code in enumerate(codes)
    )
    return f'<c:svar id="6">{parts}</c:svar>'


def register_typed(
    soap: GatewayClient,
    person: str,
    type_code: str = "LUSE",
    *,
    unit: str = samples.CARE_UNIT,
    care_giver: str = samples.CARE_GIVER,
    doctor: str = samples.DOCTOR,
    signed: str | None = None,
    diagnoses: tuple[str, ...] = ("F321",),
) -> str:
    """Register a läkarutlåtande (LUSE, LUAE_NA, LUAE_FS) with these diagnosis codes; its id."""
    cid = str(uuid.uuid4())
    spec = CertificateSpec(
        certificate_id=cid,
        person_id=person,
        type_code=type_code,
        version="1.3",
        care_unit_id=unit,
        care_giver_id=care_giver,
        doctor_id=doctor,
        signed_at=signed or f"{day(-10)}T10:00:00",
        extra_answers=(*_answers(type_code.lower()), _diagnoses(diagnoses)),
    )
    result, _ = soap.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
    assert result.result.resultCode == "OK", result.result
    return cid


# A valid certificate to the employer from the corpus (the seed fixes how many periods and occupations it
# has), and the delsvar of its diagnosis, grades, periods and occupations.
_EMPLOYER = {
    "AG7804": (0, "6.2", "32.1", "32.2", "28.1"),
    "AG114": (1, "4.2", "7.1", "7.2", "1.1"),
}


def register_employer(
    soap: GatewayClient,
    person: str,
    type_code: str,
    *,
    periods: list[tuple[str, str, str]],
    occupations: list[str],
    diagnoses: tuple[str, ...] = ("F321",),
    unit: str = samples.CARE_UNIT,
    care_giver: str = samples.CARE_GIVER,
    doctor: str = samples.DOCTOR,
    signed: str | None = None,
) -> str:
    """Register an AG7804 or AG114 with these work-capacity periods (grade code, or percent for AG114,
    start, end), occupation codes and diagnoses; its id. AG7804 takes two periods, two occupations and
    up to three diagnoses, AG114 one of each (what the corpus certificate has room for)."""
    seed, diagnosis_id, grade_id, period_id, employment_id = _EMPLOYER[type_code]
    svar = _corpus_svar(type_code.lower(), seed)

    def delsvar(did: str) -> list:
        return [d for s in svar for d in s.iter(f"{{{_CORE}}}delsvar") if d.get("id") == did]

    grades, dates, jobs, [main] = delsvar(grade_id), delsvar(period_id), delsvar(employment_id), delsvar(diagnosis_id)
    assert len(grades) == len(dates) == len(periods) and len(jobs) == len(occupations), "not what the sample holds"
    for grade, date, (level, start, end) in zip(grades, dates, periods, strict=True):
        if type_code == "AG114":
            grade.find(f"{{{_TYPES}}}pq/{{{_TYPES}}}value").text = level
        else:
            grade.find(f"{{{_TYPES}}}cv/{{{_TYPES}}}code").text = level
        date.find(f"{{{_TYPES}}}datePeriod/{{{_TYPES}}}start").text = start
        date.find(f"{{{_TYPES}}}datePeriod/{{{_TYPES}}}end").text = end
    for job, code in zip(jobs, occupations, strict=True):
        job.find(f"{{{_TYPES}}}cv/{{{_TYPES}}}code").text = code
    main.find(f"{{{_TYPES}}}cv/{{{_TYPES}}}code").text = diagnoses[0]
    answers = [etree.tostring(s, encoding="unicode") for s in svar]
    if type_code == "AG7804":  # room for more diagnoses: svar 6 written anew
        answers = [a for a, s in zip(answers, svar, strict=True) if s.get("id") != "6"] + [_diagnoses(diagnoses)]
    cid = str(uuid.uuid4())
    spec = CertificateSpec(
        certificate_id=cid,
        person_id=person,
        type_code={"AG114": "AG1-14"}.get(type_code, type_code),
        version="1.0",
        care_unit_id=unit,
        care_giver_id=care_giver,
        doctor_id=doctor,
        signed_at=signed or f"{day(-10)}T10:00:00",
        extra_answers=tuple(answers),
    )
    result, _ = soap.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
    assert result.result.resultCode == "OK", result.result
    return cid


def register_sample(
    soap: GatewayClient,
    person: str,
    type_code: str,
    version: str,
    *,
    codes: dict[str, list[str]] | None = None,
    replace: dict[str, tuple[str, ...]] | None = None,
    signed: str | None = None,
) -> str:
    """Register a valid certificate of any type, built by the rules' own corpus; its id.

    ``codes``: the cv codes of these delsvar, in document order. ``replace``: the svar of each id
    swapped for the answers given (prefixes c: and t:; none: left out). The certificate is the
    corpus's first sample that holds as many of those delsvar and, so changed, passes the type's
    rules for this patient (some rules read the patient's birth date from the personnummer).
    """
    types = _type_set()
    ctype = types.catalog.by_code(type_code)
    assert ctype is not None, type_code
    codes, replace = codes or {}, replace or {}
    for seed in range(_SEEDS):
        svar = _corpus_svar(ctype.id, seed, version.split(".", 1)[0])
        if not _set_codes(svar, codes):
            continue
        # The schema refuses an answer without sub-answers, which the corpus writes at times.
        kept = [s for s in svar if s.get("id") not in replace]
        if any(not len(s) for s in kept):
            continue
        cid = str(uuid.uuid4())
        spec = CertificateSpec(
            certificate_id=cid,
            person_id=person,
            type_code=type_code,
            version=version,
            signed_at=signed or f"{day(-10)}T10:00:00",
            extra_answers=tuple(etree.tostring(s, encoding="unicode") for s in kept)
            + tuple(a for answers in replace.values() for a in answers),
        )
        request = samples.register_certificate(spec)
        if types.check(ctype.id, version, etree.fromstring(request).find(".//{*}intyg")):
            continue
        result, _ = soap.call_raw("RegisterCertificate", 3, request)
        assert result.result.resultCode == "OK", result.result
        return cid
    raise AssertionError(f"no {type_code} {version} in the first {_SEEDS} samples of the corpus fits")


_SEEDS = 200


def _set_codes(svar: list, codes: dict[str, list[str]]) -> bool:
    """Set the codes of these delsvar in document order; False when the answers hold another number of them."""
    for did, wanted in codes.items():
        found = [d for s in svar for d in s.iter(f"{{{_CORE}}}delsvar") if d.get("id") == did]
        if len(found) != len(wanted):
            return False
        for delsvar, code in zip(found, wanted, strict=True):
            delsvar.find(f"{{{_TYPES}}}cv/{{{_TYPES}}}code").text = code
    return True


@functools.cache
def _type_set():
    return load_types(DEFAULT_DIR)
