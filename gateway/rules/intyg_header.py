"""Who an intyg is for, who signed it, where and when: its header, read the same way from every source.

A RegisterCertificate request and a certificate the certificate-service holds
carry the same ``intyg``; reading both here gives the sick-leave lists the same
row whichever way the certificate came.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from intygsgw import ns

_C = f"{{{ns.CORE}}}"
_T = f"{{{ns.TYPES}}}"


@dataclass(frozen=True)
class IntygHeader:
    certificate_id: str
    type_code: str
    version: str
    person_id: str  # as written; parsing it is the caller's decision
    signed_at: dt.datetime | None
    care_unit_id: str
    care_unit_name: str
    care_giver_id: str
    doctor_id: str
    doctor_name: str


def read_intyg_header(intyg) -> IntygHeader:
    """The header of ``intyg``; missing elements read as empty. Raises ValueError for an unreadable signing time."""
    skapad_av = intyg.find(f"{_C}skapadAv")
    enhet = skapad_av.find(f"{_C}enhet") if skapad_av is not None else None
    signed = intyg.findtext(f"{_C}signeringstidpunkt")
    return IntygHeader(
        certificate_id=_text(intyg, f"{_C}intygs-id/{_T}extension"),
        type_code=_text(intyg, f"{_C}typ/{_T}code"),
        version=_text(intyg, f"{_C}version"),
        person_id=_text(intyg, f"{_C}patient/{_C}person-id/{_T}extension"),
        signed_at=dt.datetime.fromisoformat(signed.strip()) if signed else None,
        care_unit_id=_text(enhet, f"{_C}enhets-id/{_T}extension"),
        care_unit_name=_text(enhet, f"{_C}enhetsnamn"),
        care_giver_id=_text(enhet, f"{_C}vardgivare/{_C}vardgivare-id/{_T}extension"),
        doctor_id=_text(skapad_av, f"{_C}personal-id/{_T}extension"),
        doctor_name=_text(skapad_av, f"{_C}fullstandigtNamn"),
    )


def _text(element, path: str) -> str:
    if element is None:
        return ""
    value = element.findtext(path)
    return value.strip() if value is not None else ""
