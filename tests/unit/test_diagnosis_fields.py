"""Where a type keeps its diagnoses ([diagnosis_data]) and reading them back from a stored certificate."""

from __future__ import annotations

import pytest
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.domain.records import StoredDocument
from intygsgw.rules.catalog import DEFAULT_DIR, CatalogError, load_catalog
from intygsgw.rules.definitions import load_types
from intygsgw.soap.source import element_source

TYPES = load_types(DEFAULT_DIR)


def stored(spec: CertificateSpec) -> StoredDocument:
    """The RegisterCertificate element as the gateway stores it: its bytes, and the namespaces it inherited."""
    data = samples.register_certificate(spec)
    element = etree.fromstring(data).find(".//{*}RegisterCertificate")
    source = element_source(data, element)
    return StoredDocument(source.xml, source.inherited_namespaces)


def diagnoses_svar(*codes: str) -> str:
    return (
        '<c:svar id="6">'
        + "".join(
            f'<c:delsvar id="6.{2 * n + 2}"><t:cv><t:code>{code}</t:code>'
            f"<t:codeSystem>1.2.752.116.1.1.1.1.3</t:codeSystem></t:cv></c:delsvar>"
            for n, code in enumerate(codes)
        )
        + "</c:svar>"
    )


def test_a_lakarutlatandes_diagnoses_are_read_main_first():
    spec = CertificateSpec(type_code="LUSE", extra_answers=(diagnoses_svar("F321", "M545", "G439"),))
    assert TYPES.diagnoses("luse", stored(spec)) == ("F321", "M545", "G439")


def test_a_sick_leave_types_diagnoses_are_those_of_its_sick_leave_data():
    assert TYPES.diagnoses("lisjp", stored(CertificateSpec())) == ("M544", "G479")


def test_a_type_that_names_no_diagnoses_has_none_and_an_unreadable_document_none():
    assert TYPES.catalog.by_id("db").diagnosis_fields is None
    assert TYPES.diagnoses("db", stored(CertificateSpec())) is None
    assert TYPES.diagnoses("luse", StoredDocument(b"<not-closed>", {})) is None


def test_a_malformed_diagnosis_table_is_a_catalogue_error(tmp_path):
    text = (DEFAULT_DIR / "luse.toml").read_text(encoding="utf-8")
    assert 'secondary_diagnoses = ["6.4", "6.6"]' in text
    (tmp_path / "luse.toml").write_text(text.replace('["6.4", "6.6"]', '"6.4"'), encoding="utf-8")
    with pytest.raises(CatalogError, match="diagnosis_data"):
        load_catalog(tmp_path)


def test_an_ag114s_grade_is_its_quantity_and_its_diagnoses_each_a_svar():
    answers = (
        '<c:svar id="1"><c:delsvar id="1.1"><t:cv><t:code>NUVARANDE_ARBETE</t:code>'
        "<t:codeSystem>KV_FKMU_0002</t:codeSystem></t:cv></c:delsvar></c:svar>",
        *(
            f'<c:svar id="4"><c:instans>{n}</c:instans><c:delsvar id="4.2"><t:cv><t:code>{code}</t:code>'
            "<t:codeSystem>1.2.752.116.1.1.1.1.3</t:codeSystem></t:cv></c:delsvar></c:svar>"
            for n, code in enumerate(("J20", "F321"), start=1)
        ),
        '<c:svar id="7"><c:delsvar id="7.1"><t:pq><t:value>25.0</t:value><t:unit>procent</t:unit></t:pq>'
        '</c:delsvar><c:delsvar id="7.2"><t:datePeriod><t:start>2026-11-02</t:start><t:end>2026-11-20</t:end>'
        "</t:datePeriod></c:delsvar></c:svar>",
    )
    document = stored(CertificateSpec(type_code="AG1-14", extra_answers=answers))
    work = TYPES.work_capacity("ag114", document)
    assert work is not None and work.patient_name == "Tolvan Tolvansson"
    assert [(p.start.isoformat(), p.end.isoformat(), p.grade) for p in work.periods] == [
        ("2026-11-02", "2026-11-20", 25)
    ]
    assert work.occupations == ("Nuvarande arbete",)
    assert TYPES.diagnoses("ag114", document) == ("J20", "F321")
    assert TYPES.work_capacity("luse", document) is None
