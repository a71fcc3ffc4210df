"""A real gateway process on loopback, for tests that go over HTTP.

The gateway is started the way an operator starts it (``intygsgw serve``), in
its own working directory, and is ready when ``/healthz`` answers 200.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from .paths import child_pythonpath


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GatewayProcess:
    def __init__(
        self,
        workdir: Path,
        db: str | None = None,
        workers: int = 1,
        extra_env: dict | None = None,
        extra_args: list[str] | None = None,
        https: dict | None = None,
    ):
        """``https``: requests options (cert=, verify=) for a gateway serving mutual TLS."""
        self.workdir = Path(workdir)
        self.port = free_port()
        self.https = https
        self.base_url = f"{'https' if https else 'http'}://127.0.0.1:{self.port}"
        self.db = db
        self.workers = workers
        self.extra_env = extra_env or {}
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen | None = None
        self.log_path = self.workdir / "gateway.log"

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            sys.executable,
            "-m",
            "intygsgw.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.extra_args,
        ]
        if self.db:
            args += ["--db", self.db]
        env = {**os.environ, "PYTHONPATH": child_pythonpath(), **self.extra_env}
        # The child gets its own copy of the descriptor; the parent's closes at once.
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                args, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=1, **(self.https or {})).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gateway did not become healthy in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def terminate(self) -> None:
        """SIGTERM, as an orchestrator stops a service."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def worker_pids(self) -> set[int]:
        """The pids of the serving workers (granian's spawned children; Linux, read from /proc)."""
        assert self.proc is not None
        workers = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                # The process name in parentheses may hold spaces; the parent pid is the second field after it.
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            if ppid == self.proc.pid and b"spawn_main" in cmdline:
                workers.add(int(entry.name))
        return workers

    def listeners(self) -> int:
        """How many sockets listen on the gateway's port (each worker has its own, SO_REUSEPORT; Linux)."""
        port = f":{self.port:04X}"
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = [line.split() for line in Path(table).read_text().splitlines()[1:]]
            except OSError:
                continue
            # local_address is the second field, the state (0A: LISTEN) the fourth.
            count += sum(1 for row in rows if row[3] == "0A" and row[1].endswith(port))
        return count

    def url(self, contract_path: str) -> str:
        return self.base_url + contract_path


@contextmanager
def running_gateway(workdir: Path, **kwargs):
    gw = GatewayProcess(workdir, **kwargs).start()
    try:
        yield gw
    finally:
        gw.stop()
