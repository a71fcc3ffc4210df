"""Handlers of the sick-leave contracts: ListSickLeavesForCare 1 and Rehabstöd's
ListActiveSickLeavesForCareUnit 1 and ListSickLeavesForPerson 1 (hub-behaviour §1.11).

The two rehabilitation contracts are not schema-validated on the way in, as
in the reference: a blank unit id or a person id with a dash reaches the
handler, which answers with the reference's own texts.
"""

from __future__ import annotations

from lxml import etree

from intygsgw import ns
from intygsgw.domain.personnummer import PersonId, try_parse_person_id
from intygsgw.domain.results import ErrorId, Result, error
from intygsgw.domain.sick_leave import CaseFilter, SickLeaveCertificate, UnitCase
from intygsgw.handlers.context import Request
from intygsgw.handlers.rehab_items import Signers, render_intygs_data, xml_text
from intygsgw.handlers.responses import HSA_ROOT, T, sub
from intygsgw.interactions import Interaction
from intygsgw.service import sick_leave as service
from intygsgw.soap.envelope import Prerendered
from intygsgw.soap.faults import server_fault

NO_UNIT = "No careUnitHsaId specified in request."
BAD_PERSON_ID = "Could not parse passed personnummer"
MISSING_UNIT_FOR_CARE = "Request to ListSickLeavesForCare is missing required parameter 'enhets-id'"
# The response's vardgivare is required by the schema, but the reference never
# fills it in and Rehabstöd does not read it. It names the care giver of the
# listed certificates when there are some; otherwise this stands in, so that
# every answer, errors included, stays valid for strict clients.
UNKNOWN_CARE_GIVER = "okänd"
# A century: as good as unbounded for sick leave, and still a date.
LONGEST_LOOKBACK_DAYS = 36_500


def _error(text: str) -> Result:
    # These contracts carry no errorId; the Result just ferries the text to the answer.
    return error(ErrorId.APPLICATION_ERROR, text)


def R(tag: str) -> str:
    return f"{{{ns.REHAB}}}{tag}"


def T2(tag: str) -> str:
    return f"{{{ns.TYPES_2}}}{tag}"


def _tag(req: Request, local: str) -> str:
    return f"{{{req.contract.namespace}}}{local}"


def _root(contract: Interaction) -> etree._Element:
    return etree.Element(
        f"{{{contract.namespace}}}{contract.name}Response",
        # The prefixes the rendered intygsLista (_intygs_data) writes its elements with.
        nsmap={"ns": contract.namespace, "r": ns.REHAB, "t": ns.TYPES_2},
    )


# -- ListActiveSickLeavesForCareUnit ----------------------------------------------------------------


def list_active_sick_leaves_for_care_unit(req: Request) -> etree._Element | Prerendered:
    unit_id = (req.body.findtext(f"{_tag(req, 'enhets-id')}/{T2('extension')}") or "").strip()
    if not unit_id:
        return unit_error_response(req.contract, _error(NO_UNIT))
    person: PersonId | None = None
    person_text = (req.body.findtext(f"{_tag(req, 'person-id')}/{T2('extension')}") or "").strip()
    if person_text:
        person = try_parse_person_id(person_text)
        if person is None:
            return unit_error_response(req.contract, _error(BAD_PERSON_ID))
    days_text = (req.body.findtext(_tag(req, "max-dagar-sedan-avslut")) or "").strip()
    try:
        days = int(days_text) if days_text else 0
    except ValueError:
        return unit_error_response(
            req.contract, _error(f"Unmarshalling Error: max-dagar-sedan-avslut is not an integer: {days_text!r}")
        )
    days = max(-LONGEST_LOOKBACK_DAYS, min(days, LONGEST_LOOKBACK_DAYS))
    care_giver, items = service.unit_items(req.services, unit_id, person, days)
    root = _root(req.contract)
    _add_vardgivare(root, _tag(req, "vardgivare"), care_giver or UNKNOWN_CARE_GIVER)
    answer = _listed(root, _tag(req, "intygsLista"), items)
    sub(root, _tag(req, "resultCode"), "OK")
    return answer


def unit_error_response(contract: Interaction, result: Result) -> etree._Element:
    """ERROR and the text in ``comment``."""
    root = _root(contract)
    _add_vardgivare(root, f"{{{contract.namespace}}}vardgivare", UNKNOWN_CARE_GIVER)
    sub(root, f"{{{contract.namespace}}}intygsLista")
    sub(root, f"{{{contract.namespace}}}resultCode", "ERROR")
    sub(root, f"{{{contract.namespace}}}comment", result.text or "")
    return root


# -- ListSickLeavesForPerson ------------------------------------------------------------------------


def list_sick_leaves_for_person(req: Request) -> etree._Element | Prerendered:
    person = try_parse_person_id(req.body.findtext(f"{_tag(req, 'person-id')}/{T2('extension')}"))
    if person is None:
        return person_error_response(req.contract, _error(BAD_PERSON_ID))
    certificates = service.person_certificates(req.services, person)
    root = _root(req.contract)
    care_giver = certificates[-1].care_giver_id if certificates else UNKNOWN_CARE_GIVER
    _add_vardgivare(root, _tag(req, "vardgivare"), care_giver)
    answer = _intygs_lista(root, _tag(req, "intygsLista"), certificates)
    result = sub(root, _tag(req, "result"))
    sub(result, _tag(req, "resultCode"), "OK")
    return answer


def person_error_response(contract: Interaction, result: Result) -> etree._Element:
    """ERROR and the text in ``result/resultMessage``."""
    root = _root(contract)
    _add_vardgivare(root, f"{{{contract.namespace}}}vardgivare", UNKNOWN_CARE_GIVER)
    sub(root, f"{{{contract.namespace}}}intygsLista")
    el = sub(root, f"{{{contract.namespace}}}result")
    sub(el, f"{{{contract.namespace}}}resultCode", "ERROR")
    sub(el, f"{{{contract.namespace}}}resultMessage", result.text or "")
    return root


# -- the rehabilitation model ------------------------------------------------------------------------


def _hsa_id(parent: etree._Element, tag: str, extension: str) -> None:
    el = sub(parent, tag)
    sub(el, T2("root"), HSA_ROOT)
    sub(el, T2("extension"), extension)


def _add_vardgivare(parent: etree._Element, tag: str, care_giver_id: str) -> etree._Element:
    # The reference leaves the name empty: the hub does not know care givers' names.
    el = sub(parent, tag)
    _hsa_id(el, R("vardgivarId"), care_giver_id)
    sub(el, R("vardgivarnamn"), "")
    return el


def _intygs_lista(root: etree._Element, tag: str, certificates: list[SickLeaveCertificate]) -> Prerendered:
    # Who signed where repeats across a list (a few doctors, one unit): written once per list.
    signers: Signers = {}
    return _listed(root, tag, [render_intygs_data(c, signers).encode() for c in certificates])


def _listed(root: etree._Element, tag: str, items: list[bytes]) -> Prerendered:
    # A unit's list runs to thousands of certificates and megabytes: it is joined as text
    # (rehab_items) into the answer, while the rest of the answer is a tree checked against
    # the schema (Prerendered).
    return Prerendered(root, sub(root, tag), items)


# -- ListSickLeavesForCare ---------------------------------------------------------------------------


def list_sick_leaves_for_care(req: Request) -> Prerendered:
    unit_id = (req.body.findtext(f"{_tag(req, 'enhets-id')}/{T('extension')}") or "").strip()
    if not unit_id:
        raise server_fault(MISSING_UNIT_FOR_CARE)
    gap = int(req.body.findtext(_tag(req, "maxDagarMellanIntyg")) or "0")
    if gap < 0:
        raise server_fault(
            "Request to ListSickLeavesForCare has invalid value for parameter 'maxDagarMellanIntyg', "
            f"must be >= 0, was {gap}"
        )
    shortest = req.body.findtext(_tag(req, "minstaSjukskrivningslangd"))
    longest = req.body.findtext(_tag(req, "maxSjukskrivningslangd"))
    doctors = tuple((el.findtext(T("extension")) or "").strip() for el in req.body.findall(_tag(req, "personal-id")))
    case_filter = CaseFilter(
        min_days=int(shortest) if shortest else 0,
        max_days=int(longest) if longest else None,
        doctor_ids=tuple(d for d in doctors if d),
    )
    cases = service.care_unit_cases(req.services, unit_id, gap, case_filter)
    root = etree.Element(
        f"{{{req.contract.namespace}}}ListSickLeavesForCareResponse",
        # The prefixes _sjukfall writes its elements with.
        nsmap={"ns": req.contract.namespace, "types": ns.TYPES},
    )
    slot = sub(root, _tag(req, "sjukfallLista"))
    # Thousands of cases for a large unit: rendered as text, like the rehabilitation lists.
    return Prerendered(root, slot, "".join([_sjukfall(case) for case in cases]).encode())


def _sjukfall(case: UnitCase) -> str:
    person = PersonId(case.patient_id)
    # A case of this list is active today; a grade for today is there unless today falls
    # between two of the anchor's periods, when its latest grade is the truest answer.
    active = case.active_grade if case.active_grade is not None else case.grades[-1]
    grades = "".join([f"<ns:grad>{int(g)}</ns:grad>" for g in case.grades[:4]])
    return (
        f"<ns:sjukfall><ns:person-id><types:root>{person.root}</types:root>"
        f"<types:extension>{person.digits}</types:extension></ns:person-id>"
        f"<ns:patientFullstandigtNamn>{xml_text(case.patient_name)}</ns:patientFullstandigtNamn>"
        f"<ns:enhets-id><types:root>{HSA_ROOT}</types:root><types:extension>{xml_text(case.care_unit_id)}</types:extension>"
        f"</ns:enhets-id><ns:personal-id><types:root>{HSA_ROOT}</types:root>"
        f"<types:extension>{xml_text(case.doctor_id)}</types:extension></ns:personal-id>"
        f"<ns:startdatum>{case.start.isoformat()}</ns:startdatum><ns:slutdatum>{case.end.isoformat()}</ns:slutdatum>"
        f"<ns:diagnoskod><ns:code>{xml_text(case.diagnosis_code)}</ns:code></ns:diagnoskod>"
        f"<ns:antalIntyg>{int(case.certificate_count)}</ns:antalIntyg>"
        f"<ns:sjukskrivningslangd>{int(case.days)}</ns:sjukskrivningslangd>"
        f"<ns:sjukskrivningsgrad><ns:aktivGrad>{int(active)}</ns:aktivGrad><ns:grader>{grades}</ns:grader>"
        f"</ns:sjukskrivningsgrad></ns:sjukfall>"
    )
