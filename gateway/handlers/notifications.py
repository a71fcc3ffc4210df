"""The CertificateStatusUpdateForCare 3 request element for a notification.

Rendered here, next to the other response builders, so the service layer can
queue a notification without knowing its XML (it gets a renderer through
Services).
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from intygsgw.handlers.documents import intyg_with_statuses
from intygsgw.handlers.responses import C, add_cv, response_root, sub
from intygsgw.interactions import CERTIFICATE_STATUS_UPDATE_FOR_CARE_3
from intygsgw.service.certificates import CertificateView
from intygsgw.service.notifications import AMNE_CODE_SYSTEM, HANDELSE_CODE_SYSTEM, Event, QuestionCounts


def _millis(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def add_handelse(parent: etree._Element, tag: str, event: Event) -> etree._Element:
    el = sub(parent, tag)
    add_cv(el, C("handelsekod"), event.code, HANDELSE_CODE_SYSTEM)
    sub(el, C("tidpunkt"), _millis(event.timestamp))
    if event.subject:
        add_cv(el, C("amne"), event.subject, AMNE_CODE_SYSTEM)
    return el


def add_counts(parent: etree._Element, tag: str, counts: QuestionCounts) -> None:
    el = sub(parent, tag)
    for name, value in (
        ("totalt", counts.total),
        ("ejBesvarade", counts.unanswered),
        ("besvarade", counts.answered),
        ("hanterade", counts.handled),
    ):
        sub(el, C(name), str(value))


def render_status_update(view: CertificateView, event: Event, sent: QuestionCounts, received: QuestionCounts) -> bytes:
    ns = CERTIFICATE_STATUS_UPDATE_FOR_CARE_3.namespace
    root = response_root(ns, "CertificateStatusUpdateForCare")
    root.append(intyg_with_statuses(view, f"{{{ns}}}intyg"))
    add_handelse(root, f"{{{ns}}}handelse", event)
    add_counts(root, f"{{{ns}}}skickadeFragor", sent)
    add_counts(root, f"{{{ns}}}mottagnaFragor", received)
    return etree.tostring(root, encoding="UTF-8")
