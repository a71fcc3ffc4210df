"""Handlers of the lifecycle contracts: read the request, call the service, answer.

RegisterCertificate 3, GetCertificate 2, RevokeCertificate 2, SetCertificateStatus 2.
"""

from __future__ import annotations

import functools

from lxml import etree

from intygsgw.domain.results import OK
from intygsgw.handlers.context import Request
from intygsgw.handlers.documents import intyg_with_statuses
from intygsgw.handlers.responses import C, T, add_result, parse_timestamp, response_root, text
from intygsgw.rules.intyg_header import read_intyg_header
from intygsgw.service import certificates as service
from intygsgw.soap.envelope import FixedAnswer
from intygsgw.soap.source import element_source, self_contained


def _ns(req: Request, tag: str) -> str:
    return f"{{{req.contract.namespace}}}{tag}"


def register_certificate(req: Request) -> etree._Element | FixedAnswer:
    intyg = req.body.find(_ns(req, "intyg"))
    head = read_intyg_header(intyg)
    relation = intyg.find(C("relation"))
    source = element_source(req.raw, req.body)
    cmd = service.RegisterCertificate(
        certificate_id=head.certificate_id,
        type_code=head.type_code,
        version=head.version,
        person_id=head.person_id,
        signed_at=head.signed_at,
        care_unit_id=head.care_unit_id,
        care_unit_name=head.care_unit_name,
        care_giver_id=head.care_giver_id,
        doctor_id=head.doctor_id,
        doctor_name=head.doctor_name,
        relation=(
            (text(relation, f"{C('typ')}/{T('code')}"), text(relation, f"{C('intygs-id')}/{T('extension')}"))
            if relation is not None
            else None
        ),
        document=source.xml,
        namespaces=source.inherited_namespaces,
        parsed=intyg,
    )
    result = service.register_certificate(req.services, cmd)
    if result == OK:
        return _registered(req.contract.namespace, _ns(req, "result"))
    root = response_root(req.contract.namespace, "RegisterCertificateResponse")
    add_result(root, _ns(req, "result"), result)
    return root


@functools.cache
def _registered(namespace: str, result_tag: str) -> FixedAnswer:
    """The OK answer, the same for every registration: built and checked once per contract."""
    root = response_root(namespace, "RegisterCertificateResponse")
    add_result(root, result_tag, OK)
    return FixedAnswer(root)


def get_certificate(req: Request) -> etree._Element:
    certificate_id = text(req.body, f"{_ns(req, 'intygs-id')}/{T('extension')}")
    part = text(req.body, f"{_ns(req, 'part')}/{T('code')}")
    view = service.get_certificate(req.services, certificate_id, part)
    root = response_root(req.contract.namespace, "GetCertificateResponse")
    root.append(intyg_with_statuses(view, _ns(req, "intyg")))
    return root


def revoke_certificate(req: Request) -> etree._Element:
    source = element_source(req.raw, req.body)
    result = service.revoke_certificate(
        req.services,
        text(req.body, f"{_ns(req, 'intygs-id')}/{T('extension')}"),
        text(req.body, f"{_ns(req, 'patientPerson-id')}/{T('extension')}"),
        forward=self_contained(source.xml, source.inherited_namespaces),
    )
    root = response_root(req.contract.namespace, "RevokeCertificateResponse")
    add_result(root, _ns(req, "result"), result)
    return root


def send_certificate_to_recipient(req: Request) -> etree._Element:
    result = service.send_certificate(
        req.services,
        text(req.body, f"{_ns(req, 'intygs-id')}/{T('extension')}"),
        text(req.body, f"{_ns(req, 'patientPerson-id')}/{T('extension')}"),
        text(req.body, f"{_ns(req, 'mottagare')}/{T('code')}"),
        by_citizen=req.body.find(f"{_ns(req, 'skickatAv')}/{_ns(req, 'person-id')}") is not None,
    )
    root = response_root(req.contract.namespace, "SendCertificateToRecipientResponse")
    add_result(root, _ns(req, "result"), result)
    return root


def set_certificate_status(req: Request) -> etree._Element:
    result = service.set_certificate_status(
        req.services,
        text(req.body, f"{_ns(req, 'intygs-id')}/{T('extension')}"),
        text(req.body, f"{_ns(req, 'part')}/{T('code')}"),
        text(req.body, f"{_ns(req, 'status')}/{T('code')}"),
        parse_timestamp(req.body.findtext(_ns(req, "tidpunkt"))),
    )
    root = response_root(req.contract.namespace, "SetCertificateStatusResponse")
    add_result(root, _ns(req, "result"), result)
    return root
