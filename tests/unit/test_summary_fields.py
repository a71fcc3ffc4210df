"""Mina intyg's summary of a certificate ([summary] in a type's catalogue entry) and reading its value."""

from __future__ import annotations

import pytest
from lxml import etree

from intygsgw.domain.records import StoredDocument
from intygsgw.rules.catalog import DEFAULT_DIR, CatalogError, SummaryFields, load_catalog
from intygsgw.rules.definitions import load_types
from intygsgw.rules.sick_leave_fields import SUMMARY_MAX_LENGTH, read_summary_value

TYPES = load_types(DEFAULT_DIR)
C = "urn:riv:clinicalprocess:healthcond:certificate:3"
T = "urn:riv:clinicalprocess:healthcond:certificate:types:3"


def intyg(*svar: str):
    return etree.fromstring(f'<c:intyg xmlns:c="{C}" xmlns:t="{T}">{"".join(svar)}</c:intyg>')


def period(svar_id: str, delsvar_id: str, start: str, end: str) -> str:
    dates = f"<t:datePeriod><t:start>{start}</t:start><t:end>{end}</t:end></t:datePeriod>"
    return f'<c:svar id="{svar_id}"><c:delsvar id="{delsvar_id}">{dates}</c:delsvar></c:svar>'


def code(value: str) -> str:
    return f'<c:svar id="1"><c:delsvar id="1.1"><t:cv><t:code>{value}</t:code></t:cv></c:delsvar></c:svar>'


PERIODS = SummaryFields("Gäller intygsperiod", periods="6.2")
TEXT = SummaryFields("Avser diagnos", text="6.1")
CODES = SummaryFields("Avser behörighet", codes="1.1", code_texts=(("IAV1", "C1"), ("IAV9", "Taxi")))


def test_periods_run_from_the_first_start_to_the_end_of_the_one_that_starts_last():
    # Ordered by start as the reference orders them: the last-starting one's end, not the latest end.
    document = intyg(
        period("6", "6.2", "2026-03-01", "2026-03-05"),
        period("6", "6.2", "2026-01-01", "2026-04-30"),
        period("6", "6.2", "2026-02-01", "2026-02-10"),
    )
    assert read_summary_value(document, PERIODS) == "2026-01-01 - 2026-03-05"


def test_a_period_ending_before_it_starts_is_kept_as_the_reference_keeps_it():
    assert read_summary_value(intyg(period("6", "6.2", "2026-05-10", "2026-05-01")), PERIODS) == (
        "2026-05-10 - 2026-05-01"
    )


def test_a_delsvar_counts_only_in_the_svar_its_id_starts_with():
    assert read_summary_value(intyg(period("3", "6.2", "2026-01-01", "2026-01-31")), PERIODS) is None
    assert read_summary_value(intyg(), PERIODS) is None


def test_the_first_text_and_a_long_one_cut_as_the_reference_stores_it():
    first = '<c:svar id="6"><c:delsvar id="6.1"> Lumbago </c:delsvar><c:delsvar id="6.3">Annan</c:delsvar></c:svar>'
    second = '<c:svar id="6"><c:delsvar id="6.1">Andra</c:delsvar></c:svar>'
    assert read_summary_value(intyg(first, second), TEXT) == "Lumbago"
    long = f'<c:svar id="6"><c:delsvar id="6.1">{"x" * 300}</c:delsvar></c:svar>'
    assert read_summary_value(intyg(long), TEXT) == "x" * SUMMARY_MAX_LENGTH


def test_codes_are_shown_by_their_texts_in_the_certificates_order():
    assert read_summary_value(intyg(code("IAV9"), code("IAV1")), CODES) == "Taxi, C1"
    assert read_summary_value(intyg(), CODES) is None
    # The reference cannot describe a code it does not know, so it gives no value.
    assert read_summary_value(intyg(code("IAV9"), code("IAV99")), CODES) is None


def test_every_code_a_types_rules_accept_for_its_summary_has_a_text():
    for ctype in TYPES.catalog:
        if ctype.summary is None or not ctype.summary.codes:
            continue
        texts = dict(ctype.summary.code_texts)
        for (type_id, major), rules in TYPES.rules.items():
            if type_id != ctype.id:
                continue
            accepted = next(
                d["codes"] for s in rules.raw["svar"] for d in s.get("delsvar", []) if d["id"] == ctype.summary.codes
            )
            assert set(accepted) <= set(texts), (type_id, major, set(accepted) - set(texts))


def test_every_type_the_citizen_sees_has_a_summary_and_the_death_certificates_none():
    summarised = {t.id: t.summary.label for t in TYPES.catalog if t.summary is not None}
    assert summarised == {
        "lisjp": "Gäller intygsperiod",
        "ag7804": "Gäller intygsperiod",
        "ag114": "Gäller intygsperiod",
        "af00213": "Gäller intygsperiod",
        "af00251": "Gäller intygsperiod",
        "luse": "Avser diagnos",
        "luae_na": "Avser diagnos",
        "luae_fs": "Avser diagnos",
        "ts-bas": "Avser behörighet",
        "ts-diabetes": "Avser behörighet",
        "tstrk1009": "Avser behörighet",
        "tstrk1062": "Avser behörighet",
    }
    assert not TYPES.catalog.by_id("af00213").summary.reads_document


def test_a_stored_document_that_cannot_be_read_has_no_value():
    assert TYPES.summary_value("luse", StoredDocument(b"<not-closed>", {})) is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('[summary]\nperiods = "32.2"\n', "'label'"),
        ('[summary]\nlabel = "L"\nperiods = "32.2"\ntext = "6.1"\n', "at most one"),
        ('[summary]\nlabel = "L"\ntext = "61"\n', "delsvar id"),
        ('[summary]\nlabel = "L"\ncodes = "1.1"\n', "go together"),
        ('[summary]\nlabel = "L"\ncodes = "1.1"\n[summary.code_texts]\nIAV1 = 1\n', "maps codes"),
    ],
)
def test_a_malformed_summary_table_is_a_catalogue_error(tmp_path, table, problem):
    text = (DEFAULT_DIR / "db.toml").read_text(encoding="utf-8")
    assert "[summary]" not in text
    (tmp_path / "db.toml").write_text(text + "\n" + table, encoding="utf-8")
    with pytest.raises(CatalogError, match=problem):
        load_catalog(tmp_path)
