"""Handlers of the list contracts: ListCertificatesForCare 3, ListCertificatesForCitizen 3 and 4."""

from __future__ import annotations

import datetime as dt
import logging

from lxml import etree

from intygsgw.domain.results import Result
from intygsgw.handlers.context import Request
from intygsgw.handlers.documents import intyg_with_statuses
from intygsgw.handlers.responses import CORE, T, add_result, response_root, sub, text
from intygsgw.interactions import Interaction
from intygsgw.service import certificates as service

log = logging.getLogger(__name__)


def _ns(req: Request, tag: str) -> str:
    return f"{{{req.contract.namespace}}}{tag}"


def _append_intyg_list(root: etree._Element, ns: str, views) -> None:
    lista = sub(root, f"{{{ns}}}intygsLista")
    for view in views:
        try:
            lista.append(intyg_with_statuses(view, f"{{{ns}}}intyg"))
        except Exception:  # one unreadable document must not hide the others
            log.exception("certificate %s could not be rendered; left out of the list", view.record.id)


def list_certificates_for_care(req: Request) -> etree._Element:
    person_id = text(req.body, f"{_ns(req, 'person-id')}/{T('extension')}")
    unit_ids = [(el.findtext(T("extension")) or "").strip() for el in req.body.findall(_ns(req, "enhets-id"))]
    views = service.list_for_care(req.services, person_id, unit_ids)
    root = response_root(req.contract.namespace, "ListCertificatesForCareResponse")
    _append_intyg_list(root, req.contract.namespace, views)
    return root


def list_certificates_for_citizen(req: Request) -> etree._Element:
    body = req.body
    from_date = body.findtext(_ns(req, "fromDatum"))
    to_date = body.findtext(_ns(req, "tomDatum"))
    listed = service.list_for_citizen(
        req.services,
        person_id=text(body, f"{_ns(req, 'person-id')}/{T('extension')}"),
        type_codes=[text(el, T("code")) for el in body.findall(_ns(req, "intygTyp"))],
        archived=text(body, _ns(req, "arkiverade")).lower() in ("true", "1"),
        part=text(body, f"{_ns(req, 'part')}/{T('code')}"),
        from_date=dt.date.fromisoformat(from_date.strip()) if from_date else None,
        to_date=dt.date.fromisoformat(to_date.strip()) if to_date else None,
    )
    if not listed.result.ok:
        return citizen_error_response(req.contract, listed.result)
    root = response_root(req.contract.namespace, "ListCertificatesForCitizenResponse")
    _append_intyg_list(root, req.contract.namespace, listed.certificates)
    if req.contract.major == 3:
        add_result(root, _ns(req, "result"), listed.result)
    return root


def citizen_error_response(contract: Interaction, result: Result) -> etree._Element:
    """An empty list and the error.

    Version 4 dropped the result element from the response, so the error rides
    in the extension point as a core-namespace ``result``; version 3 has it in
    its own place.
    """
    root = response_root(contract.namespace, "ListCertificatesForCitizenResponse")
    sub(root, f"{{{contract.namespace}}}intygsLista")
    tag = f"{{{contract.namespace}}}result" if contract.major == 3 else f"{{{CORE}}}result"
    add_result(root, tag, result)
    return root
