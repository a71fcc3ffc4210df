"""Handlers of the message contracts: SendMessageToCare 2 and SendMessageToRecipient 2.

The request element goes downstream byte for byte (made self-contained), so
what the receiver gets is what the sender wrote.
"""
from __future__ import annotations

from lxml import etree

from ..service import messages as service
from ..soap.source import element_source, self_contained
from .context import Request
from .responses import C, T, add_result, parse_timestamp, response_root, text


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
        reminder_of=text(body, n("paminnelseMeddelande-id")) or None,
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
