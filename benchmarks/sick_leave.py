"""The sick-leave contracts against a large store, on SQLite and PostgreSQL.

    python benchmarks/sick_leave.py [--certificates 10000000] [--db sqlite|postgres|both] [--queries 200]
                                    [--seed 1] [--keep DIR] [--sqlite-mmap-bytes N]

Generates a seeded data set straight into a migrated database (with a progress
bar): ``--certificates`` sick-leave certificates with one to three periods each,
spread over 4,000 care units of 40 care givers and five years, plus one care
unit with 2,000 patients on sick leave today and 2,000 who were earlier (12,000
certificates), with relations between certificates (see ``certificates``).
Then, in-process through the SOAP dispatcher (parsing, the access log, the
engine and rendering included), it asks the three contracts about that unit
and its patients and prints p50/p99 per contract. The measuring
process is set up as a serving worker is (settle_heap), and the serving
gateway's background work (WAL checkpoints) runs beside it in a process of
its own.

Same-run baseline: the selection query alone (the unit's certificates with
their periods, read and turned into objects, without the engine or any XML, as
ListSickLeavesForCare reads them), so the printed ratio says what a contract
adds on top of reading the rows. ListActiveSickLeavesForCareUnit reads the
listing rows instead (one per patient and unit, the patient's list items
joined); that query alone is printed too.

The target of issue 15 is p99 <= 50 ms for ListActiveSickLeavesForCareUnit with
10 million certificates stored. Nothing here asserts; the machines are shared.
PostgreSQL is started from the Debian package in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from intygsgw.app import build_app, settle_heap  # noqa: E402
from intygsgw.config.settings import Settings  # noqa: E402
from intygsgw.devtools import samples  # noqa: E402
from intygsgw.devtools.samples import personnummer  # noqa: E402
from intygsgw.domain.sick_leave import SickLeaveCertificate, WorkCapacity, without_gaps  # noqa: E402
from intygsgw.handlers.rehab_items import render_intygs_data  # noqa: E402
from intygsgw.serving.server import background_process  # noqa: E402
from intygsgw.storage.db import connect_sqlite, make_engine  # noqa: E402
from intygsgw.storage.migrate import upgrade  # noqa: E402
from intygsgw.storage.models import CertificateRow, SickLeaveCertificateRow, SickLeavePeriodRow  # noqa: E402

TARGET_UNIT = "SE2321000016-BENCH"
TARGET_GIVER = "SE2321000016-VG00"
ACTIVE_PATIENTS = 2_000
UNITS, GIVERS = 4_000, 40
GRADES = (100, 75, 50, 25)
BATCH = 20_000

# Rows are written in the tables' own column order (the id of a period is the database's).
CERT_COLS = [c.name for c in CertificateRow.__table__.columns]
# Loaded as a database at LOADED_AT has them; the newer migrations then run on the rows, as they
# would on an existing store (0023 derives which certificates are replaced from the relations).
LOADED_AT = "0022"
SICK_COLS = [c.name for c in SickLeaveCertificateRow.__table__.columns if c.name != "replaced"]
PERIOD_COLS = [c.name for c in SickLeavePeriodRow.__table__.columns if c.name != "id"]
RELATION_COLS = ["from_id", "to_id", "code", "created_at"]


def progress(label: str, done: int, total: int, started: float) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    rate = done / max(time.perf_counter() - started, 1e-9)
    eta = (total - done) / rate if rate else 0
    print(
        f"\r{label:<10} [{'#' * filled}{'.' * (width - filled)}] {done:>11,}/{total:,}  {rate:>9,.0f}/s  eta {eta:5.0f}s",
        end="",
        file=sys.stderr,
        flush=True,
    )
    if done >= total:
        print(file=sys.stderr)


Generated = tuple[tuple, tuple, list[tuple], list[tuple]]


def certificates(total: int, seed: int, today: dt.date) -> Iterator[Generated]:
    """(certificate row, sick-leave row, period rows, relation rows), in the order they are stored.

    The target unit's certificates are spread among the others by their signing day, as a store
    fills over the years: a unit's rows lie apart in the tables, each on a page of its own, as
    they would in production (stored first and together, they once made a list read a third of
    the pages it reads now).

    Relations as a store has them, so that the lists' check for a replacing or completing
    certificate probes a real index: in the target unit each certificate of a patient extends
    (FRLANG) the one before, which hides nothing; elsewhere one certificate in twenty extends,
    completes (KOMPLT) or replaces (ERSATT) the one generated before it, and the last two hide it.
    """
    rng = random.Random(seed)
    serial = 0

    def one(
        patient: str, unit: str, giver: str, start: dt.date, length: int, relates_to: tuple[str, str] | None = None
    ) -> Generated:
        nonlocal serial
        serial += 1
        cid = f"bench-{serial:010d}"
        signed = dt.datetime.combine(start, dt.time(10, 0))
        doctor = f"{giver}-DR{rng.randrange(20):02d}"
        cert = (
            cid,
            "lisjp",
            "1.3",
            patient,
            signed,
            unit,
            "Enheten",
            giver,
            doctor,
            "Doktor Bench",
            False,
            False,
            signed,
        )
        diagnosis = rng.choice(("M544", "F321", "S822", "J069"))
        # One to three periods, back to back, covering the whole certificate.
        periods, at, left = [], start, length
        parts = rng.randint(1, 3)
        for i in range(parts):
            part = left if i == parts - 1 else max(1, left // 2)
            periods.append((cid, at, at + dt.timedelta(days=part - 1), rng.choice(GRADES)))
            at += dt.timedelta(days=part)
            left -= part
            if left <= 0:
                break
        # The list item is rendered as registration renders it.
        item = render_intygs_data(
            SickLeaveCertificate(
                certificate_id=cid,
                patient_id=patient,
                patient_name="Patient Bench",
                care_giver_id=giver,
                care_unit_id=unit,
                care_unit_name="Enheten",
                doctor_id=doctor,
                doctor_name="Doktor Bench",
                signed_at=signed,
                diagnosis=diagnosis,
                periods=tuple(WorkCapacity(*p[1:]) for p in periods),
                secondary_diagnoses=(),
                employment=("NUVARANDE_ARBETE",),
            )
        )
        sick = (
            cid, patient, "Patient Bench", giver, unit, "Enheten", doctor, "Doktor Bench", signed,
            diagnosis, "", "NUVARANDE_ARBETE", False, item, periods[0][1], periods[-1][2],
            without_gaps(WorkCapacity(*p[1:]) for p in periods),
        )  # fmt: skip
        relations = [(cid, relates_to[0], relates_to[1], signed)] if relates_to is not None else []
        return cert, sick, periods, relations

    # The target unit: every active patient has a current certificate and two earlier ones,
    # and as many again were on sick leave there before and are not now.
    target: list[Generated] = []
    for p in range(ACTIVE_PATIENTS * 2):
        patient = personnummer(10_000_000 + p)
        active = p < ACTIVE_PATIENTS
        end = (
            today + dt.timedelta(days=rng.randint(1, 60)) if active else today - dt.timedelta(days=rng.randint(30, 900))
        )
        # Generated newest first: each certificate but the first is the one its predecessor extends.
        newer: tuple[str, dt.datetime] | None = None
        for k in range(3):
            length = rng.randint(7, 60)
            if active and k == 0:
                # The current certificate began before today, so the patient is on sick leave today.
                length = (end - today).days + rng.randint(7, 30)
            start = end - dt.timedelta(days=length - 1)
            generated = one(patient, TARGET_UNIT, TARGET_GIVER, start, length)
            if newer is not None:
                generated[3].append((newer[0], generated[0][0], "FRLANG", newer[1]))
            newer = (generated[0][0], generated[1][8])  # its id and signing time
            target.append(generated)
            end = start - dt.timedelta(days=rng.randint(1, 30 if k == 0 else 200))
    patients = max(1, total // 3)
    first_day = today - dt.timedelta(days=5 * 365)
    others = max(0, total - ACTIVE_PATIENTS * 6)
    # Where each target certificate is stored among the others: as far in as its signing day is
    # in the five years (the current ones near the end).
    origin, span = dt.datetime.combine(first_day, dt.time()), (today - first_day).total_seconds()
    target.sort(key=lambda g: g[0][4])
    at = [min(others, max(0, int((g[0][4] - origin).total_seconds() / span * others))) for g in target]
    next_target = 0
    previous: str | None = None
    for i in range(others):
        while next_target < len(target) and at[next_target] <= i:
            yield target[next_target]
            next_target += 1
        u = rng.randrange(UNITS)
        length = rng.randint(7, 90)
        start = first_day + dt.timedelta(days=rng.randrange(5 * 365 + 30))
        relates_to = None
        if previous is not None and rng.randrange(20) == 0:
            relates_to = (previous, rng.choice(("FRLANG", "FRLANG", "KOMPLT", "ERSATT")))
        generated = one(
            personnummer(rng.randrange(patients)),
            f"SE2321000016-U{u:04d}",
            f"SE2321000016-VG{1 + u % GIVERS:02d}",
            start,
            length,
            relates_to,
        )
        previous = generated[0][0]
        yield generated
    yield from target[next_target:]


def load_sqlite(path: str, total: int, seed: int, today: dt.date) -> None:
    con = connect_sqlite(path, isolation_level=None)
    # A bulk load that can be redone from the seed: no journal, no waiting for the disk, and the
    # indexes built once at the end (sorted) rather than row by row into ever larger trees.
    con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;")
    tables = ("certificate", "sick_leave_certificate", "sick_leave_period", "relation")
    marks = ",".join("?" * len(tables))
    indexes = [
        (name, sql)
        for name, sql in con.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            tables,
        )
    ]
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    con.execute("BEGIN")

    def fmt(row: tuple) -> tuple:
        return tuple(
            v.strftime("%Y-%m-%d %H:%M:%S.000000")
            if isinstance(v, dt.datetime)
            else v.isoformat()
            if isinstance(v, dt.date)
            else int(v)
            if isinstance(v, bool)
            else v
            for v in row
        )

    def insert(table: str, cols: list[str], rows: list[tuple]) -> None:
        quoted = ", ".join(f'"{c}"' for c in cols)
        con.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(cols))})", map(fmt, rows))

    grand = total + ACTIVE_PATIENTS * 6 if total < ACTIVE_PATIENTS * 6 else total
    _load(certificates(total, seed, today), grand, insert)
    con.execute("COMMIT")
    started = time.perf_counter()
    for i, (_, sql) in enumerate(indexes):
        con.execute(sql)
        progress("indexing", i + 1, len(indexes), started)
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()


def load_postgres(url: str, total: int, seed: int, today: dt.date) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con:

        def insert(table: str, cols: list[str], rows: list[tuple]) -> None:
            quoted = ", ".join(f'"{c}"' for c in cols)
            with con.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

        # As on SQLite: the secondary indexes are built once the rows are in (the keys stay).
        indexes = con.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (["certificate", "sick_leave_certificate", "sick_leave_period", "relation"],),
        ).fetchall()
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        grand = total + ACTIVE_PATIENTS * 6 if total < ACTIVE_PATIENTS * 6 else total
        _load(certificates(total, seed, today), grand, insert)
        con.commit()
        started = time.perf_counter()
        for i, (_, sql) in enumerate(indexes):
            con.execute(sql)
            con.commit()
            progress("indexing", i + 1, len(indexes), started)
        con.execute("ANALYZE")
        con.commit()
        # As a server that has run through a checkpoint since its bulk load: the WAL segments the
        # load filled are recycled for the ones to come. Without it every new segment is zero-filled
        # first, and each list (about 1 MB of access-log WAL) paid ~12 ms at every eighteenth call.
        con.execute("CHECKPOINT")


def _load(rows: Iterator[Generated], total: int, insert) -> None:
    started, done = time.perf_counter(), 0
    certs: list[tuple] = []
    sick: list[tuple] = []
    periods: list[tuple] = []
    relations: list[tuple] = []

    def flush() -> None:
        insert("certificate", CERT_COLS, certs)
        insert("sick_leave_certificate", SICK_COLS, sick)
        insert("sick_leave_period", PERIOD_COLS, periods)
        if relations:
            insert("relation", RELATION_COLS, relations)

    for cert, leave, parts, related in rows:
        certs.append(cert)
        sick.append(leave)
        periods.extend(parts)
        relations.extend(related)
        if len(certs) >= BATCH:
            flush()
            done += len(certs)
            certs, sick, periods, relations = [], [], [], []
            progress("loading", done, total, started)
    if certs:
        flush()
        done += len(certs)
    progress("loading", total, total, started)


def migrate_loaded(engine) -> None:
    t0 = time.perf_counter()
    upgrade(engine)
    print(f"  migrations after {LOADED_AT} on the loaded rows: {time.perf_counter() - t0:.1f} s")
    if engine.dialect.name == "postgresql":
        # As autovacuum would soon after: its run is kept out of the measured calls.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) sick_leave_certificate, sick_leave_listing")


def timed(fn, n: int) -> list[float]:
    fn()  # warm the caches and the schema compilation out of the figures
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(settings: Settings, queries: int, seed: int) -> dict[str, list[float]]:
    app = build_app(settings)
    settle_heap()  # as a serving worker does once it is built
    dispatcher = app.dispatcher
    services = dispatcher.services
    rng = random.Random(seed)
    actives = [personnummer(10_000_000 + p) for p in range(ACTIVE_PATIENTS)]

    def call(envelope: bytes, expect: bytes) -> None:
        answer = dispatcher.handle(envelope)
        if answer.status != 200 or expect not in answer.body:
            raise SystemExit(f"unexpected answer: {answer.status} {answer.body[:400]!r}")

    unit_list = samples.list_active_sick_leaves_for_care_unit(TARGET_UNIT)
    care_list = samples.list_sick_leaves_for_care(TARGET_UNIT, max_gap=5)

    def selection_only() -> None:
        today = services.clock().date()
        with services.store.reading() as uow:
            rows = uow.sick_leave.for_units(TARGET_GIVER, [TARGET_UNIT], today, today)
        if not rows:
            raise SystemExit("the target unit has no rows: was the data set generated for another day?")

    def items_only() -> None:
        today = services.clock().date()
        with services.store.reading() as uow:
            listing = uow.sick_leave.unit_listing(TARGET_GIVER, [TARGET_UNIT], today, today)
        if not listing or listing[0][2] is None:
            raise SystemExit("the target unit has no stored list items: was the data set generated before them?")

    # The serving gateway's background process runs beside the requests: so does it here.
    background = multiprocessing.get_context("spawn").Process(
        target=background_process, args=(settings.to_env(),), daemon=True
    )
    background.start()
    figures = {
        "selection query alone (baseline)": timed(selection_only, queries),
        "listing query alone": timed(items_only, queries),
        "ListActiveSickLeavesForCareUnit": timed(lambda: call(unit_list, b"intygsData"), queries),
        "ListSickLeavesForCare": timed(lambda: call(care_list, b"sjukfall>"), queries),
        "ListSickLeavesForPerson": timed(
            lambda: call(samples.list_sick_leaves_for_person(rng.choice(actives)), b"intygsData"), queries
        ),
    }
    background.terminate()
    background.join()
    answer = dispatcher.handle(unit_list)
    patients = len(set(re.findall(rb"<t:extension>(\d{12})</t:extension>", answer.body)))
    print(f"  ListActiveSickLeavesForCareUnit answer: {answer.body.count(b':intygsData>') // 2:,} certificates of "
          f"{patients:,} patients, {len(answer.body) / 1e6:.1f} MB")  # fmt: skip
    return figures


def report(label: str, figures: dict[str, list[float]]) -> None:
    base = statistics.median(figures["selection query alone (baseline)"])
    print(f"\n{label}")
    print(f"  {'':36} {'p50 ms':>8} {'p99 ms':>8} {'p50 / baseline':>15}")
    for name, values in figures.items():
        print(f"  {name:36} {p(values, 0.5):8.1f} {p(values, 0.99):8.1f} {statistics.median(values) / base:15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=10_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sqlite-mmap-bytes",
        type=int,
        default=Settings().sqlite_mmap_bytes,
        help="the gateway's sqlite_mmap_bytes for the SQLite run (0: no memory map); default: the gateway's",
    )
    parser.add_argument("--keep", help="folder for the databases (kept afterwards); default a temporary one")
    args = parser.parse_args()
    today = dt.date.today()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sick-leave-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{args.certificates:,} sick-leave certificates, target unit with {ACTIVE_PATIENTS:,} patients on sick leave")

    if args.db in ("sqlite", "both"):
        path = folder / "bench.db"
        url = f"sqlite:///{path}"
        fresh = not path.exists()
        # A kept database is brought up to the newest schema first, as the gateway's start would.
        engine = make_engine(url)
        upgrade(engine, LOADED_AT if fresh else "head")
        engine.dispose()  # the load takes the file for itself
        if fresh:
            t0 = time.perf_counter()
            load_sqlite(str(path), args.certificates, args.seed, today)
            print(f"SQLite: loaded in {time.perf_counter() - t0:.0f} s, {path.stat().st_size / 1e9:.1f} GB")
            engine = make_engine(url)
            migrate_loaded(engine)
            engine.dispose()
        settings = Settings(db=url, delivery=False, sqlite_mmap_bytes=args.sqlite_mmap_bytes)
        report(
            f"SQLite ({path}, memory map {settings.sqlite_mmap_bytes:,} bytes)",
            measure(settings, args.queries, args.seed),
        )

    if args.db in ("postgres", "both"):
        sys.path.insert(0, str(REPO))
        from tests.support.postgres import PostgresServer, create_database

        server = PostgresServer().start()
        try:
            url = create_database(server.url, "sick_leave_bench")
            engine = make_engine(url)
            upgrade(engine, LOADED_AT)
            t0 = time.perf_counter()
            load_postgres(url, args.certificates, args.seed, today)
            print(f"PostgreSQL: loaded in {time.perf_counter() - t0:.0f} s")
            migrate_loaded(engine)
            engine.dispose()
            report("PostgreSQL", measure(Settings(db=url, delivery=False), args.queries, args.seed))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
