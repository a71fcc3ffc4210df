"""One sick-leave certificate as the rehabilitation contracts list it: an ``intygsData`` element, as text.

A certificate's ``intygsData`` never changes once it is signed (revocation and
replacement only take it off the lists), so it is rendered once, when the
certificate is stored, and a unit's list is the stored items joined
(intygsgw.service.sick_leave.unit_items). Items are written with the prefixes
``r`` (the rehabilitation model) and ``t`` (the RIV types); the answers that
carry them bind both on their root.

Changing what an item looks like therefore needs a migration that clears the
stored items (``listed_item = NULL``): an item that is not stored is rendered
when it is read.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from intygsgw.domain.personnummer import PersonId
from intygsgw.domain.sick_leave import SickLeaveCertificate
from intygsgw.handlers.responses import HSA_ROOT, format_timestamp

# Characters XML 1.0 cannot carry at all; stored data should hold none, and a rendered list
# must not become malformed if some did.
_NOT_XML = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))

Signers = dict[tuple[str, str, str, str, str], str]


def xml_text(value: str) -> str:
    """``value`` as XML character data."""
    return escape(value).translate(_NOT_XML)


def render_intygs_data(cert: SickLeaveCertificate, signers: Signers | None = None) -> str:
    """The certificate's ``intygsData``; ``signers`` keeps each signer's ``skapadAv`` across one list."""
    person = PersonId(cert.patient_id)
    periods = "".join(
        [
            f"<r:formaga><r:startdatum>{p.start.isoformat()}</r:startdatum><r:slutdatum>{p.end.isoformat()}"
            f"</r:slutdatum><r:nedsattning>{int(p.grade)}</r:nedsattning></r:formaga>"
            for p in cert.periods
        ]
    )
    secondary = "".join([f"<r:bidiagnoser>{xml_text(code)}</r:bidiagnoser>" for code in cert.secondary_diagnoses])
    # The schema allows four; the stored list is at most the type's four employment codes.
    employment = "".join([f"<r:sysselsattning>{xml_text(code)}</r:sysselsattning>" for code in cert.employment[:4]])
    key = (cert.doctor_id, cert.doctor_name, cert.care_unit_id, cert.care_unit_name, cert.care_giver_id)
    skapad_av = signers.get(key) if signers is not None else None
    if skapad_av is None:
        skapad_av = _skapad_av(cert)
        if signers is not None:
            signers[key] = skapad_av
    return (
        f"<r:intygsData><r:intygsId>{xml_text(cert.certificate_id)}</r:intygsId>"
        f"<r:patient><r:personId><t:root>{person.root}</t:root><t:extension>{person.digits}</t:extension></r:personId>"
        f"<r:fullstandigtNamn>{xml_text(cert.patient_name)}</r:fullstandigtNamn></r:patient>{skapad_av}"
        f"<r:diagnoskod>{xml_text(cert.diagnosis)}</r:diagnoskod>{secondary}"
        f"<r:arbetsformaga>{periods}</r:arbetsformaga><r:enkeltIntyg>false</r:enkeltIntyg>"
        f"<r:signeringsTidpunkt>{format_timestamp(cert.signed_at)}</r:signeringsTidpunkt>{employment}"
        f"</r:intygsData>"
    )


def _hsa_xml(tag: str, extension: str) -> str:
    return f"<r:{tag}><t:root>{HSA_ROOT}</t:root><t:extension>{xml_text(extension)}</t:extension></r:{tag}>"


def _skapad_av(cert: SickLeaveCertificate) -> str:
    return (
        f"<r:skapadAv>{_hsa_xml('personalId', cert.doctor_id)}"
        f"<r:fullstandigtNamn>{xml_text(cert.doctor_name)}</r:fullstandigtNamn><r:befattningar/>"
        f"<r:enhet>{_hsa_xml('enhetsId', cert.care_unit_id)}"
        f"<r:enhetsnamn>{xml_text(cert.care_unit_name)}</r:enhetsnamn>"
        f"<r:vardgivare>{_hsa_xml('vardgivarId', cert.care_giver_id)}<r:vardgivarnamn/></r:vardgivare>"
        f"</r:enhet></r:skapadAv>"
    )
