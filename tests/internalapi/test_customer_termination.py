"""Customer termination over real HTTP and the CLI: texts, export, erase, and a re-import that restores."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, select

from intygsgw.storage.care_provider import _NUMBERED, _OWNED, REHAB_STATUS_TABLE
from tests.internalapi.data import day, new_hsa, new_person, register, revoke, set_status
from tests.internalapi.support import access_entries, cli, db_url
from tests.internalapi.test_webcert import relay_to_care


def seed(api, soap, gateway, provider: str) -> list[str]:
    """A care provider with one of everything: relations, revocation, archive, a send, messages, sick leave,
    a rehabilitation status."""
    unit, person, other = new_hsa("U"), new_person(), new_person()
    first = register(soap, person, unit=unit, care_giver=provider, signed=f"{day(-30)}T08:00:00")
    replacing = register(soap, person, unit=unit, care_giver=provider, relation=("ERSATT", first))
    revoked = register(soap, other, unit=unit, care_giver=provider)
    revoke(soap, revoked, other)
    archived = register(soap, other, unit=unit, care_giver=provider)
    set_status(soap, archived, "DELETE")
    sent = api.post(
        "/internalapi/citizen/send", {"certificateId": replacing, "patientId": person, "recipient": "FKASSA"}
    )
    assert sent.status_code == 200
    relay_to_care(gateway, str(uuid.uuid4()), first, person)
    status = {
        "patientId": person, "statusId": "REKO_3", "careProviderId": provider, "careUnitId": unit,
        "staffId": "SE-REHAB-1", "staffName": "Rut Rehab", "sickLeaveTimestamp": f"{day(-10)}T00:00:00",
    }  # fmt: skip
    assert api.post("/internalapi/reko", status).status_code == 200
    register(soap, new_person(), care_giver=new_hsa("CG"))  # another care provider's
    return sorted([first, replacing, revoked, archived])


def dump(url: str, ids: list[str], provider: str) -> dict[str, list[tuple]]:
    """Every stored row of these certificates and of the care provider, the database's own numbering left out."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table, key, _ in _OWNED:
            columns = [c for c in table.columns if not (table.name in _NUMBERED and c.key == "id")]
            rows = conn.execute(select(*columns).where(table.c[key].in_(ids))).all()
            out[table.name] = sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows)
        statuses = REHAB_STATUS_TABLE
        columns = [c for c in statuses.columns if c.key != "id"]
        rows = conn.execute(select(*columns).where(statuses.c.care_provider_id == provider)).all()
        out[statuses.name] = sorted(tuple(r) for r in rows)
    engine.dispose()
    return out


def streamed(api, provider: str) -> bytes:
    path = f"/internalapi/v1/certificates/{provider}"
    answer = api.get(path, stream=True)
    body = answer.raw.read()
    api.check("GET", path, answer, body)
    return body


def without_time(export: bytes) -> list[bytes]:
    lines = export.splitlines()
    header = json.loads(lines[0])
    header.pop("exportedAt")
    return [json.dumps(header).encode(), *lines[1:]]


def test_certificate_texts_in_force(api):
    texts = api.get("/internalapi/v1/certificatetexts").json()
    assert [(t["type"], t["version"]) for t in texts] == [("lisjp", "1.3")]
    assert "KAT_1" in texts[0]["xml"]


def test_export_erase_and_reimport_restore_the_care_provider_byte_for_byte(api, soap, gateway, tmp_path):
    provider = new_hsa("CG")
    ids = seed(api, soap, gateway, provider)
    url = db_url(gateway)
    before = dump(url, ids, provider)
    assert all(
        before[t]
        for t in ("certificate", "certificate_state", "relation", "message", "sick_leave_certificate", "rehab_status")
    )

    export = streamed(api, provider)
    lines = [json.loads(line) for line in export.splitlines()]
    assert lines[0]["kind"] == "header" and lines[0]["total"] == 4 and lines[0]["totalRevoked"] == 1
    assert lines[-1] == {"kind": "end", "count": 4, "rehabStatuses": 1}
    assert sorted(line["id"] for line in lines[1:-2]) == ids
    file = tmp_path / "export.jsonl"
    file.write_bytes(export)

    erased = api.delete(f"/internalapi/v1/certificates/{provider}")
    assert erased.status_code == 200
    assert erased.json() == {"careProviderId": provider, "erasedCount": 4}
    assert api.get(f"/internalapi/intygInfo/{provider}/count").json() == 0
    assert all(rows == [] for rows in dump(url, ids, provider).values())
    assert api.get(f"/internalapi/intygInfo/{ids[0]}").status_code == 404

    done = cli("import", "--in", str(file), "--db", url)
    assert done.returncode == 0, done.stderr
    assert "imported 4 certificates" in done.stderr
    assert dump(url, ids, provider) == before
    assert without_time(streamed(api, provider)) == without_time(export)

    again = cli("import", "--in", str(file), "--db", url)
    assert "skipped 4 already stored" in again.stderr
    assert dump(url, ids, provider) == before


def test_the_erase_is_counted_in_the_access_log(api, soap, gateway):
    provider = new_hsa("CG")
    person = new_person()
    cid = register(soap, person, care_giver=provider)
    assert api.delete(f"/internalapi/v1/certificates/{provider}").json()["erasedCount"] == 1
    entries = access_entries(gateway, person)
    erased = [e for e in entries if e["contract"] == "internalapi:eraseCareProvider"]
    assert [(e["outcome"], e["certificate_ids"]) for e in erased] == [("ERASED:1", [cid])]


def test_the_paged_export_of_the_reference(api, soap, gateway):
    provider = new_hsa("CG")
    ids = sorted(register(soap, new_person(), care_giver=provider) for _ in range(5))
    seen = []
    collected = 0
    while True:
        page = api.get(f"/internalapi/v1/certificates/{provider}", params={"batchSize": 2, "collected": collected})
        body = page.json()
        assert body["careProviderId"] == provider and body["total"] == 5 and body["totalRevoked"] == 0
        if not body["certificateXmls"]:
            break
        assert body["count"] == len(body["certificateXmls"]) <= 2
        seen += [c["id"] for c in body["certificateXmls"]]
        assert all("RegisterCertificate" in c["xml"] and c["revoked"] is False for c in body["certificateXmls"])
        collected += body["count"]
    assert seen == ids


def test_the_cli_exports_what_the_api_streams_and_erases_with_progress(api, soap, gateway, tmp_path):
    provider = new_hsa("CG")
    for _ in range(3):
        register(soap, new_person(), care_giver=provider)
    url = db_url(gateway)
    out = tmp_path / "cli-export.jsonl"
    done = cli("export", "--care-provider", provider, "--out", str(out), "--db", url)
    assert done.returncode == 0, done.stderr
    assert "3/3 certificates exported" in done.stderr
    assert without_time(out.read_bytes()) == without_time(streamed(api, provider))

    refused = cli("erase", "--care-provider", provider, "--db", url)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = cli("erase", "--care-provider", provider, "--yes", "--db", url)
    assert done.returncode == 0, done.stderr
    assert "3/3 certificates erased" in done.stderr
    assert api.get(f"/internalapi/intygInfo/{provider}/count").json() == 0


def test_a_cut_export_is_refused_whole(api, soap, gateway, tmp_path):
    provider = new_hsa("CG")
    register(soap, new_person(), care_giver=provider)
    register(soap, new_person(), care_giver=provider)
    export = streamed(api, provider)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(export.splitlines()[:-1]) + b"\n")
    assert api.delete(f"/internalapi/v1/certificates/{provider}").json()["erasedCount"] == 2
    done = cli("import", "--in", str(cut), "--db", db_url(gateway))
    assert done.returncode == 2 and "cut short" in done.stderr
    assert api.get(f"/internalapi/intygInfo/{provider}/count").json() == 0


@pytest.mark.parametrize("bad", ["--care-provider=a b", "--care-provider="])
def test_the_cli_refuses_a_bad_care_provider_id(bad, tmp_path):
    done = cli("export", bad, "--out", str(tmp_path / "x"), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 2 and "not a care provider HSA id" in done.stderr


def test_test_certificates_are_erased_and_never_shown_to_the_citizen(api, soap, gateway, tmp_path):
    provider, person = new_hsa("CG"), new_person()
    kept = register(soap, person, care_giver=provider, signed=f"{day(-3)}T08:00:00")
    test = register(soap, person, care_giver=provider, signed=f"{day(-2)}T08:00:00")
    export = streamed(api, provider)
    # The gateway has no population register to mark test persons: a test certificate arrives by import.
    lines = [json.loads(line) for line in export.splitlines()]
    for line in lines:
        if line.get("id") == test:
            line["rows"]["certificate"][0]["test_certificate"] = True
    api.delete(f"/internalapi/v1/certificates/{provider}")
    file = tmp_path / "with-test.jsonl"
    file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert cli("import", "--in", str(file), "--db", db_url(gateway)).returncode == 0

    shown = api.post("/internalapi/citizen", {"patientId": person}).json()["content"]
    assert [c["id"] for c in shown] == [kept]
    window = {"from": f"{day(-2)}T00:00:00", "to": f"{day(-2)}T23:59:59"}
    assert api.post("/internalapi/testCertificate/erase", window).json() == {"erasedCount": 1, "failedCount": 0}
    assert api.get(f"/internalapi/intygInfo/{test}").status_code == 404
    assert api.get(f"/internalapi/intygInfo/{kept}").status_code == 200
    assert api.post("/internalapi/testCertificate/erase", window).json() == {"erasedCount": 0, "failedCount": 0}
    bad = api.post("/internalapi/testCertificate/erase", {"from": f"{day(0)}T00:00:00", "to": f"{day(-1)}T00:00:00"})
    assert bad.status_code == 400 and bad.json()["detail"] == "From date is after to date"
