"""Building blocks shared by the handlers: namespaces, reading, writing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from lxml import etree

from intygsgw import ns
from intygsgw.domain.results import Result
from intygsgw.domain.states import PART_CODE_SYSTEM, STATUS_CODE_SYSTEM, StateEntry
from intygsgw.interactions import Interaction

CORE = ns.CORE
TYPES = ns.TYPES
HEALTHREPORTING = ns.HEALTHREPORTING
HSA_ROOT = "1.2.752.129.2.1.4.1"
RELATION_CODE_SYSTEM = "c2362fcd-eda0-4f9a-bd13-b3bbaf7f2146"


def C(tag: str) -> str:
    return f"{{{CORE}}}{tag}"


def T(tag: str) -> str:
    return f"{{{TYPES}}}{tag}"


def HR(tag: str) -> str:
    return f"{{{HEALTHREPORTING}}}{tag}"


def text(el: etree._Element, path: str, default: str = "") -> str:
    value = el.findtext(path)
    return value.strip() if value is not None else default


def parse_timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.strip())


def format_timestamp(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat(timespec="seconds")


def response_root(ns: str, name: str) -> etree._Element:
    return etree.Element(f"{{{ns}}}{name}", nsmap={"ns": ns, "core": CORE, "types": TYPES})


def sub(parent: etree._Element, tag: str, value: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if value is not None:
        el.text = value
    return el


def add_result(parent: etree._Element, tag: str, result: Result, core: str = CORE) -> etree._Element:
    """A ResultType; ``core`` is the namespace of its parts (the version 1 contracts use their own)."""
    el = sub(parent, tag)
    sub(el, f"{{{core}}}resultCode", result.code)
    if result.text is not None:
        sub(el, f"{{{core}}}resultText", result.text)
    if result.error_id is not None:
        sub(el, f"{{{core}}}errorId", result.error_id.value)
    return el


def add_cv(parent: etree._Element, tag: str, code: str, code_system: str, display: str | None = None):
    el = sub(parent, tag)
    sub(el, T("code"), code)
    sub(el, T("codeSystem"), code_system)
    if display is not None:
        sub(el, T("displayName"), display)
    return el


def add_ii(parent: etree._Element, tag: str, root: str, extension: str):
    el = sub(parent, tag)
    sub(el, T("root"), root)
    sub(el, T("extension"), extension)
    return el


# An ErrorResponse builds a contract's normal response carrying an ERROR result,
# for contracts that answer failures that way instead of with a fault.
ErrorResponse = Callable[[Interaction, Result], etree._Element]


def result_only(contract: Interaction, result: Result) -> etree._Element:
    root = response_root(contract.namespace, f"{contract.name}Response")
    add_result(root, f"{{{contract.namespace}}}result", result)
    return root


def add_result_of_call(parent: etree._Element, tag: str, result: Result) -> etree._Element:
    """A rivtabp20 ResultOfCall: the text is infoText on INFO and errorText on ERROR."""
    el = sub(parent, tag)
    sub(el, HR("resultCode"), result.code)
    if result.code == "INFO" and result.text is not None:
        sub(el, HR("infoText"), result.text)
    if result.error_id is not None:
        sub(el, HR("errorId"), result.error_id.value)
    if result.code == "ERROR" and result.text is not None:
        sub(el, HR("errorText"), result.text)
    return el


def result_of_call_only(contract: Interaction, result: Result) -> etree._Element:
    root = etree.Element(
        f"{{{contract.namespace}}}{contract.name}Response", nsmap={"ns": contract.namespace, "hr": HEALTHREPORTING}
    )
    add_result_of_call(root, f"{{{contract.namespace}}}result", result)
    return root


def status_elements(statuses: list[StateEntry]) -> list[etree._Element]:
    out = []
    for entry in statuses:
        code = entry.state.status_code
        if code is None:
            # Försäkringskassan's handling states (SetCertificateStatus 1) have no
            # KV_STATUS code; the reference fails the whole answer on them, the
            # gateway leaves them out of it.
            continue
        el = etree.Element(C("status"))
        add_cv(el, C("part"), entry.target, PART_CODE_SYSTEM)
        add_cv(el, C("status"), code, STATUS_CODE_SYSTEM, entry.state.value)
        sub(el, C("tidpunkt"), format_timestamp(entry.timestamp))
        out.append(el)
    return out
