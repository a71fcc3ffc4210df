"""SOAP 1.1 request envelopes for the certificate contracts, as an EHR system sends them.

Each function returns the whole envelope as UTF-8 bytes, with the
``LogicalAddress`` header the national platform requires.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from intygsgw.devtools.samples.certificates import (
    CORE,
    HSA_ROOT,
    PATIENT,
    PERSONNUMMER_ROOT,
    REGISTER,
    TYPE_CODE_SYSTEM,
    TYPES,
    CertificateSpec,
    intyg_content,
)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
ADDRESSING = "urn:riv:itintegration:registry:1"
PART_CODE_SYSTEM = "769bb12b-bd9f-4203-a5cd-fd14f2eb3b80"
STATUS_CODE_SYSTEM = "9871cd17-8755-4ed9-b894-ff3729e775a4"
HUB_ADDRESS = "5565594230"  # the national hub's logical address

_RESPONDER = "urn:riv:clinicalprocess:healthcond:certificate:{name}Responder:{major}"
_INTERNAL = "urn:riv:clinicalprocess:healthcond:certificate:{name}:{major}"


def envelope(
    body: str, logical_address: str = HUB_ADDRESS, address_header: str = f"{{{ADDRESSING}}}LogicalAddress"
) -> bytes:
    """The binding chooses the address header (a Clark name): ``LogicalAddress`` on rivtabp21, WS-Addressing ``To`` on rivtabp20."""
    header_ns, header = address_header[1:].split("}")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:add="{header_ns}" xmlns:c="{CORE}" xmlns:t="{TYPES}">'
        f"<soapenv:Header><add:{header}>{escape(logical_address)}</add:{header}></soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _person(tag: str, person_id: str) -> str:
    return f"<{tag}><t:root>{PERSONNUMMER_ROOT}</t:root><t:extension>{escape(person_id)}</t:extension></{tag}>"


def _certificate_id(tag: str, certificate_id: str, root: str = "SE2321000016-1003") -> str:
    return f"<{tag}><t:root>{root}</t:root><t:extension>{escape(certificate_id)}</t:extension></{tag}>"


def _part(tag: str, code: str) -> str:
    return f"<{tag}><t:code>{code}</t:code><t:codeSystem>{PART_CODE_SYSTEM}</t:codeSystem></{tag}>"


def _hos_personal(tag: str, unit: str = "SE2321000016-1003") -> str:
    return f"<{tag}>{hos_personal_content(unit)}</{tag}>"


def hos_personal_content(unit: str = "SE2321000016-1003") -> str:
    """The signing doctor at the sample unit, as the content of a skapadAv/skickatAv/hosPersonal element."""
    return (
        f"<c:personal-id><t:root>{HSA_ROOT}</t:root><t:extension>SE2321000016-1R2F</t:extension>"
        f"</c:personal-id><c:fullstandigtNamn>Ingrid Nilsson Läkare</c:fullstandigtNamn>"
        f"<c:enhet><c:enhets-id><t:root>{HSA_ROOT}</t:root><t:extension>{unit}</t:extension></c:enhets-id>"
        f"<c:arbetsplatskod><t:root>1.2.752.29.4.71</t:root><t:extension>1234567890</t:extension>"
        f"</c:arbetsplatskod><c:enhetsnamn>Vårdcentralen Linden</c:enhetsnamn>"
        f"<c:postadress>Lindvägen 4</c:postadress><c:postnummer>12345</c:postnummer>"
        f"<c:postort>Stockholm</c:postort><c:telefonnummer>08-1234567</c:telefonnummer>"
        f"<c:vardgivare><c:vardgivare-id><t:root>{HSA_ROOT}</t:root><t:extension>SE2321000016-0001"
        f"</t:extension></c:vardgivare-id><c:vardgivarnamn>Region Exempel</c:vardgivarnamn></c:vardgivare>"
        f"</c:enhet>"
    )


def register_certificate(spec: CertificateSpec | None = None, logical_address: str = HUB_ADDRESS) -> bytes:
    spec = spec or CertificateSpec()
    return envelope(
        f'<r:RegisterCertificate xmlns:r="{REGISTER}"><r:intyg>{intyg_content(spec)}</r:intyg></r:RegisterCertificate>',
        logical_address,
    )


def get_certificate(certificate_id: str, part: str = "HSVARD", logical_address: str = HUB_ADDRESS) -> bytes:
    ns = _RESPONDER.format(name="GetCertificate", major=2)
    return envelope(
        f'<g:GetCertificate xmlns:g="{ns}">{_certificate_id("g:intygs-id", certificate_id)}'
        f"{_part('g:part', part)}</g:GetCertificate>",
        logical_address,
    )


def revoke_certificate(
    certificate_id: str,
    person_id: str = PATIENT,
    message: str | None = "Fel patient",
    sent_at: str = "2026-11-21T09:00:00",
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    ns = _RESPONDER.format(name="RevokeCertificate", major=2)
    meddelande = f"<v:meddelande>{escape(message)}</v:meddelande>" if message is not None else ""
    return envelope(
        f'<v:RevokeCertificate xmlns:v="{ns}">{meddelande}<v:skickatTidpunkt>{sent_at}</v:skickatTidpunkt>'
        f"{_certificate_id('v:intygs-id', certificate_id)}{_person('v:patientPerson-id', person_id)}"
        f"{_hos_personal('v:skickatAv')}</v:RevokeCertificate>",
        logical_address,
    )


def send_certificate_to_recipient(
    certificate_id: str,
    recipient: str = "FKASSA",
    person_id: str = PATIENT,
    sent_by_citizen: bool = False,
    sent_at: str = "2026-11-21T09:00:00",
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    ns = _RESPONDER.format(name="SendCertificateToRecipient", major=2)
    sender = _person("s:person-id", person_id) if sent_by_citizen else _hos_personal("s:hosPersonal")
    return envelope(
        f'<s:SendCertificateToRecipient xmlns:s="{ns}"><s:skickatTidpunkt>{sent_at}</s:skickatTidpunkt>'
        f"{_certificate_id('s:intygs-id', certificate_id)}{_person('s:patientPerson-id', person_id)}"
        f"{_part('s:mottagare', recipient)}<s:skickatAv>{sender}</s:skickatAv>"
        f"</s:SendCertificateToRecipient>",
        logical_address,
    )


def set_certificate_status(
    certificate_id: str,
    status: str,
    part: str = "INVANA",
    at: str = "2026-11-21T09:00:00",
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    ns = _RESPONDER.format(name="SetCertificateStatus", major=2)
    return envelope(
        f'<s:SetCertificateStatus xmlns:s="{ns}">{_certificate_id("s:intygs-id", certificate_id)}'
        f"{_part('s:part', part)}<s:status><t:code>{status}</t:code><t:codeSystem>{STATUS_CODE_SYSTEM}"
        f"</t:codeSystem></s:status><s:tidpunkt>{at}</s:tidpunkt></s:SetCertificateStatus>",
        logical_address,
    )


def list_certificates_for_care(
    person_id: str = PATIENT,
    care_unit_ids: tuple[str, ...] = ("SE2321000016-1003",),
    care_giver_id: str | None = None,
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    ns = _RESPONDER.format(name="ListCertificatesForCare", major=3)
    # The contract takes either a care giver or a list of care units.
    giver = (
        f"<l:vardgivar-id><t:root>{HSA_ROOT}</t:root><t:extension>{care_giver_id}</t:extension></l:vardgivar-id>"
        if care_giver_id
        else ""
    )
    units = (
        ""
        if care_giver_id
        else "".join(
            f"<l:enhets-id><t:root>{HSA_ROOT}</t:root><t:extension>{u}</t:extension></l:enhets-id>"
            for u in care_unit_ids
        )
    )
    return envelope(
        f'<l:ListCertificatesForCare xmlns:l="{ns}">{_person("l:person-id", person_id)}'
        f"{giver}{units}</l:ListCertificatesForCare>",
        logical_address,
    )


def list_certificates_for_citizen(
    person_id: str = PATIENT,
    major: int = 4,
    type_codes: tuple[str, ...] = (),
    archived: bool = False,
    part: str = "INVANA",
    from_date: str | None = None,
    to_date: str | None = None,
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    ns = _RESPONDER.format(name="ListCertificatesForCitizen", major=major)
    types = "".join(
        f"<l:intygTyp><t:code>{code}</t:code><t:codeSystem>{TYPE_CODE_SYSTEM}</t:codeSystem></l:intygTyp>"
        for code in type_codes
    )
    dates = (f"<l:fromDatum>{from_date}</l:fromDatum>" if from_date else "") + (
        f"<l:tomDatum>{to_date}</l:tomDatum>" if to_date else ""
    )
    return envelope(
        f'<l:ListCertificatesForCitizen xmlns:l="{ns}">{_person("l:person-id", person_id)}{types}'
        f"<l:arkiverade>{'true' if archived else 'false'}</l:arkiverade>{dates}{_part('l:part', part)}"
        f"</l:ListCertificatesForCitizen>",
        logical_address,
    )


def list_relations_for_certificate(certificate_ids: tuple[str, ...], logical_address: str = HUB_ADDRESS) -> bytes:
    ns = _INTERNAL.format(name="ListRelationsForCertificate", major=1)
    ids = "".join(f"<l:intygs-id>{escape(i)}</l:intygs-id>" for i in certificate_ids)
    return envelope(
        f'<l:ListRelationsForCertificate xmlns:l="{ns}">{ids}</l:ListRelationsForCertificate>', logical_address
    )


def get_certificate_type_info(certificate_id: str, logical_address: str = HUB_ADDRESS) -> bytes:
    ns = _INTERNAL.format(name="GetCertificateTypeInfo", major=1)
    return envelope(
        f'<g:GetCertificateTypeInfo xmlns:g="{ns}"><g:intygs-id>{escape(certificate_id)}'
        f"</g:intygs-id></g:GetCertificateTypeInfo>",
        logical_address,
    )


_REHAB_RESPONDER = "urn:riv:clinicalprocess:healthcond:rehabilitation:{name}Responder:{major}"
_TYPES_2 = "urn:riv:clinicalprocess:healthcond:certificate:types:2"


def _ii2(tag: str, root: str, extension: str) -> str:
    return f"<{tag}><t2:root>{root}</t2:root><t2:extension>{escape(extension)}</t2:extension></{tag}>"


def list_sick_leaves_for_care(
    unit_id: str,
    max_gap: int = 5,
    min_days: int | None = None,
    max_days: int | None = None,
    doctor_ids: tuple[str, ...] = (),
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    ns = _RESPONDER.format(name="ListSickLeavesForCare", major=1)
    parts = [
        _certificate_id("s:enhets-id", unit_id, HSA_ROOT),
        f"<s:maxDagarMellanIntyg>{max_gap}</s:maxDagarMellanIntyg>",
    ]
    if min_days is not None:
        parts.append(f"<s:minstaSjukskrivningslangd>{min_days}</s:minstaSjukskrivningslangd>")
    if max_days is not None:
        parts.append(f"<s:maxSjukskrivningslangd>{max_days}</s:maxSjukskrivningslangd>")
    parts += [_certificate_id("s:personal-id", doctor, HSA_ROOT) for doctor in doctor_ids]
    return envelope(
        f'<s:ListSickLeavesForCare xmlns:s="{ns}">{"".join(parts)}</s:ListSickLeavesForCare>', logical_address
    )


def list_active_sick_leaves_for_care_unit(
    unit_id: str,
    person_id: str | None = None,
    max_days_since_end: int | str | None = None,
    logical_address: str = HUB_ADDRESS,
) -> bytes:
    """Rehabstöd's raw list; ``person_id`` as given, so a test can send a malformed one."""
    ns = _REHAB_RESPONDER.format(name="ListActiveSickLeavesForCareUnit", major=1)
    parts = [_ii2("a:enhets-id", HSA_ROOT, unit_id)]
    if person_id is not None:
        parts.append(_ii2("a:person-id", PERSONNUMMER_ROOT, person_id))
    if max_days_since_end is not None:
        parts.append(f"<a:max-dagar-sedan-avslut>{max_days_since_end}</a:max-dagar-sedan-avslut>")
    return envelope(
        f'<a:ListActiveSickLeavesForCareUnit xmlns:a="{ns}" xmlns:t2="{_TYPES_2}">{"".join(parts)}'
        f"</a:ListActiveSickLeavesForCareUnit>",
        logical_address,
    )


def list_sick_leaves_for_person(person_id: str, logical_address: str = HUB_ADDRESS) -> bytes:
    ns = _REHAB_RESPONDER.format(name="ListSickLeavesForPerson", major=1)
    return envelope(
        f'<p:ListSickLeavesForPerson xmlns:p="{ns}" xmlns:t2="{_TYPES_2}">'
        f"{_ii2('p:person-id', PERSONNUMMER_ROOT, person_id)}</p:ListSickLeavesForPerson>",
        logical_address,
    )
