"""WAL checkpoints on SQLite: in the background process, not in the committing request."""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import event, text

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.storage.db import checkpoint_sqlite, make_engine
from intygsgw.storage.uow import Store
from tests.support.server import running_gateway
from tests.support.soapclient import GatewayClient


def test_a_commit_leaves_the_pages_in_the_wal_until_the_checkpoint_copies_them(tmp_path):
    path = tmp_path / "c.db"
    engine = make_engine(f"sqlite:///{path}", sqlite_autocheckpoint=10_000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v BLOB)"))
        conn.execute(text("INSERT INTO t VALUES (:v)"), [{"v": os.urandom(4000)} for _ in range(200)])
    before = path.stat().st_size
    checkpoint_sqlite(engine)
    after = path.stat().st_size
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM t")).scalar()
    engine.dispose()
    assert before < 100_000 < 800_000 < after and rows == 200


def test_a_checkpoint_waits_for_the_commit_in_progress_in_another_process(tmp_path):
    # SQLite before 3.51.3 can corrupt the file when a checkpoint overlaps a commit that starts
    # the WAL over. Two stores on one file lock it as two processes do (each its own descriptor).
    path = tmp_path / "c.db"
    committing, background = (Store(make_engine(f"sqlite:///{path}", sqlite_autocheckpoint=10_000)) for _ in "ab")
    with committing.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v BLOB)"))
    checkpointed = threading.Event()
    with committing.writing() as uow:
        uow.connection.execute(text("INSERT INTO t VALUES (:v)"), [{"v": os.urandom(4000)} for _ in range(200)])
        worker = threading.Thread(target=lambda: (background.checkpoint(), checkpointed.set()))
        worker.start()
        waited = not checkpointed.wait(0.5)
        uow.commit()
    finished = checkpointed.wait(30)
    worker.join(30)
    size = path.stat().st_size
    for store in (committing, background):
        store.engine.dispose()
    assert waited and finished
    assert size > 800_000  # it ran after the commit and copied its pages


def test_the_serving_gateway_checkpoints_in_the_background(tmp_path):
    path = tmp_path / "gw.db"
    env = {"INTYGSGW_SQLITE_CHECKPOINT_EVERY": "0.2"}
    with running_gateway(tmp_path, db=f"sqlite:///{path}", extra_env=env) as gw:
        client = GatewayClient(gw.base_url)
        time.sleep(0.5)
        before = path.stat().st_size
        for _ in range(30):
            spec = CertificateSpec(certificate_id=str(uuid.uuid4()), person_id="191212121212")
            result, _ = client.call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
            assert result.result.resultCode == "OK", result.result
        # Thirty certificates are far below the 10,000 pages at which a request would copy them itself.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and path.stat().st_size <= before + 100_000:
            time.sleep(0.2)
        grown = path.stat().st_size - before
    assert grown > 100_000, gw.log()


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"),
    reason="the fixed SQLite wheel is for Linux x86-64",
)
def test_the_gateway_opens_sqlite_with_a_library_without_the_wal_reset_race(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    with engine.connect() as conn:
        version = conn.execute(text("SELECT sqlite_version()")).scalar()
    engine.dispose()
    assert tuple(int(part) for part in version.split(".")) >= (3, 51, 3), version


def test_a_checkpoint_runs_again_only_after_a_commit_or_after_one_that_could_not_copy_everything(tmp_path):
    # The serving parent asks for a checkpoint five times a second, idle or not.
    path = tmp_path / "c.db"
    store = Store(make_engine(f"sqlite:///{path}", sqlite_autocheckpoint=10_000))
    other = make_engine(f"sqlite:///{path}")
    checkouts: list[int] = []
    event.listen(store.engine, "checkout", lambda *_: checkouts.append(1))

    def checkpoints_run(times: int) -> int:
        """How many of ``times`` checkpoints took a connection, which running one does."""
        before = len(checkouts)
        for _ in range(times):
            store.checkpoint()
        return len(checkouts) - before

    try:
        with store.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (v BLOB)"))
        store.checkpoint()  # copies the table; opens the watch's connection too
        assert checkpoints_run(2) == 0, "a checkpoint ran with nothing committed"

        with other.connect() as reader:
            # A reader's snapshot from before the commit (the engine begins the transaction) keeps a
            # PASSIVE checkpoint from copying it.
            reader.execute(text("SELECT count(*) FROM t")).scalar_one()
            with store.engine.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (:v)"), [{"v": os.urandom(4000)} for _ in range(200)])
            assert checkpoints_run(2) == 2, "a checkpoint that could not copy everything was not tried again"
            assert path.stat().st_size < 100_000
            reader.rollback()
        assert checkpoints_run(1) == 1
        assert path.stat().st_size > 800_000
        assert checkpoints_run(2) == 0
    finally:
        store.engine.dispose()
        other.dispose()
