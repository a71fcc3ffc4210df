"""Handlers of the legacy insurance-process contracts (rivtabp20): SetCertificateStatus 1, ListCertificates 1.

Their requests carry plain strings (no II or CV wrappers), their answers a
ResultOfCall, and ListCertificates answers with the version 1 certificate
metadata (``urn:riv:insuranceprocess:certificate:1``).
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from intygsgw import ns
from intygsgw.clock import SWEDISH_TIME
from intygsgw.domain.results import OK
from intygsgw.domain.states import State, is_archived, newest_first
from intygsgw.handlers.context import Request
from intygsgw.handlers.responses import (
    add_result_of_call,
    format_timestamp,
    parse_timestamp,
    result_of_call_only,
    sub,
    text,
)
from intygsgw.service import certificates as service
from intygsgw.soap.faults import client_fault

META = ns.INSURANCE_CERTIFICATE
# Archiving is the citizen's; the version 1 status list never shows it.
_NOT_IN_V1 = (State.DELETED, State.RESTORED)


def _ns(req: Request, tag: str) -> str:
    return f"{{{req.contract.namespace}}}{tag}"


def _root(req: Request) -> etree._Element:
    return etree.Element(
        _ns(req, f"{req.contract.name}Response"),
        nsmap={"ns": req.contract.namespace, "hr": ns.HEALTHREPORTING, "meta": META},
    )


def _local_time(value: str) -> dt.datetime | None:
    """An xs:dateTime as Swedish wall-clock time, the way every stored timestamp is kept."""
    parsed = parse_timestamp(value)
    if parsed is None:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(SWEDISH_TIME).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def set_certificate_status(req: Request) -> etree._Element:
    result = service.set_certificate_state_for_patient(
        req.services,
        certificate_id=text(req.body, _ns(req, "certificateId")),
        person_id=text(req.body, _ns(req, "nationalIdentityNumber")),
        target=text(req.body, _ns(req, "target")),
        # The schema allows only the version 1 names, each the state of that name.
        state=State(text(req.body, _ns(req, "status"))),
        timestamp=_local_time(text(req.body, _ns(req, "timestamp"))),
    )
    return result_of_call_only(req.contract, result)


def _date(value: str) -> dt.date | None:
    # Not schema-validated (as in the reference): a date that does not parse is
    # a caller error, which this contract's transform answers as VALIDATION_ERROR.
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise client_fault(f"Unmarshalling Error: {value!r} is not a date (YYYY-MM-DD)") from None


def list_certificates(req: Request) -> etree._Element:
    listed = service.list_certificates(
        req.services,
        person_id=text(req.body, _ns(req, "nationalIdentityNumber")),
        type_codes=[t for t in (text(el, ".") for el in req.body.findall(_ns(req, "certificateType"))) if t],
        from_date=_date(text(req.body, _ns(req, "fromDate"))),
        to_date=_date(text(req.body, _ns(req, "toDate"))),
    )
    root = _root(req)
    for item in listed:
        root.append(_meta(_ns(req, "meta"), item))
    add_result_of_call(root, _ns(req, "result"), OK)
    return root


def _meta(tag: str, item: service.ListedCertificate) -> etree._Element:
    """CertificateMetaType.

    validFrom and validTo are the signing date. The reference knows a validity
    for FK7263 alone (which the gateway does not store) and leaves both out
    for every other type, an answer its own schema forbids and schema-bound
    clients such as zeep refuse to read.
    """
    record = item.record
    signed = (record.signed_at or record.received_at or dt.datetime.min).date().isoformat()
    el = etree.Element(tag)
    sub(el, f"{{{META}}}certificateId", record.id)
    sub(el, f"{{{META}}}certificateType", record.type)
    sub(el, f"{{{META}}}validFrom", signed)
    sub(el, f"{{{META}}}validTo", signed)
    sub(el, f"{{{META}}}issuerName", record.doctor_name)
    sub(el, f"{{{META}}}facilityName", record.care_unit_name)
    sub(el, f"{{{META}}}signDate", signed)
    sub(el, f"{{{META}}}available", "false" if is_archived(item.history) else "true")
    for entry in newest_first(item.history):
        if entry.state in _NOT_IN_V1:
            continue
        status = sub(el, f"{{{META}}}status")
        sub(status, f"{{{META}}}target", entry.target)
        sub(status, f"{{{META}}}type", entry.state.value)
        sub(status, f"{{{META}}}timestamp", format_timestamp(entry.timestamp))
    return el
