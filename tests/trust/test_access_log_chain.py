"""The access log's hash chain: intact under concurrent writers, broken by any edit, removal or reordering."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from intygsgw.audit import Access
from intygsgw.audit.writer import AccessLogWriter
from intygsgw.storage.access_log import verify_chain
from intygsgw.storage.db import make_engine
from intygsgw.storage.migrate import upgrade
from intygsgw.storage.uow import Store
from tests.support.databases import BOTH, sqlite_statements

from .conftest import cli

WRITERS, THREADS, PER_THREAD = 2, 4, 15


def _access(i: int, person: str = "191212121212") -> Access:
    a = Access(f"SE-CALLER-{i % 3}", "SE-ORIG", "", "urn:riv:x:GetCertificateResponder:2", "5565594230")
    a.add(person, [f"cert-{i}"])
    return a


def _write_many(url: str, writer_no: int) -> None:
    store = Store(make_engine(url))
    writer = AccessLogWriter(store)

    def run(t: int):
        for i in range(PER_THREAD):
            writer.write(_access(writer_no * 1000 + t * 100 + i), "OK")

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.engine.dispose()


@pytest.fixture(params=BOTH)
def url(request, tmp_path):
    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path / 'audit.db'}"
    else:
        from tests.support import postgres as pg

        server = request.getfixturevalue("postgres_server")
        u = pg.create_database(server, pg.database_name_for(f"audit_{request.node.name}"))
    upgrade(make_engine(u))
    return u


def _report(url):
    with Store(make_engine(url)).reading() as uow:
        return verify_chain(uow.access_log)


def _drop_append_only_triggers(conn, dialect: str) -> None:
    # What someone with DDL rights would do first; the chain must still tell.
    if dialect == "sqlite":
        conn.execute(text("DROP TRIGGER access_log_no_update"))
        conn.execute(text("DROP TRIGGER access_log_no_delete"))
    else:
        conn.execute(text("DROP TRIGGER access_log_no_change ON access_log"))


def test_concurrent_writers_in_several_processes_keep_one_chain(url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(url, w)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    report = _report(url)
    assert report.ok, report.problems
    assert report.entries == report.head_seq == WRITERS * THREADS * PER_THREAD


def test_database_refuses_update_and_delete(url):
    AccessLogWriter(Store(make_engine(url))).write(_access(1), "OK")
    engine = make_engine(url)
    for statement in ("UPDATE access_log SET outcome = 'X'", "DELETE FROM access_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


@pytest.fixture
def written(url):
    writer = AccessLogWriter(Store(make_engine(url)))
    for i in range(1, 7):
        writer.write(_access(i), "OK")
    assert _report(url).ok
    engine = make_engine(url)
    with engine.begin() as conn:
        _drop_append_only_triggers(conn, engine.dialect.name)
    return url, engine


COLUMNS = (
    "at, caller, original_consumer, acting_on_behalf, contract, logical_address, person_id, "
    "certificate_ids, outcome, prev_hash, hash"
)


@pytest.mark.parametrize(
    "tamper, where",
    [
        ("UPDATE access_log SET person_id = '197705232382' WHERE seq = 3", "entry 3"),
        ("UPDATE access_log SET outcome = 'ERROR:X' WHERE seq = 1", "entry 1"),
        ("UPDATE access_log SET at = '2020-01-01 00:00:00' WHERE seq = 5", "entry 5"),
        ("DELETE FROM access_log WHERE seq = 4", "entry 5"),
        ("DELETE FROM access_log WHERE seq = 6", "ends at entry 5"),
        ("DELETE FROM access_log WHERE seq = 1", "entry 2"),
        # Stored text the log never writes is reported, not a stop of the verification.
        ("UPDATE access_log SET persons = '{\"191212121212\"\\:1}' WHERE seq = 2", "entry 2: its certificate ids"),
        ("UPDATE access_log SET persons = 'not json' WHERE seq = 2", "entry 2: its certificate ids"),
        ("UPDATE access_log SET certificate_ids = '[1]' WHERE seq = 3", "entry 3: its certificate ids"),
        ('UPDATE access_log SET persons = \'{"191212121212":["cert-2"]}\' WHERE seq = 2', "entry 2: its content"),
    ],
)
def test_edited_or_removed_entry_is_found(written, tamper, where):
    url, engine = written
    with engine.begin() as conn:
        conn.execute(text(tamper))
    report = _report(url)
    assert not report.ok
    assert any(where in p for p in report.problems), report.problems


def test_reordered_entries_are_found(written):
    # Swap the contents of entries 2 and 3 (hashes included) through a spare row.
    url, engine = written
    with engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO access_log (seq, {COLUMNS}) SELECT 1000, {COLUMNS} FROM access_log WHERE seq = 2")
        )
        for target, source in ((2, 3), (3, 1000)):
            conn.execute(
                text(
                    f"UPDATE access_log SET ({COLUMNS}) = (SELECT {COLUMNS} FROM access_log WHERE seq = {source}) "
                    f"WHERE seq = {target}"
                )
            )
        conn.execute(text("DELETE FROM access_log WHERE seq = 1000"))
    report = _report(url)
    assert any("entry 2" in p for p in report.problems) and any("entry 3" in p for p in report.problems)


def test_cli_verify_exit_code(written, tmp_path):
    url, engine = written
    ok = cli(tmp_path, "audit", "verify", "--db", url)
    assert ok.returncode == 0 and "intact: 6 entries" in ok.stdout
    with engine.begin() as conn:
        conn.execute(text("UPDATE access_log SET caller = 'SE-SOMEONE-ELSE' WHERE seq = 2"))
    broken = cli(tmp_path, "audit", "verify", "--db", url)
    assert broken.returncode == 1
    assert "BROKEN: entry 2: its content does not match its hash (edited)" in broken.stdout


def test_a_cut_off_tail_with_a_recomputed_head_is_found_against_an_anchor(written, tmp_path):
    # Someone with write access removes the last two entries and sets the head
    # to the new last one: the chain on its own is consistent again.
    url, engine = written
    ok = cli(tmp_path, "audit", "verify", "--db", url)
    [anchor] = [line.split(" ", 1)[1] for line in ok.stdout.splitlines() if line.startswith("anchor: ")]
    assert anchor.startswith("6:")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM access_log WHERE seq > 4"))
        conn.execute(text("UPDATE access_log_head SET seq = 4, hash = (SELECT hash FROM access_log WHERE seq = 4)"))
    assert cli(tmp_path, "audit", "verify", "--db", url).returncode == 0
    anchored = cli(tmp_path, "audit", "verify", "--db", url, "--anchor", anchor)
    assert anchored.returncode == 1
    assert "BROKEN: entry 6: anchored but not in the log (entries at the end were removed)" in anchored.stdout
    # An anchor that is still in the chain passes; a wrong hash for it does not.
    with Store(make_engine(url)).reading() as uow:
        assert verify_chain(
            uow.access_log, anchors={2: next(e.hash for e in uow.access_log.entries() if e.seq == 2)}
        ).ok
        assert "rewritten" in verify_chain(uow.access_log, anchors={2: "0" * 64}).problems[0]
    assert cli(tmp_path, "audit", "verify", "--db", url, "--anchor", "six:abc").returncode == 2
    assert cli(tmp_path, "audit", "verify", "--db", url, "--anchor", "\u00b2:" + "0" * 64).returncode == 2
    # A walk stopped early by max_problems has not reached the anchor: not reported missing.
    with engine.begin() as conn:
        conn.execute(text("UPDATE access_log SET caller = 'X' WHERE seq = 1"))
    with Store(make_engine(url)).reading() as uow:
        early = verify_chain(uow.access_log, max_problems=1, anchors={4: "0" * 64})
    assert len(early.problems) == 1 and "anchored" not in early.problems[0]


def test_cli_export_by_person_and_period(url, tmp_path):
    writer = AccessLogWriter(Store(make_engine(url)), utc_now=lambda: dt.datetime(2026, 11, 20, 12, 0))
    writer.write(_access(1), "OK")
    writer = AccessLogWriter(Store(make_engine(url)), utc_now=lambda: dt.datetime(2026, 11, 22, 8, 30))
    writer.write(_access(2, person="19770523-2382"), "INFO")
    writer.write(_access(3), "ERROR:VALIDATION_ERROR")
    listing = Access("SE-REHAB", "", "", "urn:riv:clinicalprocess:healthcond:rehabilitation", "5565594230")
    for person, ids in (("191212121212", ["cert-4", "cert-5"]), ("19770523-2382", ["cert-6"]), ("194910302487", [])):
        listing.add(person, ids)
    writer.write(listing, "OK")
    import json

    def export(*args):
        done = cli(tmp_path, "audit", "export", "--db", url, *args)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    # The listing is one entry; exported for one person it shows only that person's part.
    assert [(e["certificate_ids"], e.get("other_persons")) for e in export("--person", "197705232382")] == [
        (["cert-2"], None),
        (["cert-6"], 2),
    ]
    ann = export("--person", "191212121212")
    assert [e["seq"] for e in ann] == [1, 3, 4] and "persons" not in ann[-1]
    assert ann[-1]["person_id"] == "191212121212" and ann[-1]["certificate_ids"] == ["cert-4", "cert-5"]
    assert "hash" not in ann[-1] and "prev_hash" not in ann[-1]  # they cover the others' part too
    assert "hash" in ann[0]
    whole = export("--from", "2026-11-21", "--to", "2026-11-22")
    assert [e["seq"] for e in whole] == [2, 3, 4]
    assert whole[-1]["person_id"] == "" and whole[-1]["persons"] == {
        "191212121212": ["cert-4", "cert-5"],
        "197705232382": ["cert-6"],
        "194910302487": [],
    }
    assert [e["seq"] for e in export("--to", "2026-11-20")] == [1]
    assert cli(tmp_path, "audit", "export", "--db", url).returncode == 2


def test_entries_chain_with_the_hash_verification_recomputes(url):
    """Entries of one person each (as before 0022) and entries of several persons in one append: the
    hashes must be entry_hash's exactly and every field must come back as it was given."""
    from intygsgw.domain.records import AccessEntry
    from intygsgw.storage.access_log import GENESIS, entry_hash

    at = dt.datetime(2026, 12, 5, 13, 0, 0, 123456)
    entries = [
        AccessEntry(at, 'SE-"REHAB"\t1', "Vårdsystem å\r\n", "", "urn:riv:rehab", "SE\\LA\\N", f"19121212{i:04d}",
                    (f"c-{i}", "ä\n\"x\"", "back\\slash\ttab"), "OK")
        for i in range(5)
    ] + [
        AccessEntry(at + dt.timedelta(seconds=1), "SE-OTHER", "", "", "urn:x", "LA", "191212121212", (), "ERROR:X"),
        AccessEntry(at.replace(microsecond=0), "SE-OTHER", "", "", "urn:x", "LA", "", ("plain-1", "plain-2"), "OK"),
        AccessEntry(at, "SE-LIST", "", "", "urn:rehab", "LA", "", ("nobody's",), "OK",
                    (("191212121212", ("c-1", 'q"\\')), ("19121212ä\t", ()), ("194910302487", ("c-9",)))),
    ]  # fmt: skip
    store = Store(make_engine(url))
    with store.writing() as uow:
        uow.access_log.append(entries)
        uow.commit()
    with store.reading() as uow:
        stored = list(uow.access_log.entries())
        report = verify_chain(uow.access_log)
        hours = uow.connection.exec_driver_sql("SELECT person_id, hour FROM access_log_person").all()
    store.engine.dispose()
    # Each person named once, in their hour, whether alone in an entry or among others; an entry that
    # names nobody adds none.
    assert len(hours) == 8 and {str(h)[:13] for _, h in hours} == {"2026-12-05 13"}, hours
    prev = GENESIS
    for s in stored:
        assert s.hash == entry_hash(prev, s.seq, s.entry)
        prev = s.hash
    assert [s.entry for s in stored] == entries
    assert len(stored) == 8 and report.ok, report


def test_the_hashed_text_is_the_compact_json_array_of_the_fields_so_older_chains_still_verify():
    import hashlib
    import json

    from intygsgw.domain.records import AccessEntry
    from intygsgw.storage.access_log import GENESIS, entry_hash

    e = AccessEntry(dt.datetime(2026, 12, 5, 13, 0, 0, 5), 'SE-"A"', "Vård å", "", "urn:x", "LA\\1", "191212121212",
                    ("c-1", "ä\n"), "ERROR:VALIDATION_ERROR")  # fmt: skip
    fields = [7, "2026-12-05T13:00:00.000005", *(e.caller, e.original_consumer, e.acting_on_behalf, e.contract),
              e.logical_address, e.person_id, list(e.certificate_ids), e.outcome]  # fmt: skip
    text = GENESIS + "\n" + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    assert entry_hash(GENESIS, 7, e) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    # An entry of several persons has them as an object after the outcome, in the order noted.
    several = e._replace(person_id="", certificate_ids=(), persons=(("194910302487", ("b",)), ("191212121212", ())))
    fields = [*fields[:7], "", [], e.outcome, {"194910302487": ["b"], "191212121212": []}]
    text = GENESIS + "\n" + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    assert entry_hash(GENESIS, 7, several) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_one_append_of_entries_that_share_different_fields_keeps_the_chain_in_order(url):
    # A listing's entries share their call's fields and are bound in groups; mixed groups
    # in one append must still chain, and read back, in the order they were given.
    from intygsgw.domain.records import AccessEntry

    at = dt.datetime(2026, 12, 5, 12, 0)
    entries = [
        AccessEntry(
            at, "SE-CALLER", "", "", f"contract-{i % 2}", "5565594230", f"19121212{i:04d}", (f"c-{i}",), outcome
        )
        for i, outcome in enumerate(["OK", "ERROR", "OK", "OK", "ERROR"])
    ]
    store = Store(make_engine(url))
    with store.writing() as uow:
        uow.access_log.append(entries)
        uow.commit()
    with store.reading() as uow:
        last = uow.access_log.head()[0]
        stored = list(uow.access_log.entries())
        report = verify_chain(uow.access_log)
    store.engine.dispose()
    assert report.ok, report.problems
    assert [s.seq for s in stored] == list(range(last - 4, last + 1))
    assert [s.entry for s in stored] == entries


def test_a_persons_entries_are_found_through_the_hours_that_name_them(url):
    # Entries over three hours, one of them without the person, and a time filter that
    # cuts into the hours: the person's entries come back whole and in chain order.
    from intygsgw.domain.records import AccessEntry

    at = dt.datetime(2026, 12, 5, 9, 30)
    ann, bo = "191212121212", "194910302487"
    minutes = [0, 20, 40, 60, 80, 100, 150, 200]

    def entry(i: int, person: str) -> AccessEntry:
        when = at + dt.timedelta(minutes=minutes[i])
        return AccessEntry(when, "SE-CALLER", "", "", "ns", "5565594230", person, (f"c-{i}",), "OK")

    store = Store(make_engine(url))
    for i in range(8):
        with store.writing() as uow:
            uow.access_log.append([entry(i, ann if i % 3 else bo), entry(i, "")])
            uow.commit()

    # A call of several persons (ann's certificate id is bo's person id, which must not make it bo's).
    with store.writing() as uow:
        several = (("190101010101", ("c-x",)), (ann, (bo,)))
        uow.access_log.append([AccessEntry(at + dt.timedelta(minutes=210), "SE-CALLER", "", "", "ns", "LA", "", (),
                                           "OK", several)])  # fmt: skip
        uow.commit()

    def of(person, **kw):
        with store.reading() as uow:
            return [s.entry.certificate_ids[0] for s in uow.access_log.entries(person_id=person, batch=2, **kw)]

    try:
        assert of(ann) == ["c-1", "c-2", "c-4", "c-5", "c-7", bo]
        assert of(bo) == ["c-0", "c-3", "c-6"]
        assert of(ann, since=at + dt.timedelta(minutes=40), until=at + dt.timedelta(minutes=150)) == [
            "c-2",
            "c-4",
            "c-5",
        ]
        assert of("190101010101") == ["c-x"]
        assert of("190202020202") == []
        with store.reading() as uow:
            hours = uow.connection.exec_driver_sql(
                "SELECT count(*) FROM access_log_person WHERE person_id = '191212121212'"
            ).scalar()
        assert hours == 5  # 09, 10, 11, 12 and 13 o'clock
    finally:
        store.engine.dispose()


def test_a_person_is_found_among_others_whatever_characters_their_id_has(url):
    # Ids that do not parse are kept as given (audit._person); the column has them JSON-escaped.
    from intygsgw.domain.records import AccessEntry

    odd = ['a"b', "back\\slash", "tab\there", "pct%_x", "ä-ö", "Ann", "ctl\x01"]
    persons = tuple((person, (f"c-{i}",)) for i, person in enumerate(odd))
    store = Store(make_engine(url))
    with store.writing() as uow:
        uow.access_log.append(
            [AccessEntry(dt.datetime(2026, 12, 6, 9), "SE-C", "", "", "ns", "LA", "", (), "OK", persons)]
        )
        uow.commit()
    try:
        with store.reading() as uow:
            for i, person in enumerate(odd):
                found = [
                    (s.entry.person_id, s.entry.certificate_ids, s.others)
                    for s in uow.access_log.entries(person_id=person)
                ]
                assert found == [(person, (f"c-{i}",), len(odd) - 1)], person
            for stranger in ("ann", "pct%_y", "a", 'a"', "c-1"):
                assert list(uow.access_log.entries(person_id=stranger)) == [], stranger
    finally:
        store.engine.dispose()


_ID_CHARS = st.sampled_from('ab-1å"\\\n\t\x7f\u2028\U0001f600') | st.characters()


@given(st.lists(st.text(_ID_CHARS, max_size=12), max_size=4))
@example(['a"b', "c"])
@example(["back\\slash"])
def test_the_certificate_ids_are_written_as_the_json_encoder_writes_them(ids):
    # The joined fast path must be byte for byte the encoder's output, or the chain would not verify.
    import json

    from intygsgw.storage.access_log import _ids_json

    assert _ids_json(tuple(ids)) == json.dumps(ids, ensure_ascii=False, separators=(",", ":"))


def _entries(first: int, n: int):
    return [_access(i).entries("OK", dt.datetime(2026, 12, 7, 16, 0))[0] for i in range(first, first + n)]


def test_appends_gathered_by_a_batch_are_chained_at_its_end_in_their_order(url):
    # A group commit's jobs append one after another; the head is read and moved once, after them.
    store = Store(make_engine(url))
    first, second = _entries(0, 2), _entries(10, 3)
    executed = sqlite_statements(store.engine) if url.startswith("sqlite") else []

    def head_statements() -> list[str]:
        return [sql for sql in executed if "access_log_head" in sql]

    with store.writing() as uow:
        start = uow.access_log.head()[0]
        executed.clear()
        with uow.batch(pipelined=False):
            uow.access_log.append(first)
            uow.access_log.append(second)
            assert head_statements() == []  # nothing chained yet
        uow.commit()
    chained_with = head_statements()
    with store.reading() as uow:
        stored = list(uow.access_log.entries())
        report = verify_chain(uow.access_log)
        head = uow.access_log.head()[0]
    store.engine.dispose()
    assert report.ok, report.problems
    assert head == start + 5
    assert [s.entry for s in stored][-5:] == first + second
    if url.startswith("sqlite"):
        assert len(chained_with) == 2, chained_with  # one read of the head, one move


def test_appends_gathered_by_a_batch_that_fails_are_not_written(url):
    store = Store(make_engine(url))
    with store.writing() as uow:
        start = uow.access_log.head()
        with pytest.raises(ValueError), uow.batch(pipelined=False):
            uow.access_log.append(_entries(0, 2))
            raise ValueError("a job failed")
        assert uow.access_log.head() == start
        uow.access_log.append(_entries(5, 1))  # outside a batch: chained at once
        assert uow.access_log.head()[0] == start[0] + 1
        uow.commit()
    with store.reading() as uow:
        assert verify_chain(uow.access_log).ok
    store.engine.dispose()


def test_a_batch_run_again_job_by_job_chains_the_kept_jobs_entries_at_its_end(url):
    # After a failed attempt each job runs in a savepoint of its own. The log's head, locked on
    # PostgreSQL until the commit, is taken after every job, as in the first attempt: a job holding
    # it while a later job waited for another writer's lock could deadlock with that writer.
    from tests.storage.test_group_commit import _two_callers_in_one_batch

    store = Store(make_engine(url))
    kept, dropped = _entries(0, 2), _entries(10, 1)
    executed = sqlite_statements(store.engine) if url.startswith("sqlite") else []

    def appending(marker: str, entries, fails: bool):
        def job(uow):
            uow.connection.exec_driver_sql(f"SELECT '{marker}'")
            uow.access_log.append(entries)
            if fails:
                raise ValueError(marker)
            return marker

        return job

    with store.reading() as uow:
        start = uow.access_log.head()[0]
    results, sizes = _two_callers_in_one_batch(
        store,
        ("kept", appending("job-kept", kept, False), False),
        ("dropped", appending("job-dropped", dropped, True), False),
    )
    assert sizes == [2] and results["kept"] == "job-kept" and isinstance(results["dropped"], ValueError)
    with store.reading() as uow:
        stored = [s.entry for s in uow.access_log.entries()]
        assert verify_chain(uow.access_log).ok
        assert uow.access_log.head()[0] == start + 2
    store.engine.dispose()
    assert stored[-2:] == kept
    if url.startswith("sqlite"):
        last_kept = max(i for i, sql in enumerate(executed) if "job-kept" in sql)
        last_dropped = max(i for i, sql in enumerate(executed) if "job-dropped" in sql)
        assert last_kept < last_dropped
        assert not [sql for sql in executed[last_kept:last_dropped] if "access_log_head" in sql]
        assert [sql for sql in executed[last_dropped:] if "access_log_head" in sql]
