"""Certificates to send a receiver: one valid RegisterCertificate of each type, signed or not, large or not.

A type's answers come from its data definition (the rules corpus builds a
valid set of answers), the rest of the intyg from the project's samples, so
every type the gateway knows can be sent without writing its XML by hand.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.rules_corpus import CorpusBuilder, render
from intygsgw.interactions import REGISTER_CERTIFICATE_3
from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog
from intygsgw.rules.definitions import load_definition
from intygsgw.soap.schemas import compiled

CORE = "{urn:riv:clinicalprocess:healthcond:certificate:3}"
REGISTER = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}"


def types_with_definitions() -> list[str]:
    """Type ids whose answers the corpus can build (a data definition of their latest major version)."""
    out = []
    for ctype in load_catalog(DEFAULT_DIR):
        major = max(ctype.majors, key=int) if ctype.majors else None
        if major and (DEFAULT_DIR / ctype.id / f"v{major}.toml").exists():
            out.append(ctype.id)
    return sorted(out)


@functools.cache
def _answers(type_id: str) -> tuple[str, tuple[str, ...]]:
    """(text version, svar elements as XML) of a valid certificate of the type.

    The corpus builds answers the type's rules accept; the first seed whose
    whole request also passes the contract schema and the rules is taken, so
    what is sent is a certificate the gateway itself would accept.
    """
    ctype = load_catalog(DEFAULT_DIR).by_id(type_id)
    if ctype is None:
        raise ValueError(f"unknown certificate type {type_id!r}")
    version = max(ctype.versions, key=lambda v: [int(x) for x in v.split(".")])
    definition = load_definition(DEFAULT_DIR / type_id / f"v{version.split('.')[0]}.toml")
    schema = compiled(REGISTER_CERTIFICATE_3.schema)
    for seed in range(40):
        model = CorpusBuilder(definition, seed=seed).valid_model()
        if model is None:
            continue
        intyg = render(model).find(f"{REGISTER}intyg")
        for empty in (s for s in intyg.iterchildren(f"{CORE}svar") if s.find(f"{CORE}delsvar") is None):
            # A question whose parts the type leaves open: the schema still wants one delsvar.
            etree.SubElement(empty, f"{CORE}delsvar", id=f"{empty.get('id')}.1").text = "Se journalanteckning."
        svar = tuple(etree.tostring(s, encoding="unicode") for s in intyg.iterchildren(f"{CORE}svar"))
        spec = samples.CertificateSpec(type_code=ctype.code, version=version, extra_answers=svar)
        request = etree.fromstring(samples.register_certificate(spec)).find(f".//{REGISTER}RegisterCertificate")
        if schema.validate(request) and not definition.validate(request.find(f"{REGISTER}intyg")):
            return version, svar
    raise ValueError(f"no valid certificate of type {type_id} could be built")


def spec_for(type_id: str, certificate_id: str, person: str, **fields) -> samples.CertificateSpec:
    if type_id == "lisjp":
        return samples.CertificateSpec(certificate_id=certificate_id, person_id=person, **fields)
    ctype = load_catalog(DEFAULT_DIR).by_id(type_id)
    assert ctype is not None
    version, svar = _answers(type_id)
    return samples.CertificateSpec(
        certificate_id=certificate_id,
        person_id=person,
        type_code=ctype.code,
        version=version,
        extra_answers=svar,
        **fields,
    )


def register_element(spec: samples.CertificateSpec, *, signed: bool = False) -> str:
    """The whole RegisterCertificate element, namespaces declared on it, ready for a SOAP Body."""
    if signed:
        from intygsgw.devtools.samples.signed import signed_register_certificate

        raw = signed_register_certificate(spec, _signing_key())
    else:
        raw = samples.register_certificate(spec)
    root = etree.fromstring(raw)
    element = root.find(f".//{REGISTER}RegisterCertificate")
    return etree.tostring(element, encoding="unicode")


@functools.cache
def _signing_key():
    from intygsgw.devtools.devpki import create_dev_keys
    from intygsgw.signing.sign import load_signing_key

    # Read into memory and the folder removed: a run must not leave private keys behind in /tmp.
    with tempfile.TemporaryDirectory(prefix="conformance-keys-") as folder:
        keys = create_dev_keys(Path(folder))
        return load_signing_key(keys.signer.key_path, keys.signer.cert_path)


def status_update_element(spec: samples.CertificateSpec, event_code: str = "SKICKA") -> str:
    """A CertificateStatusUpdateForCare 3 as the gateway sends one to a care system, for ``spec``'s certificate."""
    import datetime as dt

    from intygsgw.domain.records import CertificateRecord, StoredDocument
    from intygsgw.domain.states import HSVARD, State, StateEntry
    from intygsgw.handlers.notifications import render_status_update
    from intygsgw.service.notifications import Event, QuestionCounts
    from intygsgw.service.views import CertificateView

    register = etree.tostring(
        etree.fromstring(samples.register_certificate(spec)).find(f".//{REGISTER}RegisterCertificate")
    )
    signed = dt.datetime.fromisoformat(spec.signed_at)
    now = dt.datetime.now().replace(microsecond=0)
    record = CertificateRecord(
        id=spec.certificate_id,
        type=spec.type_code.lower(),
        type_version=spec.version,
        person_id=spec.person_id,
        signed_at=signed,
        care_unit_id=spec.care_unit_id,
        care_unit_name=spec.care_unit_name,
        care_giver_id=spec.care_giver_id,
        doctor_id=spec.doctor_id,
        doctor_name=spec.doctor_name,
        received_at=now,
    )
    statuses = [StateEntry(State.RECEIVED, HSVARD, now)]
    view = CertificateView(record, StoredDocument(register, {}), statuses)
    return render_status_update(view, Event(event_code, now), QuestionCounts(), QuestionCounts()).decode("utf-8")
