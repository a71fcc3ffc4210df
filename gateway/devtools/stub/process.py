"""Run a stub recipient as a real process, the way an operator would start one.

For tests of the gateway's outbound side: ``with running_stub(tmp_path) as stub:``
gives a ``StubClient`` whose ``url()`` the gateway's routes can point at.
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

from intygsgw.devtools.stub.client import StubClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubProcess:
    def __init__(
        self,
        workdir: str | Path,
        name: str = "stub-recipient",
        rules_file: str | Path | None = None,
        store_file: str | Path | None = None,
        extra_args: list[str] | None = None,
    ):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = ["--port", str(self.port), "--name", name]
        if rules_file:
            self.args += ["--rules", str(rules_file)]
        if store_file:
            self.args += ["--store", str(store_file)]
        self.args += extra_args or []
        self.log_path = self.workdir / f"stub-{name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self.client = StubClient(self.base_url)

    def start(self, timeout: float = 30.0) -> StubProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The child gets its own copy of the descriptor; the parent's closes at once.
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "intygsgw.cli", "stub-recipient", *self.args],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"stub recipient exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.base_url + "/_stub/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"stub recipient did not answer /_stub/health within {timeout:g} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode


@contextmanager
def running_stub(workdir: str | Path, **kwargs):
    stub = StubProcess(workdir, **kwargs).start()
    try:
        yield stub.client
    finally:
        stub.stop()
