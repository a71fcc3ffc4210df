import datetime as dt

import pytest

from intygsgw.outbound.routing import RouteFileError, RoutingError, parse_routes

ROUTES = """
[defaults]
read_timeout = 10

[[route]]
contract = "RevokeCertificate:2"
logical_address = "FKORG"
url = "https://fk.example/revoke"
connect_timeout = 1

[[route]]
contract = "RevokeCertificate:2"
logical_address = "*"
url = "https://default.example/revoke"

[[route]]
contract = "RegisterCertificate:3"
logical_address = "TRANSP"
url = "https://old.example/register"
valid_to = 2026-06-30

[[route]]
contract = "RegisterCertificate:3"
logical_address = "transp"
url = "https://new.example/register"
valid_from = 2026-07-01
"""
REVOKE = "urn:riv:clinicalprocess:healthcond:certificate:RevokeCertificateResponder:2"
REGISTER = "urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3"
DAY = dt.date(2026, 11, 23)


def test_exact_route_is_case_insensitive_and_carries_its_timeouts():
    route = parse_routes(ROUTES).resolve(REVOKE, "fkorg", DAY)
    assert route.url == "https://fk.example/revoke"
    assert (route.connect_timeout, route.read_timeout) == (1.0, 10.0)


def test_unknown_address_falls_back_to_the_default_route():
    assert parse_routes(ROUTES).resolve(REVOKE, "SOMEWHERE", DAY).url == "https://default.example/revoke"


def test_validity_dates_pick_the_route_in_force():
    table = parse_routes(ROUTES)
    assert table.resolve(REGISTER, "TRANSP", dt.date(2026, 6, 30)).url == "https://old.example/register"
    assert table.resolve(REGISTER, "TRANSP", dt.date(2026, 7, 1)).url == "https://new.example/register"


def test_no_route_names_contract_and_address():
    with pytest.raises(RoutingError, match=r"RegisterCertificate:3.*'SKV'"):
        parse_routes(ROUTES).resolve(REGISTER, "SKV", DAY)


def test_two_matching_routes_are_an_error():
    doubled = ROUTES + ROUTES.split("[[route]]", 2)[1].join(["[[route]]", ""])
    with pytest.raises(RoutingError, match="exactly one"):
        parse_routes(doubled).resolve(REVOKE, "FKORG", DAY)


@pytest.mark.parametrize(
    "bad, message",
    [
        ('[[route]]\ncontract = "RevokeCertificate:2"\nurl = "https://x"\n', "logical_address"),
        ('[[route]]\ncontract = "Revoke"\nlogical_address = "A"\nurl = "https://x"\n', "Name:major"),
        ('[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "A"\nurl = "ftp://x"\n', "http"),
        (
            '[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "A"\nurl = "https://x"\nvalid_from = "soon"\n',
            "date",
        ),
        (
            '[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "A"\nurl = "https://x"\ncolour = 1\n',
            "colour",
        ),
    ],
)
def test_bad_route_files_name_the_route_and_field(bad, message):
    with pytest.raises(RouteFileError, match=message):
        parse_routes(bad, "routes.toml")


def test_every_served_contract_is_named_by_its_short_name():
    """Routes and authorizations say ``Name:major``; that must give each served
    contract's own request namespace, the Inera-internal ones included."""
    from intygsgw.outbound.routing import contract_namespace, short_name
    from intygsgw.registry import CONTRACTS

    for contract in CONTRACTS:
        name = f"{contract.name}:{contract.major}"
        assert contract_namespace(name) == contract.namespace, name
        assert short_name(contract.namespace) == name


@pytest.mark.parametrize(
    "timeouts", ["read_timeout = 60", "connect_timeout = 0", "connect_timeout = 5\nread_timeout = 51"]
)
def test_a_call_must_fit_well_within_the_delivery_lease(timeouts):
    text = (
        f'[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "*"\nurl = "https://x.example/r"\n{timeouts}\n'
    )
    with pytest.raises(RouteFileError, match="add up to at most 55 s"):
        parse_routes(text)
