"""Every contract the gateway serves, declared once.

An entry names the contract, its major version, the namespace of its request
element, the schema file that defines it and the handler that answers it. The
endpoint path, SOAPAction, WSDL and dispatch key all follow from the entry, so
adding a contract is one entry here and one handler function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from lxml import etree

from intygsgw.handlers import certificates, listing, messages, relations
from intygsgw.handlers import recipients as recipient_handlers
from intygsgw.handlers.responses import ErrorResponse, result_only

CERTIFICATE_DOMAIN = "clinicalprocess:healthcond:certificate"

# How a contract's failures reach the caller (hub-behaviour §1.1): most of the
# reference's endpoints turn faults into ERROR results on HTTP 200; a few answer
# with real SOAP faults on HTTP 500.
RESULT = "result"
FAULT = "fault"


@dataclass(frozen=True)
class Contract:
    name: str
    major: int
    namespace: str
    schema: str  # relative to the schemas/ folder
    handler: Callable
    errors: str = RESULT
    domain: str = CERTIFICATE_DOMAIN
    error_response: ErrorResponse = field(default=result_only)
    # The Inera-internal contracts name their WSDL namespace after the
    # responder rather than the interaction.
    internal: bool = False
    # Calls that read or change a patient's certificates go to the access log.
    patient_data: bool = True
    # The reference answers "nothing found" with an ERROR result that leaves
    # out a list its own schema requires (GetRecipientsForCertificate,
    # ListKnownRecipients). Callers handle that answer, not a fault, so an
    # ERROR result of such a contract is sent even when it fails the schema.
    sends_schema_invalid_errors: bool = False

    @property
    def request_tag(self) -> str:
        return f"{{{self.namespace}}}{self.name}"

    @property
    def path(self) -> str:
        return "/" + "/".join(self.domain.split(":")) + f"/{self.name}/{self.major}/rivtabp21"

    @property
    def soap_action(self) -> str:
        return f"urn:riv:{self.domain}:{self.name}Responder:{self.major}:{self.name}"

    @property
    def wsdl_namespace(self) -> str:
        if self.internal:
            return f"urn:riv:{self.domain}:{self.name}Responder:{self.major}"
        return f"urn:riv:{self.domain}:{self.name}:{self.major}:rivtabp21"

    @property
    def transforms_faults(self) -> bool:
        return self.errors == RESULT


def _riv(name: str, major: int) -> str:
    return f"urn:riv:{CERTIFICATE_DOMAIN}:{name}Responder:{major}"


def _internal(name: str, major: int) -> str:
    return f"urn:riv:{CERTIFICATE_DOMAIN}:{name}:{major}"


def _schema(name: str, major: int) -> str:
    return f"interactions/{name}Responder-{major}.xsd"


CONTRACTS: tuple[Contract, ...] = (
    Contract("RegisterCertificate", 3, _riv("RegisterCertificate", 3), _schema("RegisterCertificate", 3),
             certificates.register_certificate),
    Contract("GetCertificate", 2, _riv("GetCertificate", 2), _schema("GetCertificate", 2),
             certificates.get_certificate, errors=FAULT),
    Contract("RevokeCertificate", 2, _riv("RevokeCertificate", 2), _schema("RevokeCertificate", 2),
             certificates.revoke_certificate),
    Contract("SendCertificateToRecipient", 2, _riv("SendCertificateToRecipient", 2),
             _schema("SendCertificateToRecipient", 2), certificates.send_certificate_to_recipient),
    Contract("SetCertificateStatus", 2, _riv("SetCertificateStatus", 2), _schema("SetCertificateStatus", 2),
             certificates.set_certificate_status),
    Contract("ListCertificatesForCare", 3, _riv("ListCertificatesForCare", 3),
             _schema("ListCertificatesForCare", 3), listing.list_certificates_for_care, errors=FAULT),
    Contract("ListCertificatesForCitizen", 3, _riv("ListCertificatesForCitizen", 3),
             _schema("ListCertificatesForCitizen", 3), listing.list_certificates_for_citizen,
             error_response=listing.citizen_error_response),
    Contract("ListCertificatesForCitizen", 4, _riv("ListCertificatesForCitizen", 4),
             _schema("ListCertificatesForCitizen", 4), listing.list_certificates_for_citizen,
             error_response=listing.citizen_error_response),
    Contract("ListRelationsForCertificate", 1, _internal("ListRelationsForCertificate", 1),
             _schema("ListRelationsForCertificate", 1), relations.list_relations_for_certificate,
             errors=FAULT, internal=True),
    Contract("GetCertificateTypeInfo", 1, _internal("GetCertificateTypeInfo", 1),
             _schema("GetCertificateTypeInfo", 1), relations.get_certificate_type_info,
             errors=FAULT, internal=True, patient_data=False),
    # Messages (ärenden) between care and recipients, issue 4.
    Contract("SendMessageToCare", 2, _riv("SendMessageToCare", 2), _schema("SendMessageToCare", 2),
             messages.send_message_to_care),
    Contract("SendMessageToRecipient", 2, _riv("SendMessageToRecipient", 2),
             _schema("SendMessageToRecipient", 2), messages.send_message_to_recipient),
    Contract("ListCertificatesForCareWithQA", 3, _riv("ListCertificatesForCareWithQA", 3),
             _schema("ListCertificatesForCareWithQA", 3), messages.list_certificates_for_care_with_qa,
             errors=FAULT),
    # Recipients and approved receivers (Inera-internal), issue 3. The reference
    # has no fault transformer on these: failures are SOAP faults.
    Contract("GetRecipientsForCertificate", 1, _internal("GetRecipientsForCertificate", 1),
             _schema("GetRecipientsForCertificate", 1), recipient_handlers.get_recipients_for_certificate,
             errors=FAULT, internal=True, sends_schema_invalid_errors=True),
    Contract("ListKnownRecipients", 1, _internal("ListKnownRecipients", 1), _schema("ListKnownRecipients", 1),
             recipient_handlers.list_known_recipients, errors=FAULT, internal=True, patient_data=False,
             sends_schema_invalid_errors=True),
    Contract("ListPossibleReceivers", 1, _internal("ListPossibleReceivers", 1), _schema("ListPossibleReceivers", 1),
             recipient_handlers.list_possible_receivers, errors=FAULT, internal=True, patient_data=False),
    Contract("ListApprovedReceivers", 1, _internal("ListApprovedReceivers", 1), _schema("ListApprovedReceivers", 1),
             recipient_handlers.list_approved_receivers, errors=FAULT, internal=True),
    Contract("RegisterApprovedReceivers", 1, _internal("RegisterApprovedReceivers", 1),
             _schema("RegisterApprovedReceivers", 1), recipient_handlers.register_approved_receivers,
             errors=FAULT, internal=True),
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
        from intygsgw.soap.schemas import compiled

        return compiled(contract.schema)
