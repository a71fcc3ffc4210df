"""A new certificate type reaches a running gateway as two files, with no code and no restart.

The gateway serves a copy of the shipped types folder. A certificate of the
unknown type NYTYP is refused; its catalogue entry alone is refused as a set
(a type is never served without rules) and changes nothing; once its rules
file is there too, NYTYP certificates are accepted, its rules run, and
GetCertificateTypeInfo names it. A broken edit of those rules is refused,
naming file and question, and the set in force stays.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
import requests
from lxml import etree

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.rules.catalog import DEFAULT_DIR
from tests.integration.test_register_business_rules import envelope_without
from tests.support.server import GatewayProcess
from tests.support.soapclient import endpoint_path
from tests.support.waiting import wait_until

CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
XML = {"Content-Type": "text/xml; charset=utf-8"}
UNKNOWN = ("ERROR", "VALIDATION_ERROR", "Certificate with type: NYTYP does not support version: 1.0")


@pytest.fixture()
def types_and_gateway(tmp_path):
    types = tmp_path / "types"
    shutil.copytree(DEFAULT_DIR, types)
    gw = GatewayProcess(
        tmp_path / "gw", extra_env={"INTYGSGW_CERTIFICATE_TYPES_DIR": str(types), "INTYGSGW_DELIVERY": "false"}
    ).start()
    yield types, gw
    gw.stop()


def register(gw, envelope: bytes) -> tuple:
    response = requests.post(
        gw.base_url + endpoint_path("RegisterCertificate", 3), data=envelope, headers=XML, timeout=30
    )
    result = etree.fromstring(response.content).find(".//{*}result")
    return tuple(result.findtext(f"{{{CORE}}}{t}") for t in ("resultCode", "errorId", "resultText"))


def nytyp(certificate_id: str | None = None, drop_svar: str | None = None) -> bytes:
    """A LISJP's answers under the type code NYTYP: the new type reuses LISJP's rules."""
    spec = CertificateSpec(certificate_id=certificate_id or str(uuid.uuid4()), version="1.0")
    envelope = (
        envelope_without(spec, drop_svar=drop_svar, bad_code_in="") if drop_svar else samples.register_certificate(spec)
    )
    assert envelope.count(b"<t:code>LISJP</t:code>") == 1
    return envelope.replace(b"<t:code>LISJP</t:code>", b"<t:code>NYTYP</t:code>")


def test_a_new_type_is_served_once_both_its_files_are_in_place(types_and_gateway):
    types, gw = types_and_gateway
    assert register(gw, nytyp()) == UNKNOWN

    (types / "nytyp.toml").write_text(
        'id = "nytyp"\ncode = "NYTYP"\nname = "Ny intygstyp"\nversions = ["1.0"]\nrecipients = ["FKASSA"]\n',
        encoding="utf-8",
    )
    # Each process looks at the folder when a request comes, at most every 2 s: the test sends requests meanwhile.
    wait_until(
        lambda: (
            register(gw, nytyp()) == UNKNOWN
            and "version 1.x of 'nytyp' has no rules; add nytyp/v1.toml" in gw.log_path.read_text()
        ),
        "the catalogue entry without rules refused",
        every=0.2,
    )

    (types / "nytyp").mkdir()
    lisjp_rules = (DEFAULT_DIR / "lisjp" / "v1.toml").read_text(encoding="utf-8")
    (types / "nytyp" / "v1.toml").write_text(lisjp_rules.replace('type = "lisjp"', 'type = "nytyp"'), encoding="utf-8")
    accepted = str(uuid.uuid4())
    wait_until(lambda: register(gw, nytyp(accepted))[0] == "OK", "NYTYP accepted", every=0.2)
    assert register(gw, nytyp(drop_svar="6")) == (
        "ERROR",
        "VALIDATION_ERROR",
        "6.count: Ett 'MU' måste ha en 'Typ av diagnos'",
    )
    info = requests.post(
        gw.base_url + endpoint_path("GetCertificateTypeInfo", 1),
        headers=XML,
        timeout=30,
        data=samples.get_certificate_type_info(accepted),
    )
    assert etree.fromstring(info.content).findtext(".//{*}typ/{*}code") == "nytyp"  # the module id, as the reference

    (types / "nytyp" / "v1.toml").write_text(
        lisjp_rules.replace('type = "lisjp"', 'type = "nytyp"').replace('type = "boolean"', 'type = "maybe"', 1),
        encoding="utf-8",
    )
    wait_until(
        lambda: (
            register(gw, nytyp())[0] == "OK"
            and "nytyp/v1.toml: delsvar 27.1: type must be one of" in gw.log_path.read_text()
        ),
        "the broken rules refused",
        every=0.2,
    )
    assert register(gw, nytyp(drop_svar="6")) == (
        "ERROR",
        "VALIDATION_ERROR",
        "6.count: Ett 'MU' måste ha en 'Typ av diagnos'",
    )
