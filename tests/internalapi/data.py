"""Certificates for the internal API's tests, registered over SOAP as a care system registers them."""

from __future__ import annotations

import datetime as dt
import uuid

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.fresh import TODAY, day, new_hsa, new_person
from tests.support.soapclient import GatewayClient

__all__ = ["TODAY", "day", "new_hsa", "new_person", "register"]


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
