"""SQLite reads through a memory map (sqlite_mmap_bytes), and what it reads stays current."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from intygsgw.app import build_services
from intygsgw.config.settings import Settings
from intygsgw.storage.db import SQLITE_DRIVER, make_engine


def _driver_cap(tmp_path) -> int:
    """The largest map this build of SQLite allows (it lowers a larger setting to it)."""
    conn = SQLITE_DRIVER.connect(str(tmp_path / "cap.db"))
    try:
        return conn.execute("PRAGMA mmap_size = 1099511627776").fetchone()[0]
    finally:
        conn.close()


def _mapped(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA mmap_size").scalar_one()


def test_the_gateway_maps_its_database_by_default_and_not_when_told(tmp_path):
    default = Settings().sqlite_mmap_bytes
    assert default > 0
    on = build_services(Settings(db=f"sqlite:///{tmp_path / 'on.db'}"), migrate=True)
    off = build_services(Settings(db=f"sqlite:///{tmp_path / 'off.db'}", sqlite_mmap_bytes=0), migrate=True)
    assert _mapped(on.store.engine) == min(default, _driver_cap(tmp_path))
    assert _mapped(off.store.engine) == 0


def test_a_negative_map_is_refused(tmp_path):
    with pytest.raises(ValueError, match="memory map"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_mmap_bytes=-1)


def test_a_mapped_reader_sees_what_others_commit_while_the_file_grows(tmp_path):
    url = f"sqlite:///{tmp_path / 'grow.db'}"
    engine = make_engine(url, sqlite_mmap_bytes=1 << 30)
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"))
    with engine.connect() as reader:
        for round_ in range(1, 6):
            with writer.begin() as conn:
                conn.execute(text("INSERT INTO t (body) VALUES (randomblob(4000))"), [{} for _ in range(500)])
            with writer.connect() as conn:  # past the WAL: the rows are in the mapped file itself
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            count, size = reader.exec_driver_sql("SELECT count(*), sum(length(body)) FROM t").one()
            reader.rollback()  # the read ends, as a request's does: the next checkpoint need not wait for it
            assert (count, size) == (500 * round_, 500 * round_ * 4000)
    assert _mapped(engine) == min(1 << 30, _driver_cap(tmp_path))
    engine.dispose()
    writer.dispose()
