"""Turning a stored certificate back into an ``intyg`` element for a response."""

from __future__ import annotations

from lxml import etree

from intygsgw.domain.states import StateEntry
from intygsgw.handlers.responses import C, status_elements
from intygsgw.service.certificates import CertificateView
from intygsgw.soap.parser import parse_trusted
from intygsgw.soap.source import standalone_document

# Children of Intyg that come before the status list, in schema order.
_BEFORE_STATUS = {
    C(t)
    for t in (
        "intygs-id",
        "mottagare",
        "typ",
        "version",
        "signeringstidpunkt",
        "skickatTidpunkt",
        "patient",
        "skapadAv",
        "relation",
    )
}


def stored_intyg(view: CertificateView) -> etree._Element:
    """The ``intyg`` element of the stored RegisterCertificate, detached."""
    wrapper = parse_trusted(standalone_document(view.document.document, view.document.namespaces))
    register = wrapper[0]
    for child in register:
        if isinstance(child.tag, str) and etree.QName(child).localname == "intyg":
            return child
    raise ValueError(f"stored document of {view.record.id} holds no intyg")


def intyg_with_statuses(view: CertificateView, tag: str) -> etree._Element:
    """The stored intyg renamed to ``tag``, its status list rebuilt from history."""
    intyg = stored_intyg(view)
    intyg.tag = tag
    _replace_statuses(intyg, view.statuses)
    return intyg


def _replace_statuses(intyg: etree._Element, statuses: list[StateEntry]) -> None:
    insert_at = 0
    for child in list(intyg):
        if child.tag == C("status"):
            intyg.remove(child)
    for i, child in enumerate(intyg):
        if child.tag in _BEFORE_STATUS:
            insert_at = i + 1
    for offset, el in enumerate(status_elements(statuses)):
        intyg.insert(insert_at + offset, el)
