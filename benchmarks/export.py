"""A care provider's export (customer termination): certificates/s and memory, small and large.

    python benchmarks/export.py [--certificates 200000] [--baseline 1000] [--db URL] [--skip-http]

One database holds two care providers: a small one (``--baseline``
certificates) and a large one (``--certificates``), each certificate a ~10 KB
LISJP as registered, stored by ``intygsgw import`` of generated exports. Then:

1. ``intygsgw export --care-provider … --out …`` runs as its own process for
   each; its peak RSS (the kernel's ru_maxrss) and certificates/s are printed.
2. The internal API streams the same export (``GET /internalapi/v1/certificates/{id}``)
   from a real ``intygsgw serve --internal-port``; the client counts lines and
   the serving processes' peak RSS (VmHWM) is read from /proc.

3. ``intygsgw erase --care-provider … --yes`` removes the large one, 500
   certificates per transaction; its time and peak RSS are printed.

The export reads a page of 500 certificates at a time, so memory must not
grow with the care provider: the ratio large/small of peak RSS is the figure
to read (about 1.0 when bounded), with certificates/s beside it.
Nothing here asserts: the machines are shared, so figures are read and reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import requests  # noqa: E402

from intygsgw.app import build_services  # noqa: E402
from intygsgw.config.settings import Settings  # noqa: E402
from intygsgw.devtools.samples import CertificateSpec, unique_certificate_ids  # noqa: E402
from intygsgw.devtools.samples.exports import certificate_export  # noqa: E402
from intygsgw.service.care_provider import export_counts, import_certificates  # noqa: E402

SMALL, LARGE = "SE2321000016-BENCH-S", "SE2321000016-BENCH-L"


def seed(url: str, provider: str, n: int, seed: int) -> None:
    services = build_services(Settings(db=url, sqlite_synchronous="OFF"), migrate=True)
    have, _ = export_counts(services, provider)
    if have >= n:
        print(f"{provider}: {have} certificates already stored")
        return
    at = dt.datetime(2026, 1, 2, 3, 4, 5)
    started = time.perf_counter()

    def exports():
        for i, cid in enumerate(unique_certificate_ids(n, seed=seed)[have:]):
            person = f"19{(i % 80) + 10:02d}0101{i % 10000:04d}"
            spec = CertificateSpec(certificate_id=cid, person_id=person, care_giver_id=provider)
            yield certificate_export(spec, at)

    report = import_certificates(services, exports(), batch=1000)
    print(f"{provider}: stored {report.restored} certificates in {time.perf_counter() - started:.0f} s")
    services.store.engine.dispose()


def cli_export(url: str, provider: str, out: Path) -> tuple[float, int, float]:
    """(seconds, peak RSS in MB, certificates/s) of ``intygsgw export`` as its own process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "intygsgw.cli", "export", "--care-provider", provider, "--out", str(out), "--db", url],
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export of {provider} failed")
    with open(out, "rb") as f:
        lines = sum(1 for _ in f) - 2
    return seconds, usage.ru_maxrss // 1024, lines / seconds


def cli_erase(url: str, provider: str) -> tuple[float, int]:
    """(seconds, peak RSS in MB) of ``intygsgw erase`` as its own process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "intygsgw.cli", "erase", "--care-provider", provider, "--yes", "--db", url],
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"erase of {provider} failed")
    return time.perf_counter() - started, usage.ru_maxrss // 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    frontier += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def _peak_mb(pid: int) -> int:
    """The largest VmHWM among the process and its descendants (the serving workers)."""
    peak = 0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) // 1024)
        except OSError:
            continue
    return peak


def http_export(url: str, providers: list[str], workdir: Path) -> list[tuple[str, float, int, float, int]]:
    port, internal = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "INTYGSGW_DELIVERY": "false", "INTYGSGW_LOG_LEVEL": "WARNING"}
    serve = ["serve", "--port", str(port), "--internal-port", str(internal), "--workers", "1", "--db", url]
    # The child keeps its own copy of the descriptor; the parent's closes at once.
    with open(workdir / "gateway.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "intygsgw.cli", *serve],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{internal}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/internalapi/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the gateway did not start; see " + str(workdir / "gateway.log"))
            time.sleep(0.2)
        results = []
        for provider in providers:
            before = _peak_mb(proc.pid)
            started = time.perf_counter()
            lines = size = 0
            with requests.get(f"{base}/internalapi/v1/certificates/{provider}", stream=True, timeout=600) as answer:
                answer.raise_for_status()
                for line in answer.iter_lines(chunk_size=1 << 16):
                    lines += 1
                    size += len(line)
            seconds = time.perf_counter() - started
            results.append((provider, seconds, lines - 2, (lines - 2) / seconds, max(before, _peak_mb(proc.pid))))
            print(f"  streamed {lines - 2} certificates ({size / 1e6:,.0f} MB) of {provider}")
        return results
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--certificates", type=int, default=200_000)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--db", help="SQLAlchemy URL; default: a SQLite file in a temporary folder")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="intygsgw-export-bench-"))
    url = args.db or f"sqlite:///{workdir / 'bench.db'}"
    seed(url, SMALL, args.baseline, seed=11)
    seed(url, LARGE, args.certificates, seed=12)

    print("\nintygsgw export (own process):")
    small = cli_export(url, SMALL, workdir / "small.jsonl")
    large = cli_export(url, LARGE, workdir / "large.jsonl")
    for name, (seconds, rss, rate), n in (("small", small, args.baseline), ("large", large, args.certificates)):
        print(f"  {name:5} {n:>8} certificates: {seconds:7.1f} s, {rate:8,.0f} certificates/s, peak RSS {rss} MB")
    size = (workdir / "large.jsonl").stat().st_size
    print(f"  large export file: {size / 1e9:.2f} GB")
    print(f"  peak RSS large/small: {large[1] / small[1]:.2f} (bounded memory: about 1)")

    if not args.skip_http:
        print("\nGET /internalapi/v1/certificates/{id} (streamed, real HTTP):")
        rows = http_export(url, [SMALL, LARGE], workdir)
        for provider, seconds, n, rate, rss in rows:
            print(
                f"  {provider}: {n} certificates, {seconds:7.1f} s, {rate:8,.0f} certificates/s, serving peak RSS {rss} MB"
            )
        print(f"  serving peak RSS large/small: {rows[1][4] / max(rows[0][4], 1):.2f}")
    print("\nintygsgw erase (own process, batches of 500):")
    seconds, rss = cli_erase(url, LARGE)
    print(
        f"  {args.certificates} certificates: {seconds:7.1f} s, {args.certificates / seconds:8,.0f} certificates/s, peak RSS {rss} MB"
    )
    for f in ("small.jsonl", "large.jsonl"):
        (workdir / f).unlink(missing_ok=True)
    print(f"\n(database kept in {workdir}; the large care provider was erased)")


if __name__ == "__main__":
    main()
