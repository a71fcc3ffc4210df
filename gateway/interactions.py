"""Every RIV-TA interaction the gateway serves or calls, declared once.

An interaction is a contract's identity: name, major version and service
domain. Its request namespace, endpoint path, SOAPAction, WSDL namespace and
schema file all follow from that, so the registry of served contracts
(intygsgw.registry), the outbound calls and the stub recipient refer to these
objects instead of spelling namespaces again.
"""

from __future__ import annotations

from dataclasses import dataclass

from intygsgw import ns


@dataclass(frozen=True)
class Binding:
    """What a RIV-TA Basic Profile changes in a contract's envelope, WSDL and answers."""

    name: str  # the last segment of the path and of the WSDL namespace
    # The SOAP header that carries the logical address, its WSDL prefix and the
    # project schema that declares it.
    address_header: str
    address_prefix: str
    address_schema: str
    address_label: str  # how a refusal names the header
    # Profile 2.0 request elements are ``<Name>Request``; 2.1 ones are ``<Name>``.
    request_suffix: str = ""
    # Profile 2.0 contracts answer with ResultOfCall (infoText/errorText) and
    # their fault transform takes every soap:Client fault for a VALIDATION_ERROR
    # (hub-behaviour §1.1).
    result_of_call: bool = False


RIVTABP21 = Binding(
    "rivtabp21",
    f"{{{ns.RIV_REGISTRY}}}LogicalAddress",
    "itr",
    "core/itintegration-registry-1.xsd",
    f"LogicalAddress header ({ns.RIV_REGISTRY})",
)
RIVTABP20 = Binding(
    "rivtabp20",
    f"{{{ns.WS_ADDRESSING}}}To",
    "wsa",
    "core/ws-addressing-1.xsd",
    f"WS-Addressing To header ({ns.WS_ADDRESSING})",
    request_suffix="Request",
    result_of_call=True,
)


@dataclass(frozen=True)
class Interaction:
    name: str
    major: int
    domain: str = ns.CERTIFICATE_DOMAIN
    # The Inera-internal contracts name their request namespace after the
    # interaction and their WSDL namespace after the responder; the national
    # ones do it the other way round.
    internal: bool = False
    binding: Binding = RIVTABP21

    @property
    def key(self) -> str:
        """``RegisterCertificate:3``, as operators write it in route and authorization files."""
        return f"{self.name}:{self.major}"

    @property
    def namespace(self) -> str:
        if self.internal:
            return f"urn:riv:{self.domain}:{self.name}:{self.major}"
        return f"urn:riv:{self.domain}:{self.name}Responder:{self.major}"

    @property
    def request_tag(self) -> str:
        return f"{{{self.namespace}}}{self.name}{self.binding.request_suffix}"

    @property
    def response_tag(self) -> str:
        return f"{{{self.namespace}}}{self.name}Response"

    @property
    def path(self) -> str:
        return "/" + "/".join(self.domain.split(":")) + f"/{self.name}/{self.major}/{self.binding.name}"

    @property
    def soap_action(self) -> str:
        return f"urn:riv:{self.domain}:{self.name}Responder:{self.major}:{self.name}"

    @property
    def wsdl_namespace(self) -> str:
        if self.internal:
            return f"urn:riv:{self.domain}:{self.name}Responder:{self.major}"
        return f"urn:riv:{self.domain}:{self.name}:{self.major}:{self.binding.name}"

    @property
    def schema(self) -> str:
        """The responder schema, relative to the schemas folder."""
        return f"interactions/{self.name}Responder-{self.major}.xsd"


def _national(name: str, major: int) -> Interaction:
    return Interaction(name, major)


def _internal(name: str, major: int) -> Interaction:
    return Interaction(name, major, internal=True)


def _insurance(name: str, major: int) -> Interaction:
    return Interaction(name, major, ns.INSURANCE_DOMAIN, binding=RIVTABP20)


REGISTER_CERTIFICATE_3 = _national("RegisterCertificate", 3)
GET_CERTIFICATE_2 = _national("GetCertificate", 2)
REVOKE_CERTIFICATE_2 = _national("RevokeCertificate", 2)
SEND_CERTIFICATE_TO_RECIPIENT_2 = _national("SendCertificateToRecipient", 2)
SET_CERTIFICATE_STATUS_2 = _national("SetCertificateStatus", 2)
LIST_CERTIFICATES_FOR_CARE_3 = _national("ListCertificatesForCare", 3)
LIST_CERTIFICATES_FOR_CITIZEN_3 = _national("ListCertificatesForCitizen", 3)
LIST_CERTIFICATES_FOR_CITIZEN_4 = _national("ListCertificatesForCitizen", 4)
SEND_MESSAGE_TO_CARE_2 = _national("SendMessageToCare", 2)
SEND_MESSAGE_TO_RECIPIENT_2 = _national("SendMessageToRecipient", 2)
LIST_CERTIFICATES_FOR_CARE_WITH_QA_3 = _national("ListCertificatesForCareWithQA", 3)
CERTIFICATE_STATUS_UPDATE_FOR_CARE_3 = _national("CertificateStatusUpdateForCare", 3)
LIST_SICK_LEAVES_FOR_CARE_1 = _national("ListSickLeavesForCare", 1)

# Rehabstöd's contracts live in their own service domain.
LIST_ACTIVE_SICK_LEAVES_FOR_CARE_UNIT_1 = Interaction("ListActiveSickLeavesForCareUnit", 1, ns.REHABILITATION_DOMAIN)
LIST_SICK_LEAVES_FOR_PERSON_1 = Interaction("ListSickLeavesForPerson", 1, ns.REHABILITATION_DOMAIN)

LIST_RELATIONS_FOR_CERTIFICATE_1 = _internal("ListRelationsForCertificate", 1)
GET_CERTIFICATE_TYPE_INFO_1 = _internal("GetCertificateTypeInfo", 1)
GET_RECIPIENTS_FOR_CERTIFICATE_1 = _internal("GetRecipientsForCertificate", 1)
LIST_KNOWN_RECIPIENTS_1 = _internal("ListKnownRecipients", 1)
LIST_POSSIBLE_RECEIVERS_1 = _internal("ListPossibleReceivers", 1)
LIST_APPROVED_RECEIVERS_1 = _internal("ListApprovedReceivers", 1)
REGISTER_APPROVED_RECEIVERS_1 = _internal("RegisterApprovedReceivers", 1)

# The legacy insurance-process contracts Försäkringskassan still calls.
SET_CERTIFICATE_STATUS_1 = _insurance("SetCertificateStatus", 1)
LIST_CERTIFICATES_1 = _insurance("ListCertificates", 1)

ALL: tuple[Interaction, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Interaction))
_BY_NAMESPACE = {i.namespace: i for i in ALL}
_BY_KEY = {i.key: i for i in ALL}
INTERNAL_NAMES = frozenset(i.name for i in ALL if i.internal)


def by_namespace(namespace: str) -> Interaction | None:
    return _BY_NAMESPACE.get(namespace)


def by_key(key: str) -> Interaction | None:
    """``RegisterCertificate:3`` -> its interaction, None for one the gateway does not know."""
    return _BY_KEY.get(key)
