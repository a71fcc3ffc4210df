"""The internal listener under mutual TLS: only listed callers, each only on its own paths."""

from __future__ import annotations

import pytest
import requests

from tests.internalapi.support import InternalGateway, OpenApiChecked, access_entries
from tests.support.pki import TestCA

MINA_INTYG = "SE2321000016-MI01"
TERMINATION = "SE2321000016-KU01"
STRANGER = "SE2321000016-XX01"
PERSON = "191212121212"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("internal-pki")
    ca = TestCA(folder / "ca", "Internal Test CA")

    class Pki:
        pass

    p = Pki()
    p.ca, p.server = ca, ca.server()
    p.mina_intyg, p.termination, p.stranger = ca.client(MINA_INTYG), ca.client(TERMINATION), ca.client(STRANGER)
    p.no_serial = ca.client(None)
    return p


@pytest.fixture(scope="module")
def tls_internal(pki, tmp_path_factory):
    work = tmp_path_factory.mktemp("internal-tls")
    callers = work / "internal-callers.toml"
    callers.write_text(
        f'[[caller]]\nhsa_id = "{MINA_INTYG}"\npaths = ["/internalapi/citizen", "/internalapi/citizen/*"]\n'
        'methods = ["POST"]\n\n'
        f'[[caller]]\nhsa_id = "{TERMINATION}"\npaths = ["/internalapi/v1/*"]\n'
    )
    gw = InternalGateway(
        work,
        extra_env={
            "INTYGSGW_INTERNAL_TLS_CERT": str(pki.server.cert_path),
            "INTYGSGW_INTERNAL_TLS_KEY": str(pki.server.key_path),
            "INTYGSGW_INTERNAL_CLIENT_CA": str(pki.ca.cert_path),
            "INTYGSGW_INTERNAL_AUTHORIZATION_FILE": str(callers),
        },
        https={"cert": pki.mina_intyg.pair, "verify": str(pki.ca.cert_path)},
    ).start()
    yield gw
    gw.stop()


def call(gw, pki, client, method, path, body=None):
    answer = requests.request(
        method,
        gw.internal_url + path,
        json=body,
        cert=client.pair if client else None,
        verify=str(pki.ca.cert_path),
        timeout=30,
    )
    OpenApiChecked(gw.internal_url, gw.https).check(method, path, answer)
    return answer


def test_a_listed_caller_may_call_its_paths_and_is_in_the_access_log(tls_internal, pki):
    answer = call(tls_internal, pki, pki.mina_intyg, "POST", "/internalapi/citizen", {"patientId": PERSON})
    assert answer.status_code == 200, answer.text
    entries = access_entries(tls_internal, PERSON)
    assert entries[-1]["caller"] == MINA_INTYG
    assert call(tls_internal, pki, pki.termination, "GET", "/internalapi/v1/certificatetexts").status_code == 200


def test_a_caller_is_refused_elsewhere_and_a_stranger_everywhere(tls_internal, pki):
    for client, method, path in [
        (pki.mina_intyg, "GET", "/internalapi/v1/certificates/SE2321000016-CG01"),
        (pki.mina_intyg, "GET", "/internalapi/message/abc"),
        (pki.termination, "POST", "/internalapi/citizen"),
        (pki.stranger, "POST", "/internalapi/citizen"),
        (pki.no_serial, "POST", "/internalapi/citizen"),
    ]:
        answer = call(tls_internal, pki, client, method, path, {"patientId": PERSON} if method == "POST" else None)
        assert answer.status_code == 403, (client, path)
        assert answer.headers["Content-Type"] == "application/problem+json"


def test_without_a_client_certificate_there_is_no_connection(tls_internal, pki):
    with pytest.raises(requests.exceptions.SSLError):
        call(tls_internal, pki, None, "POST", "/internalapi/citizen", {"patientId": PERSON})
