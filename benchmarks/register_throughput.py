"""RegisterCertificate over HTTP against the gateway, next to an in-process floor.

    python benchmarks/register_throughput.py [--seconds 20] [--clients 32] [--workers 2] [--load wrk|python]
                                             [--db sqlite|postgres]

Starts the gateway as an operator would (`intygsgw serve`, default SQLite store
with durable commits) in a temporary directory, sends distinct ~10 KB LISJP
certificates on keep-alive connections (wrk from Debian's ``wrk`` package when
installed, else Python client processes, which take a larger share of the same
two cores), and prints requests/s, p50/p99 latency and each process's peak RSS.

Each patient gets ``--per-patient`` certificates (3 by default; an assumption
standing for a sick-leave case's first certificate and its extensions, not a
measured figure), so that a registration lists its patient on the unit as one in
production does: the patient's rows read and the listing row written, and the
access log's hour row named. Under wrk a patient's certificates come a thousand
requests apart, never two in flight at once (production's come days apart).
``--per-patient 0`` sends every certificate for one patient, as this benchmark
did until 2026-12-07: that patient's listing row passes 100 certificates at once
and is never rebuilt again, which left out work every production registration does.

With ``--db postgres`` the gateway stores in a PostgreSQL server started from
the Debian package for the run (fsync on, as the tests' server), its tables
analyzed after the warm-up as autovacuum keeps a live database's, and the
server's own CPU per request is printed beside the gateway's.

In the same run it measures issue 17's floor: two processes, each a plain loop
of lxml parse + schema validation + one SQLite insert (WAL, synchronous=FULL, a
commit per message) into one database, once before and once after the load
(the machine's speed drifts), and prints the ratio of the gateway's rate to
their mean; and, as before 2026-12-06, the same loop in one process. Before the
load it also times the gateway's application alone (its WSGI app called on one
thread in a process of its own, no HTTP) and prints the served workers' CPU per
request against it: the front end's and the threads' share. On this
machine the two are alike (2,100-2,550 msg/s): both wait on one durable
commit at a time. Nothing here asserts: the machines are
shared, so the figures are read, compared and reported.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lxml import etree  # noqa: E402

from intygsgw.interactions import REGISTER_CERTIFICATE_3  # noqa: E402
from intygsgw.storage.db import SQLITE_ERRORS, connect_sqlite  # noqa: E402

PATH = REGISTER_CERTIFICATE_3.path


PER_PATIENT = 3  # certificates per patient by default (see the module's docstring)
PERSONS = 20_000_000  # distinct personnummer the samples can make


@functools.cache
def patients(count: int, seed: int) -> tuple[str, ...]:
    """``count`` distinct patients' personnummer; sets made with other seeds rarely share one.

    Kept: feeds.py asks for the same 67,000 in every run of its rounds (0.4 s each time).
    """
    import random

    from intygsgw.devtools.samples.certificates import personnummer

    first = random.Random(seed).randrange(PERSONS)
    return tuple(personnummer((first + i) % PERSONS) for i in range(count))


def make_envelopes(n: int, seed: int, per_patient: int = PER_PATIENT) -> list[bytes]:
    """``n`` RegisterCertificate requests, distinct certificates, ``per_patient`` for each patient (0: all one)."""
    from intygsgw.devtools.samples.certificates import CertificateSpec, unique_certificate_ids
    from intygsgw.devtools.samples.requests import register_certificate

    ids = unique_certificate_ids(n, seed)
    if per_patient <= 0:
        return [register_certificate(CertificateSpec(certificate_id=cid)) for cid in ids]
    persons = patients(-(-n // per_patient), seed)
    return [
        register_certificate(CertificateSpec(certificate_id=cid, person_id=persons[i // per_patient]))
        for i, cid in enumerate(ids)
    ]


def _floor_schema():
    from intygsgw.soap.schemas import compiled

    return compiled("interactions/RegisterCertificateResponder-3.xsd")


WARM_UP = 200  # registrations before the measured load


def stored_after(path: Path) -> tuple[str, int]:
    """(SQLite's quick_check verdict, certificates stored) of the gateway's database once it has stopped."""
    try:
        db = connect_sqlite(f"file:{path}?mode=ro", uri=True)
        try:
            check = "; ".join(row[0] for row in db.execute("PRAGMA quick_check(5)"))
            return check, db.execute("SELECT count(*) FROM certificate").fetchone()[0]
        finally:
            db.close()
    except SQLITE_ERRORS as exc:
        return f"failed: {exc}", -1


def _floor_database(path: Path):
    # The gateway's own SQLite library, so that the floor and the gateway write alike.
    db = connect_sqlite(path, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS cert (id TEXT PRIMARY KEY, doc BLOB)")
    return db


def _floor_loop(envelopes: list[bytes], keys: list[str], schema, db) -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for key, env in zip(keys, envelopes, strict=True):
        root = etree.fromstring(env, parser)
        body = root[-1][0]
        if not schema.validate(body):
            raise SystemExit(f"floor: sample {key} is not schema-valid: {schema.error_log.last_error}")
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO cert VALUES (?, ?)", (key, env))
        db.execute("COMMIT")


def floor(envelopes: list[bytes], workdir: Path, name: str = "floor.db") -> float:
    """Messages/s of one plain loop: parse, schema validation, one durable insert each."""
    schema, db = _floor_schema(), _floor_database(workdir / name)
    start = time.perf_counter()
    _floor_loop(envelopes, [str(i) for i in range(len(envelopes))], schema, db)
    return len(envelopes) / (time.perf_counter() - start)


def floor_processes(envelopes: list[bytes], workdir: Path, name: str, processes: int = 2) -> float:
    """Messages/s of ``processes`` processes running :func:`floor`'s loop on shares of ``envelopes``
    into one database, as issue 17 defines its floor; timed from a common start, once all are ready."""
    import pickle

    data = workdir / f"{name}.envelopes"
    data.write_bytes(pickle.dumps(envelopes))
    _floor_database(workdir / name).close()
    command = [sys.executable, __file__, "--floor-worker", str(workdir / name), str(data), str(processes)]
    procs = [
        subprocess.Popen([*command, str(i)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for i in range(processes)
    ]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise SystemExit("floor: a worker process did not start")
        start = time.perf_counter()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            if p.stdout.readline().strip() != "done":
                raise SystemExit("floor: a worker process failed")
        elapsed = time.perf_counter() - start
    finally:
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    return len(envelopes) / elapsed


def _floor_worker(db_path: str, data: str, processes: int, index: int) -> None:
    import pickle

    envelopes = pickle.loads(Path(data).read_bytes())[index::processes]
    keys = [f"{index}-{i}" for i in range(len(envelopes))]
    schema, db = _floor_schema(), _floor_database(Path(db_path))
    print("ready", flush=True)
    sys.stdin.readline()
    _floor_loop(envelopes, keys, schema, db)
    print("done", flush=True)


def register_in_process(app, body: bytes) -> None:
    """One RegisterCertificate through the gateway's WSGI app, in this process."""
    import io

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "text/xml; charset=utf-8",
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": "127.0.0.1",
    }
    answer = b"".join(app(environ, lambda status, headers, exc_info=None: None))
    if b"resultCode>OK<" not in answer:
        raise SystemExit(f"registration refused: {answer[:400]!r}")


APP_ALONE_WARM_UP = 300


def app_alone(envelopes: list[bytes], workdir: Path) -> float:
    """CPU seconds per registration of the gateway's application alone: its WSGI app called on one
    thread in a process of its own (no HTTP, no threads), default settings but delivery, its request
    log written to a file as a served gateway writes it. What the served path costs beyond this is
    the front end's and the threads'."""
    import pickle

    data = workdir / "app-alone.envelopes"
    data.write_bytes(pickle.dumps(envelopes))
    out = subprocess.run(
        [sys.executable, __file__, "--app-worker", str(workdir / "app-alone"), str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"the application alone failed: {out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


def _app_worker(folder: str, data: str) -> None:
    import logging
    import pickle

    from intygsgw.app import build_app, settle_heap
    from intygsgw.config.settings import Settings
    from intygsgw.logsafety import configure

    envelopes = pickle.loads(Path(data).read_bytes())
    Path(folder).mkdir(parents=True, exist_ok=True)
    settings = Settings(db=f"sqlite:///{Path(folder) / 'intygsgw.db'}", delivery=False)
    configure(settings.log_level, settings.log_format)
    log = open(Path(folder) / "gateway.log", "w")  # noqa: SIM115 (open for the process's life)
    for handler in logging.getLogger().handlers:
        handler.setStream(log)
    app = build_app(settings, migrate=True)
    settle_heap()
    for body in envelopes[:APP_ALONE_WARM_UP]:
        register_in_process(app, body)
    measured = envelopes[APP_ALONE_WARM_UP:]
    start = time.process_time()
    for body in measured:
        register_in_process(app, body)
    print((time.process_time() - start) / len(measured), flush=True)


def connect(port: int, tls: dict | None = None) -> http.client.HTTPConnection:
    """A keep-alive connection to the gateway; ``tls``: {"ca", "cert", "key"} paths for mutual TLS."""
    if not tls:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    import ssl

    ctx = ssl.create_default_context(cafile=tls["ca"])
    ctx.load_cert_chain(tls["cert"], tls["key"])
    return http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=ctx)


def python_client(port: int, bodies: list[bytes], deadline: float, out: mp.Queue, tls: dict | None = None) -> None:
    """One EHR system: registers ``bodies`` in turn until the deadline; puts (latencies, errors) on ``out``."""
    conn = connect(port, tls)
    latencies, errors, i = [], 0, 0
    headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": REGISTER_CERTIFICATE_3.soap_action}
    while time.time() < deadline and i < len(bodies):
        t = time.perf_counter()
        conn.request("POST", PATH, bodies[i], headers)
        resp = conn.getresponse()
        data = resp.read()
        latencies.append(time.perf_counter() - t)
        if resp.status != 200 or b"<core:resultCode>OK<" not in data:
            errors += 1
        i += 1
    out.put((latencies, errors))


def load_with_python_clients(
    port: int, chunks: list[list[bytes]], seconds: float, tls: dict | None = None
) -> tuple[list[float], int, float]:
    """One client process per chunk of bodies until ``seconds`` have passed:
    (sorted latencies in seconds, errors, elapsed seconds)."""
    queue: mp.Queue = mp.Queue()
    deadline = time.time() + seconds
    procs = [mp.Process(target=python_client, args=(port, chunk, deadline, queue, tls)) for chunk in chunks]
    start = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    return sorted(x for lat, _ in results for x in lat), sum(e for _, e in results), elapsed


# wrk (Debian package ``wrk``) costs the shared CPU far less than Python
# clients, so more of the two cores measure the gateway. Each request gets a
# fresh certificate id from the Lua script; the body is the same sample.
WRK_SCRIPT = r"""
local template = io.open(os.getenv("BENCH_TEMPLATE")):read("*a")
local run = os.getenv("BENCH_RUN")
-- The template cut once at its @@NAME@@ places: a request joins the pieces and its values,
-- where a gsub per value scanned the 10 KB again (wrk's CPU per request doubled with two).
local pieces, at = {}, 1
while true do
  local first, last, name = template:find("@@([A-Z_]+)@@", at)
  if not first then pieces[#pieces + 1] = template:sub(at); break end
  pieces[#pieces + 1] = template:sub(at, first - 1)
  pieces[#pieces + 1] = name
  at = last + 1
end
-- Patients: each wrk thread takes its own half of the list, per_patient certificates each, a
-- thousand requests apart: in production a patient's certificates come days apart, and two of one
-- patient in flight at once would wait for each other on PostgreSQL (the patient's lock).
local per_patient, persons, spread = tonumber(os.getenv("BENCH_PER_PATIENT")), {}, 1000
if per_patient > 0 then
  for line in io.lines(os.getenv("BENCH_PERSONS")) do persons[#persons + 1] = line end
end
local counter, threads, created = 0, {}, 0
-- tid is a global: setup() runs in the main Lua state and thread:set() writes
-- each thread's own global.
function setup(thread)
  created = created + 1
  thread:set("tid", created)
  table.insert(threads, thread)
end
function init(args)
  failures = 0
end
function request()
  counter = counter + 1
  local values = {CERTIFICATE_ID = string.format("%s-0000-4000-a%03d-%012d", run, tid, counter)}
  if per_patient > 0 then
    local half = math.floor(#persons / 2)
    local n = counter - 1
    local patient = math.floor(n / (spread * per_patient)) * spread + n % spread
    values.PERSON_ID = persons[(tid - 1) * half + patient % half + 1]
  end
  local parts = {}
  for i, piece in ipairs(pieces) do
    parts[i] = i % 2 == 0 and values[piece] or piece
  end
  return wrk.format("POST", nil, {["Content-Type"] = "text/xml; charset=UTF-8"}, table.concat(parts))
end
function response(status, headers, body)
  if status ~= 200 or not body:find(">OK<", 1, true) then failures = failures + 1 end
end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("failures") end
  io.write(string.format("WRK requests=%d seconds=%.3f p50_us=%d p99_us=%d failures=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout))
end
"""


def load_with_wrk(port: int, seconds: float, connections: int, workdir: Path, per_patient: int = PER_PATIENT) -> dict:
    from intygsgw.devtools.samples.certificates import PATIENT, CertificateSpec
    from intygsgw.devtools.samples.requests import register_certificate

    template = workdir / "register-template.xml"
    sample = register_certificate(CertificateSpec(certificate_id="@@CERTIFICATE_ID@@"))
    if per_patient > 0:
        sample = sample.replace(PATIENT.encode(), b"@@PERSON_ID@@")
    template.write_bytes(sample)
    persons = workdir / "register-persons.txt"
    # Enough for two wrk threads of 100,000 certificates each before a patient comes round again.
    persons.write_text("\n".join(patients(2 * -(-100_000 // per_patient), os.getpid())) if per_patient > 0 else "")
    script = workdir / "register.lua"
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_TEMPLATE": str(template),
        "BENCH_RUN": os.urandom(4).hex(),
        "BENCH_PER_PATIENT": str(max(0, per_patient)),
        "BENCH_PERSONS": str(persons),
    }
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(min(2, connections)),  # wrk refuses more threads than connections
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{PATH}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("WRK "))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


def _children_stat(pid: int) -> dict[int, list[str]]:
    """The /proc/<pid>/stat fields after the command name, of each process below ``pid``."""
    out = {}
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):  # fields[1] is the parent's pid
            out[int(child.name)] = fields
    return out


def connections_per_process(parent: int, port: int) -> list[int]:
    """How many established connections to ``port`` each process below ``parent`` serves, most first.

    The workers race to accept each new connection, and keep it. Eight connections split other
    than 4 and 4 three times in four by chance alone; on 2026-12-08 all eight went to one worker in
    two runs out of fourteen, which then served everything alone (42% of the cores idle). Closing
    connections now and then so that they reconnect made it worse (benchmarks/PROFILE.md): the
    busier worker takes the new connection more often. Printed early and late in the load.
    """
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "01" and int(f[1].rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                established.add(f[9])  # the socket's inode
    counts = []
    for child in _children_stat(parent):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()]
        except OSError:
            continue
        counts.append(sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in established))
    return sorted((c for c in counts if c), reverse=True)


def _analyze(database_url: str) -> None:
    """Give the fresh database's tables the statistics autovacuum gives a live one within a minute.

    Without them PostgreSQL plans the registration's reads of the sick-leave rows as scans of
    tables it takes for empty, and a run costs more the more it has stored: on 2026-12-07 the
    server's CPU per registration was 1.84-1.93 ms before an ANALYZE and 1.29 ms after it.
    """
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def _postgres_cpu_seconds(server) -> float:
    """User+system CPU of a PostgreSQL server's postmaster and its backends (0 without a server)."""
    if server is None:
        return 0.0
    postmaster = int((server.datadir / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    own = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    backends = sum(int(f[11]) + int(f[12]) for f in _children_stat(postmaster).values())
    return (int(own[11]) + int(own[12]) + backends) / tick


def _peak_rss_of_children(pid: int) -> list[int]:
    """VmHWM (peak resident set) in KiB of each process below ``pid``."""
    out = []
    for child in _children_stat(pid):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmHWM" in fields:
            out.append(int(fields["VmHWM"].split()[0]))
    return out


def _cpu_seconds_of_children(pid: int) -> dict[int, float]:
    """User+system CPU seconds of each process below ``pid``."""
    tick = os.sysconf("SC_CLK_TCK")
    return {child: (int(f[11]) + int(f[12])) / tick for child, f in _children_stat(pid).items()}


def _machine_idle_and_steal_seconds() -> tuple[float, float]:
    """Idle + iowait, and steal (time a virtual machine's host gave to others), summed over
    all cores since boot, from /proc/stat."""
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()
    tick = os.sysconf("SC_CLK_TCK")
    steal = int(cpu[8]) if len(cpu) > 8 else 0
    return (int(cpu[4]) + int(cpu[5])) / tick, steal / tick


def main() -> None:
    if sys.argv[1:2] == ["--floor-worker"]:
        _floor_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        return
    if sys.argv[1:2] == ["--app-worker"]:
        _app_worker(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=32, help="concurrent connections (EHR systems)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="threads per worker (default: the gateway's)")
    ap.add_argument("--per-client", type=int, default=6000, help="certificates prepared per client")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--per-patient", type=int, default=PER_PATIENT, help="certificates per patient (0: every one for one patient)"
    )
    ap.add_argument(
        "--load",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (default: wrk when installed)",
    )
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="the gateway's database")
    args = ap.parse_args()

    sys.path.insert(0, str(REPO / "tests" / ".."))
    from tests.support.server import GatewayProcess

    postgres = None
    if args.db == "postgres":
        from tests.support.postgres import PostgresServer, create_database

        postgres = PostgresServer().start()
        database_url = create_database(postgres.url, "register_bench")

    work = Path(tempfile.mkdtemp(prefix="intygsgw-bench-"))
    total = args.clients * args.per_client if args.load == "python" else 0
    print(f"preparing {total} distinct certificates ...", flush=True)
    envelopes = make_envelopes(total + 2000, args.seed, args.per_patient)
    size = statistics.mean(len(e) for e in envelopes[:100])
    print(f"certificate envelope size: {size / 1024:.1f} KiB")

    sample = envelopes[total : total + 2000]
    floor_before = floor_processes(sample, work, "floor-before.db")
    loop_before = floor(sample, work, "loop-before.db")
    print(
        f"floor (2 processes of parse + validate + 1 durable SQLite insert per message): {floor_before:,.0f} msg/s "
        f"before the load; one such loop alone: {loop_before:,.0f} msg/s",
        flush=True,
    )

    alone = app_alone(sample[: APP_ALONE_WARM_UP + 1000], work)
    print(f"the application alone (its WSGI app on one thread, in-process, SQLite): {alone * 1000:.2f} ms CPU "
          "per registration")  # fmt: skip

    env = {"INTYGSGW_DELIVERY": "false"}
    if postgres is not None:
        env["INTYGSGW_DB"] = database_url
    if args.threads:
        env["INTYGSGW_THREADS"] = str(args.threads)
    gw = GatewayProcess(work / "gateway", workers=args.workers, extra_env=env).start()
    try:
        # warm up: schemas, connection pools, page cache
        warm = http.client.HTTPConnection("127.0.0.1", gw.port)
        for env in envelopes[total : total + WARM_UP]:
            warm.request("POST", PATH, env, {"Content-Type": "text/xml"})
            warm.getresponse().read()
        warm.close()  # so that the split of the load's connections is theirs alone
        if postgres is not None:
            _analyze(database_url)
        # Where the machine's time goes during the load: the gateway's
        # processes, the load generator (all other CPU) and idle cores.
        cpu_before = _cpu_seconds_of_children(gw.proc.pid)
        db_cpu_before = _postgres_cpu_seconds(postgres)
        idle_before, steal_before = _machine_idle_and_steal_seconds()
        own_before = os.times()
        # The load's connections per worker, early and late in the load.
        early: list[int] = []
        late: list[int] = []
        probers = [
            threading.Timer(at, lambda into=into: into.extend(connections_per_process(gw.proc.pid, gw.port)))
            for at, into in ((min(2.0, args.seconds / 2), early), (max(args.seconds - 1.0, args.seconds / 2), late))
        ]
        for prober in probers:
            prober.start()
        if args.load == "wrk":
            figures = load_with_wrk(gw.port, args.seconds, args.clients, work, args.per_patient)
            n, elapsed = int(figures["requests"]), figures["seconds"]
            errors = int(figures["failures"] + figures["errors"])
            p50, p99 = figures["p50_us"] / 1000, figures["p99_us"] / 1000
        else:
            chunks = [envelopes[i * args.per_client : (i + 1) * args.per_client] for i in range(args.clients)]
            latencies, errors, elapsed = load_with_python_clients(gw.port, chunks, args.seconds)
            n = len(latencies)
            p50, p99 = latencies[n // 2] * 1000, latencies[int(n * 0.99)] * 1000
        cpu_after, (idle_after, steal_after) = _cpu_seconds_of_children(gw.proc.pid), _machine_idle_and_steal_seconds()
        db_cpu = _postgres_cpu_seconds(postgres) - db_cpu_before
        own_after = os.times()
        rss = _peak_rss_of_children(gw.proc.pid)
    finally:
        gw.stop()
        if postgres is not None:
            postgres.stop()

    stored = None if postgres is not None else stored_after(work / "gateway" / "intygsgw.db")

    floor_after = floor_processes(sample, work, "floor-after.db")
    loop_after = floor(sample, work, "loop-after.db")
    floor_rate, loop_rate = (floor_before + floor_after) / 2, (loop_before + loop_after) / 2
    print(
        f"floor after the load: {floor_after:,.0f} msg/s (one loop {loop_after:,.0f}); mean {floor_rate:,.0f} msg/s "
        f"(one loop {loop_rate:,.0f})"
    )
    rate = n / elapsed
    print(
        f"gateway ({args.load} load): {n} requests in {elapsed:.1f} s with {args.clients} connections, "
        f"{args.workers} workers"
    )
    print(f"  throughput {rate:,.0f} req/s   errors {errors}")
    if stored is not None:
        # Every OK answer must be on disk, in a database that SQLite itself finds sound. The load
        # stops with up to one request per connection in flight: stored, perhaps, but not answered.
        answered_ok = n - errors + WARM_UP
        check, certificates = stored
        sound = check == "ok" and answered_ok <= certificates <= answered_ok + args.clients
        verdict = "as answered" if sound else "NOT AS ANSWERED"
        print(f"  stored afterwards: {certificates:,} certificates for {answered_ok:,} OK answers, "
              f"SQLite quick_check: {check} ({verdict})")  # fmt: skip
    print(f"  latency p50 {p50:.2f} ms   p99 {p99:.2f} ms")
    print(f"  peak RSS per process (KiB): {sorted(rss)}")
    for prober in probers:
        prober.join()
    print(
        f"  connections per worker: {', '.join(map(str, early)) or 'not seen'} early, "
        f"{', '.join(map(str, late)) or 'not seen'} late"
    )
    gateway_cpu = sum(cpu_after.get(p, 0) - c for p, c in cpu_before.items())
    load_cpu = (own_after.children_user + own_after.children_system) - (
        own_before.children_user + own_before.children_system
    )
    idle = idle_after - idle_before
    steal = steal_after - steal_before
    print(
        f"  machine time per request: gateway workers {gateway_cpu / n * 1000:.2f} ms CPU, "
        f"load generator {load_cpu / n * 1000:.2f} ms CPU, idle cores {idle / n * 1000:.2f} ms "
        f"({idle / elapsed / os.cpu_count():.0%} idle, {steal / elapsed / os.cpu_count():.0%} stolen by the host)"
    )
    if postgres is not None:
        print(f"  PostgreSQL's own processes: {db_cpu / n * 1000:.2f} ms CPU per request")
    else:
        print(f"  gateway workers' CPU per request / the application alone's: {gateway_cpu / n / alone:.2f}")
    print(
        f"ratio gateway / floor (mean of before and after): {rate / floor_rate:.2f} "
        f"(to one loop alone: {rate / loop_rate:.2f})"
    )


if __name__ == "__main__":
    main()
