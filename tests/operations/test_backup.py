"""``intygsgw backup``: a consistent copy of the SQLite database while the gateway serves."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from intygsgw.cli.main import main
from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.storage.backup import BackupFailed, BackupRefused, back_up_sqlite
from intygsgw.storage.db import connect_sqlite, make_engine
from intygsgw.storage.migrate import upgrade
from tests.support.server import running_gateway
from tests.support.soapclient import GatewayClient

PATIENT = "191212121212"


def _register(client: GatewayClient, certificate_id: str) -> None:
    spec = CertificateSpec(certificate_id=certificate_id, person_id=PATIENT)
    result, _ = client.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
    assert result.result.resultCode == "OK", result.result


def _stored_ids(path: Path) -> set[str]:
    con = connect_sqlite(path)
    try:
        return {row[0] for row in con.execute("SELECT id FROM certificate")}
    finally:
        con.close()


def test_a_backup_during_registrations_holds_every_one_answered_before_it_and_is_served(tmp_path):
    db, copy = tmp_path / "gw.db", tmp_path / "backup" / "copy.db"
    copy.parent.mkdir()
    with running_gateway(tmp_path, db=f"sqlite:///{db}") as gw:
        client = GatewayClient(gw.base_url)
        before = [f"before-{uuid.uuid4()}" for _ in range(20)]
        for certificate_id in before:
            _register(client, certificate_id)
        answered: list[str] = []
        failures: list[BaseException] = []
        stop = threading.Event()

        def keep_registering() -> None:
            own = GatewayClient(gw.base_url)
            while not stop.is_set():
                certificate_id = f"during-{uuid.uuid4()}"
                try:
                    _register(own, certificate_id)
                except BaseException as exc:  # reported below, with the gateway's log
                    failures.append(exc)
                    return
                answered.append(certificate_id)

        writer = threading.Thread(target=keep_registering)
        writer.start()
        try:
            deadline = time.monotonic() + 60
            while len(answered) < 5 and not failures and time.monotonic() < deadline:
                time.sleep(0.01)
            answered_before_backup = list(answered)
            done = subprocess.run(
                [sys.executable, "-m", "intygsgw.cli", "backup", str(copy), "--db", f"sqlite:///{db}"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            after_backup = len(answered)
            deadline = time.monotonic() + 30
            while len(answered) < after_backup + 5 and not failures and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
            writer.join(60)
        assert not failures, (failures, gw.log())
        assert done.returncode == 0, done.stderr
        assert len(answered) >= after_backup + 5, "registrations did not go on once the backup was taken"

    stored = _stored_ids(copy)
    # Everything answered OK before the backup began is in it; what came after the backup is not.
    assert set(before) | set(answered_before_backup) <= stored
    assert not stored >= set(answered)
    assert f"backed up {len(stored):,} certificates (schema " in done.stdout
    # One self-contained file, in place only once complete.
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.db"]

    with running_gateway(tmp_path / "restored", db=f"sqlite:///{copy}") as restored:
        answer = GatewayClient(restored.base_url).call_raw("GetCertificate", 2, samples.get_certificate(before[0]))[0]
        assert answer.intyg["intygs-id"].extension == before[0]


@pytest.fixture
def gateway_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_a_backup_never_overwrites_a_file(gateway_db, tmp_path):
    target = tmp_path / "copy.db"
    target.write_bytes(b"an earlier backup")
    with pytest.raises(BackupRefused, match="exists"):
        back_up_sqlite(gateway_db, target)
    assert target.read_bytes() == b"an earlier backup"


def test_what_is_not_a_sqlite_gateway_database_is_refused_with_the_reason(gateway_db, tmp_path, capsys):
    with pytest.raises(BackupRefused, match="pg_dump"):
        back_up_sqlite("postgresql+psycopg://gw@db.example/intyg", tmp_path / "a.db")
    with pytest.raises(BackupRefused, match="no database at"):
        back_up_sqlite(f"sqlite:///{tmp_path / 'missing.db'}", tmp_path / "b.db")
    with pytest.raises(BackupRefused, match="does not exist"):
        back_up_sqlite(gateway_db, tmp_path / "no-such-folder" / "c.db")
    other = tmp_path / "other.db"
    connect_sqlite(other).execute("CREATE TABLE t (v)").connection.commit()
    with pytest.raises(BackupFailed, match="not a gateway database"):
        back_up_sqlite(f"sqlite:///{other}", tmp_path / "d.db")
    text = tmp_path / "notes.db"
    text.write_text("not a database at all\n" * 100)
    with pytest.raises(BackupFailed, match="failed: file is not a database"):
        back_up_sqlite(f"sqlite:///{text}", tmp_path / "e.db")
    # Nothing half-written; the gateway's write-lock file is the migration's, beside its database.
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".write-lock"))
    assert left == ["gw.db", "notes.db", "other.db"]

    assert main(["backup", str(tmp_path / "f.db"), "--db", "postgresql+psycopg://gw@db.example/intyg"]) == 2
    assert "intygsgw backup: only the embedded SQLite database" in capsys.readouterr().err


def test_the_copy_holds_what_is_only_in_the_wal_as_one_file_its_owner_alone_may_read(tmp_path):
    live = tmp_path / "live.db"
    writer = connect_sqlite(live, isolation_level=None)
    writer.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
        "CREATE TABLE alembic_version (version_num TEXT); INSERT INTO alembic_version VALUES ('0022');"
        "CREATE TABLE certificate (id TEXT PRIMARY KEY);"
    )
    writer.executemany("INSERT INTO certificate VALUES (?)", [(f"wal-{n}",) for n in range(100)])
    assert Path(f"{live}-wal").stat().st_size > 0  # the rows are in the log, not yet in the file
    target = tmp_path / "out" / "copy.db"
    target.parent.mkdir()
    made = back_up_sqlite(f"sqlite:///{live}", target)
    writer.close()

    assert [p.name for p in target.parent.iterdir()] == ["copy.db"]  # before anything opens it
    assert target.read_bytes()[18:20] == b"\x01\x01"  # rollback journal: no -wal belongs to it
    assert target.stat().st_mode & 0o777 == 0o600
    assert (made.certificates, made.revision) == (100, "0022") and _stored_ids(target) == {
        f"wal-{n}" for n in range(100)
    }


def test_two_backups_to_one_name_at_once_give_one_copy_and_one_refusal(gateway_db, tmp_path):
    target = tmp_path / "copy.db"
    outcomes: list[object] = []

    def back_up() -> None:
        try:
            outcomes.append(back_up_sqlite(gateway_db, target))
        except BackupRefused as exc:
            outcomes.append(exc)

    runs = [threading.Thread(target=back_up) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    assert sorted(type(o).__name__ for o in outcomes) == ["Backup", "BackupRefused"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".write-lock")) == ["copy.db", "gw.db"]
