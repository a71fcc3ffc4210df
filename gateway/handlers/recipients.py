"""Handlers of the recipient contracts (Inera-internal, hub-behaviour §1.10).

GetRecipientsForCertificate 1 and ListKnownRecipients 1 answer with the
version 1 result type; the receiver contracts use the receiver types
namespace for their list entries.
"""

from __future__ import annotations

from lxml import etree

from intygsgw import ns
from intygsgw.domain.recipients import Recipient
from intygsgw.domain.results import ErrorId, Result, error
from intygsgw.handlers.context import Request
from intygsgw.handlers.responses import T, add_result, sub
from intygsgw.service import recipients as service

C1 = ns.CORE_1
RECEIVER = ns.RECEIVER_TYPES


def _ns(req: Request, tag: str) -> str:
    return f"{{{req.contract.namespace}}}{tag}"


def _root(req: Request, extra: dict[str, str]) -> etree._Element:
    return etree.Element(_ns(req, f"{req.contract.name}Response"), nsmap={None: req.contract.namespace, **extra})


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _ok(parent: etree._Element, req: Request) -> None:
    add_result(parent, _ns(req, "result"), Result("OK"), core=C1)


def _none_found(req: Request, refusal: service.NoRecipientsFound) -> etree._Element:
    root = _root(req, {"c1": C1})
    add_result(root, _ns(req, "result"), error(ErrorId.APPLICATION_ERROR, str(refusal)), core=C1)
    return root


def get_recipients_for_certificate(req: Request) -> etree._Element:
    try:
        found = service.recipients_for_certificate(req.services, req.body.findtext(_ns(req, "certificateId")) or "")
    except service.NoRecipientsFound as refusal:
        return _none_found(req, refusal)
    root = _root(req, {"c1": C1})
    for recipient in found:
        el = sub(root, _ns(req, "recipient"))
        sub(el, _ns(req, "id"), recipient.id)
        sub(el, _ns(req, "name"), recipient.name)
        sub(el, _ns(req, "type"), recipient.recipient_type)
        sub(el, _ns(req, "trusted"), _bool(recipient.trusted))
    _ok(root, req)
    return root


def list_known_recipients(req: Request) -> etree._Element:
    try:
        known = service.known_recipients(req.services)
    except service.NoRecipientsFound as refusal:
        return _none_found(req, refusal)
    root = _root(req, {"c1": C1})
    for recipient in known:
        el = sub(root, _ns(req, "recipient"))
        sub(el, _ns(req, "id"), recipient.id)
        sub(el, _ns(req, "name"), recipient.name)
        sub(el, _ns(req, "trusted"), _bool(recipient.trusted))
    _ok(root, req)
    return root


def _receiver(parent: etree._Element, tag: str, recipient: Recipient) -> etree._Element:
    el = sub(parent, tag)
    sub(el, f"{{{RECEIVER}}}receiverId", recipient.id)
    sub(el, f"{{{RECEIVER}}}receiverName", recipient.name)
    sub(el, f"{{{RECEIVER}}}receiverType", recipient.recipient_type)
    sub(el, f"{{{RECEIVER}}}trusted", _bool(recipient.trusted))
    return el


def list_possible_receivers(req: Request) -> etree._Element:
    code = req.body.findtext(f"{_ns(req, 'intygTyp')}/{T('code')}") or ""
    root = _root(req, {"r": RECEIVER})
    for recipient in service.possible_receivers(req.services, code):
        _receiver(root, _ns(req, "receiverList"), recipient)
    return root


def list_approved_receivers(req: Request) -> etree._Element:
    certificate_id = req.body.findtext(f"{_ns(req, 'intygs-id')}/{T('extension')}") or ""
    root = _root(req, {"r": RECEIVER})
    for approval in service.approved_receivers(req.services, certificate_id):
        el = _receiver(root, _ns(req, "receiverList"), approval.recipient)
        sub(el, f"{{{RECEIVER}}}approvalStatus", "YES" if approval.approved else "NO")
    return root


def register_approved_receivers(req: Request) -> etree._Element:
    choices = [
        ((el.findtext(_ns(req, "receiverId")) or ""), (el.findtext(_ns(req, "approvalStatus")) or "").strip())
        for el in req.body.findall(_ns(req, "approvedReceivers"))
    ]
    result = service.register_approved_receivers(
        req.services,
        req.body.findtext(f"{_ns(req, 'intyg-id')}/{T('extension')}") or "",
        req.body.findtext(f"{_ns(req, 'typAvIntyg')}/{T('code')}") or "",
        choices,
    )
    root = _root(req, {"core": ns.CORE})
    add_result(root, _ns(req, "result"), result)
    return root
