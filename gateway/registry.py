"""Every contract the gateway serves: one entry each.

An entry pairs an interaction (intygsgw.interactions: name, major version,
domain) with the handler that answers it and how its failures reach the
caller. The endpoint path, SOAPAction, WSDL, schema and dispatch key all
follow from the interaction, so serving a contract is one entry here and one
handler function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from intygsgw import interactions as i
from intygsgw.handlers import certificates, insurance, listing, messages, relations, sick_leave
from intygsgw.handlers import recipients as recipient_handlers
from intygsgw.handlers.responses import ErrorResponse, result_of_call_only, result_only
from intygsgw.interactions import Interaction
from intygsgw.soap.schemas import compiled

# How a contract's failures reach the caller (hub-behaviour §1.1): most of the
# reference's endpoints turn faults into ERROR results on HTTP 200; a few answer
# with real SOAP faults on HTTP 500.
RESULT = "result"
FAULT = "fault"


@dataclass(frozen=True)
class Contract:
    interaction: Interaction
    handler: Callable
    errors: str = RESULT
    # None: the binding's own answer (a ResultType, or a ResultOfCall on rivtabp20).
    error_response: ErrorResponse | None = None
    # Calls that read or change a patient's certificates go to the access log.
    patient_data: bool = True
    # The reference validates most requests against the contract's schema; the
    # Rehabstöd contracts it does not (hub-behaviour §1.1), and their callers
    # rely on it: a blank unit id must get that contract's own ERROR text.
    validates_request: bool = True
    # The reference answers "nothing found" with an ERROR result that leaves
    # out a list its own schema requires (GetRecipientsForCertificate,
    # ListKnownRecipients). Callers handle that answer, not a fault, so an
    # ERROR result of such a contract is sent even when it fails the schema.
    sends_schema_invalid_errors: bool = False

    # The interaction's identity, read through so handlers and the dispatcher
    # need not reach into it.
    @property
    def name(self) -> str:
        return self.interaction.name

    @property
    def major(self) -> int:
        return self.interaction.major

    @property
    def namespace(self) -> str:
        return self.interaction.namespace

    @property
    def schema(self) -> str:
        return self.interaction.schema

    @property
    def request_tag(self) -> str:
        return self.interaction.request_tag

    @property
    def path(self) -> str:
        return self.interaction.path

    @property
    def soap_action(self) -> str:
        return self.interaction.soap_action

    @property
    def wsdl_namespace(self) -> str:
        return self.interaction.wsdl_namespace

    @property
    def transforms_faults(self) -> bool:
        return self.errors == RESULT

    @property
    def transforms_client_faults(self) -> bool:
        """Every soap:Client fault after routing becomes an ERROR/VALIDATION_ERROR answer."""
        return self.transforms_faults and self.interaction.binding.result_of_call

    @property
    def error_answer(self) -> ErrorResponse:
        if self.error_response is not None:
            return self.error_response
        return result_of_call_only if self.interaction.binding.result_of_call else result_only


CONTRACTS: tuple[Contract, ...] = (
    Contract(i.REGISTER_CERTIFICATE_3, certificates.register_certificate),
    Contract(i.GET_CERTIFICATE_2, certificates.get_certificate, errors=FAULT),
    Contract(i.REVOKE_CERTIFICATE_2, certificates.revoke_certificate),
    Contract(i.SEND_CERTIFICATE_TO_RECIPIENT_2, certificates.send_certificate_to_recipient),
    Contract(i.SET_CERTIFICATE_STATUS_2, certificates.set_certificate_status),
    Contract(i.LIST_CERTIFICATES_FOR_CARE_3, listing.list_certificates_for_care, errors=FAULT),
    Contract(
        i.LIST_CERTIFICATES_FOR_CITIZEN_3,
        listing.list_certificates_for_citizen,
        error_response=listing.citizen_error_response,
    ),
    Contract(
        i.LIST_CERTIFICATES_FOR_CITIZEN_4,
        listing.list_certificates_for_citizen,
        error_response=listing.citizen_error_response,
    ),
    Contract(i.LIST_RELATIONS_FOR_CERTIFICATE_1, relations.list_relations_for_certificate, errors=FAULT),
    Contract(i.GET_CERTIFICATE_TYPE_INFO_1, relations.get_certificate_type_info, errors=FAULT, patient_data=False),
    # Messages (ärenden) between care and recipients.
    Contract(i.SEND_MESSAGE_TO_CARE_2, messages.send_message_to_care),
    Contract(i.SEND_MESSAGE_TO_RECIPIENT_2, messages.send_message_to_recipient),
    Contract(i.LIST_CERTIFICATES_FOR_CARE_WITH_QA_3, messages.list_certificates_for_care_with_qa, errors=FAULT),
    # Recipients and approved receivers (Inera-internal). The reference has no
    # fault transformer on these: failures are SOAP faults.
    Contract(
        i.GET_RECIPIENTS_FOR_CERTIFICATE_1,
        recipient_handlers.get_recipients_for_certificate,
        errors=FAULT,
        sends_schema_invalid_errors=True,
    ),
    Contract(
        i.LIST_KNOWN_RECIPIENTS_1,
        recipient_handlers.list_known_recipients,
        errors=FAULT,
        patient_data=False,
        sends_schema_invalid_errors=True,
    ),
    Contract(i.LIST_POSSIBLE_RECEIVERS_1, recipient_handlers.list_possible_receivers, errors=FAULT, patient_data=False),
    Contract(i.LIST_APPROVED_RECEIVERS_1, recipient_handlers.list_approved_receivers, errors=FAULT),
    Contract(i.REGISTER_APPROVED_RECEIVERS_1, recipient_handlers.register_approved_receivers, errors=FAULT),
    # Sick leave (sjukfall): the case engine's answer for care, and Rehabstöd's raw data.
    Contract(i.LIST_SICK_LEAVES_FOR_CARE_1, sick_leave.list_sick_leaves_for_care, errors=FAULT),
    Contract(
        i.LIST_ACTIVE_SICK_LEAVES_FOR_CARE_UNIT_1,
        sick_leave.list_active_sick_leaves_for_care_unit,
        error_response=sick_leave.unit_error_response,
        validates_request=False,
    ),
    Contract(
        i.LIST_SICK_LEAVES_FOR_PERSON_1,
        sick_leave.list_sick_leaves_for_person,
        error_response=sick_leave.person_error_response,
        validates_request=False,
    ),
    # The legacy insurance-process contracts (rivtabp20). ListCertificates is
    # not schema-validated by the reference (hub-behaviour §1.1).
    Contract(i.SET_CERTIFICATE_STATUS_1, insurance.set_certificate_status),
    Contract(i.LIST_CERTIFICATES_1, insurance.list_certificates, validates_request=False),
)


class Registry:
    def __init__(self, contracts: tuple[Contract, ...] = CONTRACTS):
        self.contracts = contracts
        self._by_tag = {c.request_tag: c for c in contracts}
        self._by_path = {c.path: c for c in contracts}
        if len(self._by_tag) != len(contracts) or len(self._by_path) != len(contracts):
            raise ValueError("two contracts share a request element or an endpoint path")

    def by_request(self, tag: str) -> Contract | None:
        return self._by_tag.get(tag)

    def by_path(self, path: str) -> Contract | None:
        return self._by_path.get(path.rstrip("/"))

    def schema_for(self, contract: Contract) -> etree.XMLSchema:
        return compiled(contract.schema)
