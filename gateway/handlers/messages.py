"""Handlers of the message contracts: SendMessageToCare 2 and SendMessageToRecipient 2.

The request element goes downstream byte for byte (made self-contained), so
what the receiver gets is what the sender wrote.
"""

from __future__ import annotations

import logging

from lxml import etree

from intygsgw.handlers.context import Request
from intygsgw.handlers.documents import intyg_with_statuses
from intygsgw.handlers.notifications import add_counts, add_handelse
from intygsgw.handlers.responses import C, T, add_result, parse_timestamp, response_root, sub, text
from intygsgw.service import messages as service
from intygsgw.soap.source import element_source, self_contained

log = logging.getLogger(__name__)


def _incoming(req: Request, sender: str) -> service.IncomingMessage:
    body = req.body
    ns = req.contract.namespace

    def n(tag: str) -> str:
        return f"{{{ns}}}{tag}"

    source = element_source(req.raw, body)
    return service.IncomingMessage(
        message_id=text(body, n("meddelande-id")),
        certificate_id=text(body, f"{n('intygs-id')}/{T('extension')}"),
        subject=text(body, f"{n('amne')}/{T('code')}"),
        person_id=text(body, f"{n('patientPerson-id')}/{T('extension')}"),
        sender=sender,
        recipient_address=text(body, n("logiskAdressMottagare")),
        document=self_contained(source.xml, source.inherited_namespaces),
        reply_to=text(body, f"{n('svarPa')}/{C('meddelande-id')}") or None,
        # Present but empty is not absent: the reference checks for the element.
        reminder_of=text(body, n("paminnelseMeddelande-id"), default=None),
        reference_id=text(body, n("referens-id")) or None,
        has_deadline=body.find(n("sistaDatumForSvar")) is not None,
        has_komplettering=body.find(n("komplettering")) is not None,
        sent_at=parse_timestamp(body.findtext(n("skickatTidpunkt"))),
    )


def _answer(req: Request, name: str, result) -> etree._Element:
    root = response_root(req.contract.namespace, f"{name}Response")
    add_result(root, f"{{{req.contract.namespace}}}result", result)
    return root


def send_message_to_care(req: Request) -> etree._Element:
    ns = req.contract.namespace
    sender = text(req.body, f"{{{ns}}}skickatAv/{{{ns}}}part/{T('code')}")
    result = service.send_message_to_care(req.services, _incoming(req, sender))
    return _answer(req, "SendMessageToCare", result)


def send_message_to_recipient(req: Request) -> etree._Element:
    ns = req.contract.namespace
    sender = text(req.body, f"{{{ns}}}skickatAv/{C('enhet')}/{C('enhets-id')}/{T('extension')}")
    result = service.send_message_to_recipient(req.services, _incoming(req, sender))
    return _answer(req, "SendMessageToRecipient", result)


def list_certificates_for_care_with_qa(req: Request) -> etree._Element:
    ns = req.contract.namespace

    def n(tag: str) -> str:
        return f"{{{ns}}}{tag}"

    body = req.body
    items = service.list_for_care_with_qa(
        req.services,
        text(body, f"{n('person-id')}/{T('extension')}"),
        [text(el, T("extension")) for el in body.findall(n("enhets-id"))],
        text(body, f"{n('vardgivar-id')}/{T('extension')}") or None,
        parse_timestamp(body.findtext(n("fromTidpunkt"))),
        parse_timestamp(body.findtext(n("tomTidpunkt"))),
    )
    root = response_root(ns, "ListCertificatesForCareWithQAResponse")
    lista = sub(root, n("list"))
    for entry in items:
        try:
            intyg = intyg_with_statuses(entry.view, n("intyg"))
        except Exception:  # one unreadable document must not hide the others
            log.exception("certificate %s could not be rendered; left out of the list", entry.view.record.id)
            continue
        item = sub(lista, n("item"))
        item.append(intyg)
        handelser = sub(item, n("handelser"))
        for event in entry.events:
            add_handelse(handelser, n("handelse"), event)
        add_counts(item, n("skickadeFragor"), entry.sent_questions)
        add_counts(item, n("mottagnaFragor"), entry.received_questions)
    return root
