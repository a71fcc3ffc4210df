"""Running conformance cases over HTTP and judging the answers."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests
from lxml import etree

from intygsgw import interactions
from intygsgw.conformance.cases import Case, CaseFileError, Step, fill
from intygsgw.devtools import samples
from intygsgw.devtools.samples.requests import hos_personal_content
from intygsgw.soap.schemas import compiled

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ADDRESSING = "urn:riv:itintegration:registry:1"
# Answers are parsed without network, entities or a DTD: the thing under test is not trusted either.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass
class Exchange:
    """One request and its answer, for the reports."""

    contract: str
    url: str
    request: bytes
    status: int | None = None
    answer: bytes = b""
    seconds: float = 0.0


@dataclass
class Outcome:
    case: Case
    passed: bool
    reasons: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""


@dataclass(frozen=True)
class Target:
    base_url: str  # the producer's base URL; each contract's path is appended (producer mode)
    logical_address: str = samples.HUB_ADDRESS
    fixed_url: str | None = None  # receiver mode: every request goes to this one URL…
    urls: Mapping[str, str] = field(default_factory=dict)  # …except the contracts named here (Name:major -> URL)
    timeout: float = 30.0
    cert: tuple[str, str] | None = None  # client certificate and key (mutual TLS)
    verify: str | bool = True  # CA bundle, or False

    def url_for(self, contract: str) -> str:
        if contract in self.urls:
            return self.urls[contract]
        if self.fixed_url:
            return self.fixed_url
        interaction = interactions.by_key(contract)
        assert interaction is not None
        return self.base_url.rstrip("/") + interaction.path


class Schemas:
    """The responder schema of each contract: the published one when a folder is given, else the project's own."""

    def __init__(self, published: Path | None = None):
        self.published = published
        self.notes: list[str] = []

    @functools.cache  # noqa: B019 - one instance per run; the cache lives as long as the run
    def for_contract(self, contract: str) -> etree.XMLSchema:
        interaction = interactions.by_key(contract)
        assert interaction is not None
        if self.published is not None:
            path = _published_schema(self.published, interaction)
            if path is not None:
                try:
                    return etree.XMLSchema(etree.parse(str(path), _PARSER))
                except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                    self.notes.append(
                        f"{contract}: the published {path.name} does not compile ({exc}); "
                        "answers checked against the project's equivalent schema"
                    )
            else:
                self.notes.append(f"{contract}: no published schema found; checked against the project's")
        return compiled(interaction.schema)


def _published_schema(root: Path, interaction: interactions.Interaction) -> Path | None:
    domain = interaction.domain.replace(":", "-")
    folders = [root / "rivta" / domain, root / "intyg" / domain]
    pattern = f"{interaction.name}Responder_{interaction.major}.*.xsd"
    found = sorted(
        (p for folder in folders for p in (folder / "interactions" / f"{interaction.name}Interaction").glob(pattern)),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.stem.rsplit("_", 1)[-1])],
    )
    return found[-1] if found else None


class _Values(dict):
    """A case's placeholder values; the costly ones (a whole certificate) are made when a template asks."""

    def __init__(self, options: Mapping[str, object], person: str):
        first, second, third = (str(uuid.uuid4()) for _ in range(3))
        now = dt.datetime.now().replace(microsecond=0)
        other = samples.OTHER_PATIENT if person != samples.OTHER_PATIENT else samples.PATIENT
        super().__init__(
            id=first,
            id2=second,
            id3=third,
            person=person,
            other_person=other,
            # The reference names a person in its refusals by the SHA-256 of the twelve digits, never the id itself.
            other_person_hash=hashlib.sha256(other.encode()).hexdigest(),
            unit=samples.CARE_UNIT,
            care_giver=samples.CARE_GIVER,
            doctor=samples.DOCTOR,
            now=now.isoformat(),
            today=now.date().isoformat(),
            hos_personal=hos_personal_content(samples.CARE_UNIT),
        )
        self.options = options

    def __missing__(self, name: str) -> str:
        from intygsgw.conformance import material

        o = self.options
        fields = {k: o[k] for k in ("doctor_name", "care_unit_name", "text_scale", "signed_at") if k in o}
        type_id = str(o.get("type", "lisjp"))
        if name == "intyg":
            value = samples.intyg_content(material.spec_for(type_id, self["id"], self["person"], **fields))
        elif name == "intyg_replacing":
            spec = material.spec_for(type_id, self["id2"], self["person"], relation=("ERSATT", self["id"]), **fields)
            value = samples.intyg_content(spec)
        elif name == "status_update":
            spec = material.spec_for(type_id, self["id"], self["person"], **fields)
            value = material.status_update_element(spec, str(o.get("event", "SKICKA")))
        elif name == "register":
            spec = material.spec_for(type_id, self["id"], self["person"], **fields)
            value = material.register_element(spec, signed=bool(o.get("signed")))
        else:
            raise KeyError(name)
        self[name] = value
        return value


def placeholders(options: Mapping[str, object], person: str) -> dict[str, str]:
    """The values of one case: fresh ids, the test person, a complete certificate for them."""
    return _Values(options, person)


def run_case(case: Case, target: Target, schemas: Schemas, person: str, session: requests.Session) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome(case, passed=True)
    values = placeholders(case.options, person)
    for number, step in enumerate(case.steps, start=1):
        where = f"{case.file}: {case.name}, step {number}"
        try:
            raw = _request_bytes(step, values, target.logical_address, where)
        except CaseFileError as exc:
            outcome.passed, outcome.reasons = False, [f"the case is broken: {exc}"]
            break
        exchange = send(session, target, step, raw)
        outcome.exchanges.append(exchange)
        try:
            expected = replace(step, expect=_resolved(step.expect, values, where))
        except CaseFileError as exc:
            outcome.passed, outcome.reasons = False, [f"the case is broken: {exc}"]
            break
        reasons = judge(expected, exchange, schemas)
        if reasons:
            label = f"step {number} ({step.contract}): " if len(case.steps) > 1 else ""
            outcome.passed = False
            outcome.reasons += [label + r for r in reasons]
            break  # later steps build on this one
    outcome.seconds = time.perf_counter() - started
    return outcome


def _request_bytes(step: Step, values: dict[str, str], logical_address: str, where: str) -> bytes:
    interaction = interactions.by_key(step.contract)
    assert interaction is not None
    local = values
    local["ns"], local["logical_address"] = interaction.namespace, logical_address
    if step.envelope is not None:
        text = fill(step.envelope, local, where)
    else:
        body = fill(step.body or "", local, where)
        text = samples.envelope(body, logical_address, interaction.binding.address_header).decode("utf-8")
    for old, new in step.replace:
        text = text.replace(old, fill(new, local, where))
    if step.repeat_body_mb:
        # Oversize: a comment after the envelope keeps the XML well-formed until the size limit bites.
        text += "<!--" + "x" * int(step.repeat_body_mb * 1024 * 1024) + "-->"
    return text.encode(step.encoding, errors="replace")


def _resolved(expect, values: dict[str, str], where: str):
    """The expectation with its placeholders filled in: a text may name the case's own ids."""
    changes = {}
    for name in ("text", "text_starts", "text_contains", "fault_string", "fault_string_starts"):
        value = getattr(expect, name)
        if isinstance(value, str):
            changes[name] = fill(value, values, where)
    changes["contains"] = tuple(fill(v, values, where) for v in expect.contains)
    changes["not_contains"] = tuple(fill(v, values, where) for v in expect.not_contains)
    changes["xpath"] = tuple(fill(v, values, where) for v in expect.xpath)
    return replace(expect, **changes)


def send(session: requests.Session, target: Target, step: Step, raw: bytes) -> Exchange:
    url = target.url_for(step.contract)
    interaction = interactions.by_key(step.contract)
    assert interaction is not None
    headers = {
        "Content-Type": step.content_type or f"text/xml; charset={step.encoding}",
        "SOAPAction": f'"{interaction.soap_action}"',
    }
    exchange = Exchange(step.contract, url, raw)
    t0 = time.perf_counter()
    try:
        response = session.post(
            url, data=raw, headers=headers, timeout=target.timeout, cert=target.cert, verify=target.verify
        )
        exchange.status, exchange.answer = response.status_code, response.content
    except requests.RequestException as exc:
        exchange.answer = f"(no answer: {type(exc).__name__}: {exc})".encode()
    exchange.seconds = time.perf_counter() - t0
    return exchange


def judge(step: Step, exchange: Exchange, schemas: Schemas) -> list[str]:
    """What is wrong with the answer; empty when it is what the step expects."""
    e = step.expect
    if exchange.status is None:
        return [exchange.answer.decode(errors="replace")]
    reasons: list[str] = []
    if e.max_seconds is not None and exchange.seconds > e.max_seconds:
        reasons.append(f"answered in {exchange.seconds:.1f} s, more than the {e.max_seconds:g} s allowed")
    if e.http is not None and exchange.status != e.http:
        reasons.append(f"HTTP {exchange.status}, expected {e.http}")
    try:
        root = etree.fromstring(exchange.answer, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [*reasons, f"the answer is not XML: {exc}"]
    body = root.find(f"{{{SOAP_ENV}}}Body") if root.tag == f"{{{SOAP_ENV}}}Envelope" else None
    if body is None or len(body) != 1:
        return [*reasons, "the answer is not a SOAP 1.1 envelope with one element in its Body"]
    answer = body[0]
    if answer.tag == f"{{{SOAP_ENV}}}Fault":
        return reasons + _judge_fault(e, answer)
    if e.fault is not None:
        reasons.append(f"expected a SOAP fault ({e.fault}), got {etree.QName(answer).localname}")
    interaction = interactions.by_key(step.contract)
    assert interaction is not None
    if answer.tag != interaction.response_tag:
        reasons.append(f"the answer element is {answer.tag}, expected {interaction.response_tag}")
    elif e.schema:
        schema = schemas.for_contract(step.contract)
        if not schema.validate(etree.ElementTree(etree.fromstring(etree.tostring(answer)))):
            reasons.append(f"the answer is not valid against the responder schema: {schema.error_log.last_error}")
    reasons += _judge_result(e, answer, _text_names(interaction))
    text = "".join(answer.itertext())
    reasons += [f"the answer does not contain {s!r}" for s in e.contains if s not in text]
    reasons += [f"the answer contains {s!r}" for s in e.not_contains if s in text]
    reasons += _judge_xpath(e.xpath, answer)
    return reasons


def _text_names(interaction: interactions.Interaction) -> tuple[str, ...]:
    """Where the answer says why, first match wins: the binding decides between ResultOfCall and ResultType."""
    if interaction.binding.result_of_call:
        return ("errorText", "infoText")
    # Rehabstöd's contracts say it in comment, the sick-leave ones in resultMessage.
    return ("resultText", "comment", "resultMessage")


def _judge_xpath(expressions: Iterable[str], answer: etree._Element) -> list[str]:
    if not expressions:
        return []
    # Namespaces are the schema check's business; without them a case can say meta[certificateId='…'].
    bare = etree.fromstring(etree.tostring(answer))
    for el in bare.iter():
        if isinstance(el.tag, str):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(bare)
    reasons = []
    for expression in expressions:
        try:
            holds = bool(bare.xpath(f"boolean({expression})"))
        except etree.XPathError as exc:
            reasons.append(f"the case's xpath {expression!r} does not evaluate: {exc}")
            continue
        if not holds:
            reasons.append(f"the answer does not satisfy {expression}")
    return reasons


def _found(answer: etree._Element, *names: str) -> tuple[str, str | None]:
    """(the local name found, its text): the first element named any of ``names``; (names[0], None) if none is."""
    for el in answer.iter():
        if isinstance(el.tag, str) and (local := etree.QName(el).localname) in names:
            return local, el.text or ""
    return names[0], None


def _first(answer: etree._Element, *names: str) -> str | None:
    return _found(answer, *names)[1]


def _judge_result(e, answer: etree._Element, text_names: tuple[str, ...]) -> list[str]:
    reasons = []
    code = _first(answer, "resultCode")
    label, text = _found(answer, *text_names)
    if e.result is not None:
        wanted = (e.result,) if isinstance(e.result, str) else e.result
        if code not in wanted:
            said = " ".join(x for x in (_first(answer, "errorId"), text) if x)
            reasons.append(f"resultCode {code}{f' ({said[:500]})' if said else ''}, expected {' or '.join(wanted)}")
    if e.error_id is not None and (got := _first(answer, "errorId")) != e.error_id:
        reasons.append(f"errorId {got}, expected {e.error_id}")
    if e.text is not None and text != e.text:
        reasons.append(f"{label} {text!r}, expected exactly {e.text!r}")
    if e.text_starts is not None and not (text or "").startswith(e.text_starts):
        reasons.append(f"{label} {text!r}, expected to start with {e.text_starts!r}")
    if e.text_contains is not None and e.text_contains not in (text or ""):
        reasons.append(f"{label} {text!r}, expected to contain {e.text_contains!r}")
    return reasons


def _judge_fault(e, fault: etree._Element) -> list[str]:
    code = (fault.findtext("faultcode") or "").split(":")[-1]
    string_ = fault.findtext("faultstring") or ""
    if e.fault is None:
        return [f"a SOAP fault ({code}: {string_[:300]}) where an answer was expected"]
    reasons = []
    if code != e.fault:
        reasons.append(f"faultcode {code}, expected {e.fault}")
    if e.fault_string is not None and string_ != e.fault_string:
        reasons.append(f"faultstring {string_!r}, expected exactly {e.fault_string!r}")
    if e.fault_string_starts is not None and not string_.startswith(e.fault_string_starts):
        reasons.append(f"faultstring {string_!r}, expected to start with {e.fault_string_starts!r}")
    if "Traceback" in string_ or 'File "' in string_:
        reasons.append("the fault carries a stack trace")
    return reasons


def run_suite(
    cases: Iterable[Case],
    target: Target,
    schemas: Schemas,
    *,
    person: str = samples.PATIENT,
    read_only: bool = False,
    on_done: Callable[[Outcome, int, int], None] | None = None,
) -> list[Outcome]:
    cases = list(cases)
    outcomes = []
    with requests.Session() as session:
        for index, case in enumerate(cases, start=1):
            if read_only and case.writes:
                outcome = Outcome(case, passed=True, skipped="writes (left out by --read-only)")
            else:
                outcome = run_case(case, target, schemas, person, session)
            outcomes.append(outcome)
            if on_done is not None:
                on_done(outcome, index, len(cases))
    return outcomes
