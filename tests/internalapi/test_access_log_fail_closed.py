"""The internal API withholds what it could not log, and says why as the SOAP side does."""

from __future__ import annotations

import pytest

from intygsgw.storage.db import connect_sqlite
from tests.internalapi.data import new_person, register
from tests.internalapi.support import InternalGateway, OpenApiChecked
from tests.support.soapclient import GatewayClient


@pytest.fixture
def gateway(tmp_path):
    db = tmp_path / "gw.db"
    gw = InternalGateway(tmp_path, db=f"sqlite:///{db}").start()
    yield gw, db
    gw.stop()


def _citizen_list(api: OpenApiChecked, person: str):
    return api.post("/internalapi/citizen", {"patientId": person})


def _withheld(gateway, breaking: str, text: str) -> None:
    gw, db = gateway
    api, person = OpenApiChecked(gw.internal_url), new_person()
    cid = register(GatewayClient(gw.base_url), person)
    assert [c["id"] for c in _citizen_list(api, person).json()["content"]] == [cid]
    with connect_sqlite(db) as conn:
        conn.execute(breaking)
    answer = _citizen_list(api, person)
    assert answer.status_code == 503 and f"{text}, try again (reference " in answer.text
    assert cid not in answer.text and person not in answer.text


def test_a_list_whose_log_entry_cannot_be_chained_is_withheld(gateway):
    # The chain has no head: the log itself refuses the entry.
    _withheld(gateway, "DELETE FROM access_log_head", "Temporary error")


def test_a_list_whose_log_entry_the_database_refused_is_withheld_as_a_database_error(gateway):
    _withheld(gateway, "DROP TABLE access_log", "Temporary database error")
