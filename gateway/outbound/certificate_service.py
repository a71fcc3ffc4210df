"""The certificate-service's internal API, as the hub reads it when an event says something happened there.

Endpoints and fields as the certificate-service serves them to the reference
hub: ``GET /internalapi/certificate/{id}/metadata`` (``testCertificate``),
``POST /internalapi/certificate/{id}/xml`` (the certificate's XML in base64,
``certificateType``, ``recipient``, ``revoked``, ``patientId``, ``unit``,
``careProvider``) and ``POST /internalapi/message/{id}/xml``.
"""

from __future__ import annotations

import base64
import datetime as dt
from xml.sax.saxutils import escape

import requests
from lxml import etree

from intygsgw import ns
from intygsgw.domain.personnummer import try_parse_person_id
from intygsgw.errors import GatewayError
from intygsgw.interactions import REVOKE_CERTIFICATE_2
from intygsgw.service.ports import CsCertificate, CsMessage

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
HSA_ROOT = "1.2.752.129.2.1.4.1"


class CertificateServiceError(GatewayError):
    """The certificate-service did not answer usably; the event is tried again."""


class HttpCertificateService:
    def __init__(self, base_url: str, timeout: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _json(self, method: str, path: str) -> dict:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout)
        except requests.RequestException as exc:
            raise CertificateServiceError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise CertificateServiceError(f"{method} {path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise CertificateServiceError(f"{method} {path}: not JSON") from None
        if not isinstance(data, dict):
            raise CertificateServiceError(f"{method} {path}: not a JSON object")
        return data

    def is_test_certificate(self, certificate_id: str) -> bool:
        return bool(self._json("GET", f"/internalapi/certificate/{certificate_id}/metadata").get("testCertificate"))

    def certificate(self, certificate_id: str) -> CsCertificate:
        data = self._json("POST", f"/internalapi/certificate/{certificate_id}/xml")
        try:
            root = _root(data["xml"])
            element = _serialised(root)
            intyg = next((c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "intyg"), None)
            patient = str((data.get("patientId") or {}).get("id", ""))
            recipient = data.get("recipient") or {}
            revoked = data.get("revoked")
            return CsCertificate(
                certificate_id=str(data.get("certificateId") or certificate_id),
                certificate_type=str(data["certificateType"]),
                patient_id=patient,
                register_request=element,
                recipient_id=str(recipient["id"]) if recipient.get("id") and recipient.get("sent") else None,
                revocation_request=_revocation(certificate_id, patient, data) if revoked else None,
                intyg=intyg,
            )
        except (KeyError, TypeError, ValueError, etree.XMLSyntaxError) as exc:
            raise CertificateServiceError(f"certificate {certificate_id}: unusable answer: {exc!r}") from None

    def message(self, message_id: str) -> CsMessage:
        data = self._json("POST", f"/internalapi/message/{message_id}/xml")
        try:
            root = _root(data["xml"])
            request = _serialised(root)
            address = (
                root.findtext(f"{{{root.nsmap.get(None) or etree.QName(root).namespace}}}logiskAdressMottagare") or ""
            ).strip()
        except (KeyError, TypeError, ValueError, etree.XMLSyntaxError) as exc:
            raise CertificateServiceError(f"message {message_id}: unusable answer: {exc!r}") from None
        if not address:
            raise CertificateServiceError(f"message {message_id}: no logiskAdressMottagare")
        return CsMessage(message_id, address, request)


def _root(xml_base64: str) -> etree._Element:
    return etree.fromstring(base64.b64decode(xml_base64, validate=True), _PARSER)


def _serialised(root: etree._Element) -> bytes:
    """The document's root element, without an XML declaration, so that it can go into a SOAP Body."""
    return etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def _revocation(certificate_id: str, patient: str, data: dict) -> bytes:
    """A RevokeCertificate 2 from CS's revocation: the revoker as skickatAv, workplace code 0000000 if none."""
    revoked, unit, giver = data["revoked"], data.get("unit") or {}, data.get("careProvider") or {}
    staff = revoked.get("revokedBy") or {}
    at = str(revoked.get("revokedAt") or dt.datetime.now().replace(microsecond=0).isoformat())[:19]
    person = try_parse_person_id(patient)
    if person is None:
        raise ValueError(f"patient id {patient!r} is no personnummer or samordningsnummer")
    message = revoked.get("message") or revoked.get("reason")
    meddelande = f"<v:meddelande>{escape(str(message))}</v:meddelande>" if message else ""

    def text(value) -> str:
        return escape(str(value or ""))

    return (
        f'<v:RevokeCertificate xmlns:v="{REVOKE_CERTIFICATE_2.namespace}" xmlns:c="{ns.CORE}" xmlns:t="{ns.TYPES}">'
        f"{meddelande}<v:skickatTidpunkt>{text(at)}</v:skickatTidpunkt>"
        f"<v:intygs-id><t:root>{text(unit.get('unitId'))}</t:root><t:extension>{text(certificate_id)}</t:extension></v:intygs-id>"
        f"<v:patientPerson-id><t:root>{person.root}</t:root><t:extension>{person.digits}</t:extension></v:patientPerson-id>"
        f"<v:skickatAv><c:personal-id><t:root>{HSA_ROOT}</t:root><t:extension>{text(staff.get('personId'))}</t:extension>"
        f"</c:personal-id><c:fullstandigtNamn>{text(staff.get('fullName'))}</c:fullstandigtNamn>"
        f"<c:enhet><c:enhets-id><t:root>{HSA_ROOT}</t:root><t:extension>{text(unit.get('unitId'))}</t:extension></c:enhets-id>"
        f"<c:arbetsplatskod><t:root>1.2.752.29.4.71</t:root><t:extension>{text(unit.get('workplaceCode') or '0000000')}"
        f"</t:extension></c:arbetsplatskod><c:enhetsnamn>{text(unit.get('unitName'))}</c:enhetsnamn>"
        f"<c:postadress>{text(unit.get('address'))}</c:postadress><c:postnummer>{text(unit.get('zipCode'))}</c:postnummer>"
        f"<c:postort>{text(unit.get('city'))}</c:postort><c:telefonnummer>{text(unit.get('phoneNumber'))}</c:telefonnummer>"
        f"<c:vardgivare><c:vardgivare-id><t:root>{HSA_ROOT}</t:root><t:extension>{text(giver.get('unitId'))}</t:extension>"
        f"</c:vardgivare-id><c:vardgivarnamn>{text(giver.get('unitName'))}</c:vardgivarnamn></c:vardgivare></c:enhet>"
        f"</v:skickatAv></v:RevokeCertificate>"
    ).encode()
