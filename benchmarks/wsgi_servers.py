"""Which WSGI server to run the gateway under: granian against gunicorn, same app, same load.

    python benchmarks/wsgi_servers.py [--seconds 10] [--clients 32] [--workers 2]

Each server runs ``intygsgw.app:wsgi_app`` with 2 worker processes on a fresh
SQLite store (durable commits); wrk sends distinct ~10 KB RegisterCertificate
requests. Prints requests/s and p50/p99 for each, and the ratio. Needs wrk
(Debian package ``wrk``). Nothing is asserted: the figures are read and
reported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from register_throughput import load_with_wrk  # noqa: E402

from tests.support.server import GatewayProcess, free_port  # noqa: E402


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become healthy")


def run_granian(work: Path, args) -> dict:
    gw = GatewayProcess(
        work / "granian",
        workers=args.workers,
        extra_env={"INTYGSGW_DELIVERY": "false", "INTYGSGW_THREADS": str(args.threads)},
    ).start()
    try:
        return load_with_wrk(gw.port, args.seconds, args.clients, work)
    finally:
        gw.stop()


def run_gunicorn(work: Path, args) -> dict:
    from intygsgw.config.settings import SETTINGS_ENV, Settings

    workdir = work / "gunicorn"
    workdir.mkdir()
    db = f"sqlite:///{workdir / 'intygsgw.db'}"
    subprocess.run(
        [sys.executable, "-m", "intygsgw.cli", "migrate", "--db", db],
        check=True,
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
    )
    port = free_port()
    settings = Settings(db=db, delivery=False)
    env = {**os.environ, "PYTHONPATH": str(REPO), SETTINGS_ENV: settings.to_env()}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            str(args.threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "intygsgw.app:wsgi_app()",
        ],
        cwd=workdir,
        env=env,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        return load_with_wrk(port, args.seconds, args.clients, work)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="intygsgw-wsgi-"))
    figures = {"granian": run_granian(work, args), "gunicorn (gthread)": run_gunicorn(work, args)}
    for name, f in figures.items():
        rate = f["requests"] / f["seconds"]
        print(
            f"{name:20s} {rate:8,.0f} req/s   p50 {f['p50_us'] / 1000:6.2f} ms   p99 {f['p99_us'] / 1000:6.2f} ms"
            f"   failed {int(f['failures'] + f['errors'])}"
        )
    g = figures["granian"]["requests"] / figures["granian"]["seconds"]
    u = figures["gunicorn (gthread)"]["requests"] / figures["gunicorn (gthread)"]["seconds"]
    print(f"ratio granian / gunicorn: {g / u:.2f}")


if __name__ == "__main__":
    main()
