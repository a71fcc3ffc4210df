"""The session's PostgreSQL server is real, reachable, and behaves as the outbox needs."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.support import postgres as pg


@pytest.fixture
def engine(postgres_database):
    eng = create_engine(postgres_database, poolclass=NullPool)
    yield eng
    eng.dispose()


@pytest.mark.postgres
def test_rows_survive_into_a_new_connection(engine, postgres_database):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)"))
        conn.execute(text("INSERT INTO notes (body) VALUES (:b)"), [{"b": "första"}, {"b": "Ölands intyg"}])

    # A separate engine guarantees a separate server session, not a pooled one.
    other = create_engine(postgres_database, poolclass=NullPool)
    try:
        with other.connect() as conn:
            rows = conn.execute(text("SELECT body FROM notes ORDER BY id")).scalars().all()
            backend_is_tcp = conn.execute(text("SELECT inet_server_addr() = '127.0.0.1'::inet")).scalar()
    finally:
        other.dispose()
    assert rows == ["första", "Ölands intyg"]
    assert backend_is_tcp, "the URL must reach the server over loopback TCP"


@pytest.mark.postgres
def test_server_is_recent_and_durable(engine):
    with engine.connect() as conn:
        version = int(conn.execute(text("SHOW server_version_num")).scalar())
        fsync = conn.execute(text("SHOW fsync")).scalar()
        encoding = conn.execute(
            text("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
        ).scalar()
    assert version >= 130000
    assert fsync == "on"
    assert encoding == "UTF8"


@pytest.mark.postgres
def test_skip_locked_hands_concurrent_claimers_different_rows(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE jobs (id int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO jobs SELECT generate_series(1, 10)"))

    claim = text("SELECT id FROM jobs ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED")
    with engine.connect() as first, engine.connect() as second:
        first_rows = first.execute(claim).scalars().all()
        second_rows = second.execute(claim).scalars().all()

        assert first_rows == [1, 2, 3]
        assert second_rows == [4, 5, 6]

        # Without SKIP LOCKED the same rows are refused, so the disjoint claims
        # above come from real row locks and not from luck.
        with pytest.raises(OperationalError, match="could not obtain lock"), engine.connect() as third:
            third.execute(text("SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT"))

        first.rollback()
        # Released by the first claimer, row 1 is claimable again; the second still holds 4-6.
        with engine.connect() as third:
            assert third.execute(claim).scalars().all() == [1, 2, 3]
            third.rollback()
        second.rollback()


@pytest.mark.postgres
def test_module_databases_do_not_share_state(postgres_server):
    a = pg.create_database(postgres_server, "isolation_probe_a")
    b = pg.create_database(postgres_server, "isolation_probe_b")
    engines = [create_engine(u, poolclass=NullPool) for u in (a, b)]
    try:
        with engines[0].begin() as conn:
            conn.execute(text("CREATE TABLE only_in_a (x int)"))
        with engines[1].connect() as conn:
            assert conn.execute(text("SELECT to_regclass('only_in_a')")).scalar() is None
    finally:
        for e in engines:
            e.dispose()
    with pytest.raises(ValueError, match="already exists"):
        pg.create_database(postgres_server, "isolation_probe_a")


def test_database_names_are_valid_and_distinct():
    short = pg.database_name_for("tests.integration.test_outbox")
    assert short == "tests_integration_test_outbox"
    long_a = pg.database_name_for("tests." + "x" * 80 + ".test_a")
    long_b = pg.database_name_for("tests." + "x" * 80 + ".test_b")
    assert len(long_a) <= 63 and len(long_b) <= 63 and long_a != long_b
    with pytest.raises(ValueError):
        pg.create_database("postgresql+psycopg://u@127.0.0.1:1/d", "Bad-Name")


def _fake_bindir(path):
    path.mkdir(parents=True)
    for name in pg.SERVER_BINARIES:
        exe = path / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return path


def test_newest_debian_major_is_chosen_numerically(tmp_path):
    root = tmp_path / "postgresql"
    _fake_bindir(root / "9.6" / "bin")
    newest = _fake_bindir(root / "15" / "bin")
    (root / "16" / "bin").mkdir(parents=True)  # client-only install: no server binaries
    assert pg.find_bindir(root, environ={"PATH": ""}) == newest


def test_missing_binaries_are_reported_with_install_hint(tmp_path):
    with pytest.raises(pg.PostgresUnavailable, match="apt-get install postgresql"):
        pg.find_bindir(tmp_path / "absent", environ={"PATH": str(tmp_path)})


def test_path_is_used_only_when_it_resolves_to_real_binaries(tmp_path):
    real = _fake_bindir(tmp_path / "real" / "bin")
    shims = tmp_path / "shims"
    shims.mkdir()
    for name in pg.SERVER_BINARIES:
        os.symlink(real / name, shims / name)
    assert pg.find_bindir(tmp_path / "absent", environ={"PATH": str(shims)}) == real
