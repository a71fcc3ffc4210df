"""The authorization table's look-up rules, file errors and the dispatcher's refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from intygsgw.trust.authorization import AuthorizationFileError, CallGate, parse_authorizations

NS = "urn:riv:clinicalprocess:healthcond:certificate:{}Responder:{}"
DAY = dt.date(2026, 11, 23)

TABLE = """
[[authorization]]
consumer = "SE-A"
contract = "RegisterCertificate:3"
logical_address = "5565594230"

[[authorization]]
consumer = "SE-B"
contract = "GetCertificate:2"
logical_address = "*"
valid_from = 2026-12-01

[[authorization]]
consumer = "SE-C"
contract = "*"
logical_address = "FKORG"
valid_to = 2026-11-23
"""


@pytest.fixture
def table():
    return parse_authorizations(TABLE)


def test_exact_entry_case_insensitive(table):
    assert table.allows("se-a", NS.format("RegisterCertificate", 3), "5565594230", DAY)
    assert not table.allows("SE-A", NS.format("RegisterCertificate", 3), "OTHER", DAY)
    assert not table.allows("SE-A", NS.format("GetCertificate", 2), "5565594230", DAY)


def test_default_address_and_validity(table):
    assert not table.allows("SE-B", NS.format("GetCertificate", 2), "anything", DAY)  # not yet valid
    assert table.allows("SE-B", NS.format("GetCertificate", 2), "anything", dt.date(2026, 12, 1))


def test_every_contract_last_valid_day(table):
    assert table.allows("SE-C", NS.format("RevokeCertificate", 2), "fkorg", DAY)
    assert not table.allows("SE-C", NS.format("RevokeCertificate", 2), "fkorg", DAY + dt.timedelta(days=1))


def test_no_caller_is_never_allowed(table):
    assert not table.allows(None, NS.format("RegisterCertificate", 3), "5565594230", DAY)
    gate = CallGate(lambda: table, lambda: DAY)
    fault = gate.refusal(None, NS.format("RegisterCertificate", 3), "5565594230")
    assert fault.string.startswith("VP002 [intygsgw]") and fault.code == "Client"
    fault = gate.refusal("SE-Z", NS.format("RegisterCertificate", 3), "5565594230")
    assert fault.string.startswith("VP007 [intygsgw]") and fault.code == "Server"
    assert gate.refusal("SE-A", NS.format("RegisterCertificate", 3), "5565594230") is None


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[authorization]]\nconsumer = "*"\ncontract = "*"\nlogical_address = "*"', "not '*'"),
        ('[[authorization]]\nconsumer = "SE-A"\ncontract = "Bad"\nlogical_address = "*"', "Name:major"),
        ('[[authorization]]\nconsumer = "SE-A"\ncontract = "*"', "logical_address"),
        (
            '[[authorization]]\nconsumer = "SE-A"\ncontract = "*"\nlogical_address = "*"\nvalid_to = "soon"',
            "not a date",
        ),
        ('[[authorization]]\nconsumer = "SE-A"\ncontract = "*"\nlogical_address = "*"\nrole = "x"', "unknown field"),
        ('[[authorisation]]\nconsumer = "SE-A"', "unknown table"),
    ],
)
def test_file_errors_name_the_problem(text, message):
    with pytest.raises(AuthorizationFileError, match=message):
        parse_authorizations(text, "auth.toml")
