"""Handlers of ListRelationsForCertificate 1 and GetCertificateTypeInfo 1."""

from __future__ import annotations

from lxml import etree

from intygsgw.handlers.context import Request
from intygsgw.handlers.responses import RELATION_CODE_SYSTEM, add_cv, add_ii, format_timestamp, response_root, sub
from intygsgw.rules.catalog import TYPE_CODE_SYSTEM
from intygsgw.service import certificates as service


def _ns(req: Request, tag: str) -> str:
    return f"{{{req.contract.namespace}}}{tag}"


def list_relations_for_certificate(req: Request) -> etree._Element:
    ids = [(el.text or "").strip() for el in req.body.findall(_ns(req, "intygs-id"))]
    graphs = service.list_relations(req.services, ids)
    root = response_root(req.contract.namespace, "ListRelationsForCertificateResponse")
    for cid in ids:
        entry = sub(root, _ns(req, "intygRelation"))
        add_ii(entry, _ns(req, "intygs-id"), "", cid)
        for rel in graphs[cid]:
            el = sub(entry, _ns(req, "relation"))
            add_cv(el, _ns(req, "typ"), rel.code, RELATION_CODE_SYSTEM, service.RELATION_CODES.get(rel.code))
            add_ii(el, _ns(req, "fran-intygs-id"), "", rel.from_id)
            add_ii(el, _ns(req, "till-intygs-id"), "", rel.to_id)
            sub(el, _ns(req, "skapad"), format_timestamp(rel.created_at))
            sub(el, _ns(req, "fran-intyg-makulerat"), "true" if rel.from_revoked else "false")
    return root


def get_certificate_type_info(req: Request) -> etree._Element:
    certificate_id = (req.body.findtext(_ns(req, "intygs-id")) or "").strip()
    type_id, version = service.certificate_type_info(req.services, certificate_id)
    root = response_root(req.contract.namespace, "GetCertificateTypeInfoResponse")
    add_cv(root, _ns(req, "typ"), type_id, TYPE_CODE_SYSTEM)
    sub(root, _ns(req, "typVersion"), version)
    return root
