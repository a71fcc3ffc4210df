"""Group commit on a real database file: isolation of failing jobs, durability, races."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from intygsgw.storage.batching import MAX_BATCH, CommitBatcher
from intygsgw.storage.db import make_engine
from intygsgw.storage.uow import Store
from tests.support.databases import BOTH, database_url


@pytest.fixture(params=BOTH)
def store(request, tmp_path):
    url = database_url(request, tmp_path, "batch.db")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS batch_item"))
        conn.execute(text("CREATE TABLE batch_item (id VARCHAR(40) PRIMARY KEY, note VARCHAR(40))"))
    yield Store(engine)
    engine.dispose()


def insert(item_id: str, note: str = ""):
    def job(uow):
        uow.connection.execute(
            text("INSERT INTO batch_item (id, note) VALUES (:id, :note)"), {"id": item_id, "note": note}
        )
        return item_id

    return job


def ids(store: Store) -> list[str]:
    with store.reading() as uow:
        return sorted(r[0] for r in uow.connection.execute(text("SELECT id FROM batch_item")))


def test_a_job_returns_its_result_after_commit(store):
    assert store.write(insert("a")) == "a"
    assert ids(store) == ["a"]


def _pipeline_status(uow) -> str:
    """Whether the unit's PostgreSQL connection is in pipeline mode ("ON"/"OFF"); "sqlite" there."""
    if uow.connection.dialect.name != "postgresql":
        return "sqlite"
    from psycopg import pq

    return pq.PipelineStatus(uow.connection.connection.driver_connection.pgconn.pipeline_status).name


def _noting(job, seen: list[str]):
    def noted(uow):
        seen.append(_pipeline_status(uow))
        return job(uow)

    return noted


@pytest.mark.parametrize("pipelined", [False, True], ids=["one-by-one", "pipelined"])
def test_many_threads_each_get_their_own_outcome(store, pipelined):
    # Thirty-two writers, every fourth one a duplicate of an id already stored:
    # the duplicates fail alone and everything else is stored. Pipelined, a duplicate's
    # error, which PostgreSQL reports only when the pipeline is read (at a later job's
    # statement or at its end), still reaches the duplicate's caller alone.
    store.write(insert("dup"))
    outcomes: dict[int, object] = {}
    seen: list[str] = []
    start = threading.Barrier(32)

    def writer(n: int):
        start.wait()
        job = _noting(insert("dup" if n % 4 == 0 else f"w{n}", note=str(n)), seen)
        try:
            outcomes[n] = store.write(job, pipelined=pipelined)
        except IntegrityError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(outcomes[n], IntegrityError) for n in range(0, 32, 4))
    assert all(outcomes[n] == f"w{n}" for n in range(32) if n % 4)
    assert ids(store) == sorted(["dup"] + [f"w{n}" for n in range(32) if n % 4])
    if pipelined and store.engine.dialect.name == "postgresql":
        assert "ON" in seen and "OFF" in seen  # batches with a duplicate ran again, one savepoint per job


def test_an_exception_of_a_job_reaches_its_caller_and_undoes_only_its_work(store):
    def half_then_fail(uow):
        insert("half")(uow)
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.write(half_then_fail)
    store.write(insert("after"))
    assert ids(store) == ["after"]


def _gathering(store: Store, gather_seconds: float, max_batch: int = MAX_BATCH) -> tuple[CommitBatcher, list[int]]:
    sizes: list[int] = []
    return CommitBatcher(store.writing, max_batch, on_batch=sizes.append, gather_seconds=gather_seconds), sizes


def _two_callers_in_one_batch(store: Store, first: tuple, second: tuple) -> tuple[dict[str, object], list[int]]:
    """Run two (name, job, pipelined) callers, the second queued while the first leads and gathers;
    each caller's result, or the error it got.

    A full batch (two here) ends the wait: the test does not sit out the 30 s.
    """
    batcher, sizes = _gathering(store, gather_seconds=30.0, max_batch=2)
    both_in_progress = threading.Barrier(2)
    first_queued = threading.Event()
    results: dict[str, object] = {}

    def caller(name: str, job, pipelined: bool) -> None:
        with batcher.expect():
            both_in_progress.wait()
            if name == second[0]:
                first_queued.wait(20)
                threading.Event().wait(0.2)  # the first is leading by now, and gathering
            else:
                first_queued.set()
            try:
                results[name] = batcher.run(job, pipelined)
            except Exception as exc:  # a failing job's caller gets its error
                results[name] = exc

    threads = [threading.Thread(target=caller, args=args) for args in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    return results, sizes


def test_under_concurrent_callers_a_leader_waits_for_more_jobs_and_commits_them_at_once(store):
    results, sizes = _two_callers_in_one_batch(
        store, ("first", insert("first"), False), ("second", insert("second"), False)
    )
    assert results == {"first": "first", "second": "second"}
    assert sizes == [2]  # one commit for both: the first waited for the second
    assert ids(store) == ["first", "second"]


def test_a_lone_caller_is_not_kept_waiting(store):
    batcher, sizes = _gathering(store, gather_seconds=30.0)
    done = threading.Event()

    def lone() -> None:
        for n in range(3):  # one request after another from one caller
            with batcher.expect():
                batcher.run(insert(f"lone-{n}"))
        done.set()

    threading.Thread(target=lone).start()
    assert done.wait(20), "a lone caller waited for company that never came"
    assert sizes == [1, 1, 1]


def test_without_gathering_a_leader_commits_what_is_queued_at_once(store):
    batcher, sizes = _gathering(store, gather_seconds=0.0)
    both_in_progress = threading.Barrier(2)
    first_written = threading.Event()

    def caller(name: str) -> None:
        with batcher.expect():
            both_in_progress.wait()
            if name == "second":
                first_written.wait(20)
            batcher.run(insert(name))
            first_written.set()

    threads = [threading.Thread(target=caller, args=(name,)) for name in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sizes == [1, 1]


def test_a_pipelined_job_runs_in_a_pipeline_on_postgresql_and_others_do_not(store):
    seen: list[str] = []
    store.write(_noting(insert("piped"), seen), pipelined=True)
    store.write(_noting(insert("plain"), seen))
    expected = ["ON", "OFF"] if store.engine.dialect.name == "postgresql" else ["sqlite", "sqlite"]
    assert seen == expected
    assert ids(store) == ["piped", "plain"]


def test_a_batch_is_pipelined_only_if_every_job_in_it_may_be(store):
    seen: list[str] = []
    _, sizes = _two_callers_in_one_batch(
        store, ("piped", _noting(insert("piped"), seen), True), ("plain", _noting(insert("plain"), seen), False)
    )
    assert sizes == [2]
    assert seen == (["OFF", "OFF"] if store.engine.dialect.name == "postgresql" else ["sqlite", "sqlite"])
    assert ids(store) == ["piped", "plain"]


def test_a_pipelined_job_that_reads_through_sqlalchemy_still_gets_its_answer(store):
    # Against the promise pipelined=True makes: in a pipeline SQLAlchemy's result has no rows to
    # read, the attempt fails, and the job runs again without one.
    store.write(insert("there"))
    seen: list[str] = []

    def count(uow):
        return uow.connection.execute(text("SELECT count(*) FROM batch_item")).scalar_one()

    assert store.write(_noting(count, seen), pipelined=True) == 1
    assert seen == (["ON", "OFF"] if store.engine.dialect.name == "postgresql" else ["sqlite"])


def test_without_pipeline_mode_in_libpq_jobs_run_one_statement_at_a_time_and_the_log_says_so_once(
    store, monkeypatch, caplog
):
    import psycopg

    from intygsgw.storage import uow as uow_module

    uow_module._pipeline_supported.cache_clear()
    monkeypatch.setattr(psycopg.Pipeline, "is_supported", classmethod(lambda cls: False))
    seen: list[str] = []
    try:
        with caplog.at_level("WARNING", logger="intygsgw.storage.uow"):
            store.write(_noting(insert("a"), seen), pipelined=True)
            store.write(_noting(insert("b"), seen), pipelined=True)
    finally:
        uow_module._pipeline_supported.cache_clear()
    said = [r.getMessage() for r in caplog.records if r.name == "intygsgw.storage.uow"]
    assert ids(store) == ["a", "b"]
    if store.engine.dialect.name == "postgresql":
        assert seen == ["OFF", "OFF"]
        assert len(said) == 1 and "libpq 14" in said[0]
    else:
        assert seen == ["sqlite", "sqlite"] and said == []  # SQLite never asks
