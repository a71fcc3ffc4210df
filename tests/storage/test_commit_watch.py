"""The commit watch: whether anything reached a SQLite database since the last look, without a query."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from intygsgw.storage.db import commit_watch, make_engine


@pytest.fixture
def watched(tmp_path):
    """(engine, its commit watch) on a SQLite file holding table t."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    watch = commit_watch(engine)
    assert watch is not None
    yield engine, watch
    watch.close()
    engine.dispose()


def test_the_mark_stays_while_nothing_is_committed_and_moves_with_each_commit(watched):
    engine, watch = watched
    first = watch.look()
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar_one()
        conn.rollback()
    assert watch.look() == first, "a read moved the mark"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    second = watch.look()
    assert second != first
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
    assert watch.look() not in (first, second)


def test_a_commit_by_another_process_moves_the_mark(watched, tmp_path):
    # The gateway's workers commit in their own processes; the serving parent watches.
    _, watch = watched
    before = watch.look()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('INSERT INTO t VALUES (3)'); c.commit()",
            str(tmp_path / "w.db"),
        ],
        check=True,
        timeout=60,
    )
    assert watch.look() != before


def test_a_database_in_memory_has_no_watch():
    # Another connection to ":memory:" would open a database of its own and never see a commit.
    engine = create_engine("sqlite://")  # make_engine takes files only; a Store may still be handed one
    try:
        assert commit_watch(engine) is None
    finally:
        engine.dispose()
