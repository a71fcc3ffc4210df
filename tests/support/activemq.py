"""A real, throwaway ActiveMQ broker for the event-feed tests.

The broker the hub's consumers use, from the Debian ``activemq`` package
(`.ci/run` installs it), started in a temporary folder with its own KahaDB
store and one STOMP connector on a free loopback port. ``stop`` and ``start``
again keep the store, so a test can take the broker away under load and
bring it back with what it had persisted.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import stomp

ACTIVEMQ_JAR = Path(os.environ.get("INTYGSGW_ACTIVEMQ_HOME", "/usr/share/activemq")) / "bin" / "activemq.jar"
INSTALL_HINT = (
    f"ActiveMQ was not found ({ACTIVEMQ_JAR} and java are needed). Install it with `apt-get install activemq` "
    "(Debian; `.ci/run` does this), or set INTYGSGW_ACTIVEMQ_HOME to an ActiveMQ 5 installation."
)
CONFIG = """<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="intygsgw-test" useJmx="false"
          persistent="true" dataDirectory="{data}">
    <persistenceAdapter><kahaDB directory="{data}/kahadb"/></persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:{port}"/>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:{openwire_port}"/>
    </transportConnectors>
  </broker>
</beans>
"""


class ActiveMQUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self) -> None:
        java = shutil.which("java")
        if java is None or not ACTIVEMQ_JAR.exists():
            raise ActiveMQUnavailable(INSTALL_HINT)
        self.java = java
        self.folder = Path(tempfile.mkdtemp(prefix="activemq-"))
        self.port = _free_port()
        self.openwire_port = _free_port()  # for the Java JMS consumer (JmsReader)
        (self.folder / "conf").mkdir()
        (self.folder / "data").mkdir()
        (self.folder / "conf" / "activemq.xml").write_text(
            CONFIG.format(data=self.folder / "data", port=self.port, openwire_port=self.openwire_port), encoding="utf-8"
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"stomp://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Broker:
        home = ACTIVEMQ_JAR.parent.parent
        log = open(self.folder / "broker.log", "ab")  # noqa: SIM115 - the broker writes to it while it runs
        self.proc = subprocess.Popen(
            [
                self.java,
                "-Xms64m",
                "-Xmx256m",
                f"-Dactivemq.home={home}",
                f"-Dactivemq.base={self.folder}",
                f"-Dactivemq.conf={self.folder / 'conf'}",
                f"-Dactivemq.data={self.folder / 'data'}",
                "-jar",
                str(ACTIVEMQ_JAR),
                "start",
                f"xbean:file:{self.folder / 'conf' / 'activemq.xml'}",
            ],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ActiveMQ exited at start: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"ActiveMQ did not open its STOMP port within {timeout:g} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self) -> str:
        path = self.folder / "broker.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class QueueReader(stomp.ConnectionListener):
    """A STOMP consumer of one queue that keeps every frame it gets (headers, body) in order."""

    def __init__(self, broker: Broker, queue: str):
        self.frames: list[tuple[dict, str]] = []
        self._arrived = threading.Condition()
        self.conn = stomp.Connection([("127.0.0.1", broker.port)])
        self.conn.set_listener("reader", self)
        self.conn.connect(wait=True)
        self.conn.subscribe(f"/queue/{queue}", id=1, ack="auto")

    def on_message(self, frame) -> None:
        with self._arrived:
            self.frames.append((dict(frame.headers), frame.body))
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[tuple[dict, str]]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.frames) >= count, timeout)
            return list(self.frames)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the broker may already be gone
            self.conn.disconnect()


JMS_SOURCE = Path(__file__).resolve().parent / "jms" / "JmsQueueReader.java"
JMS_CLASSPATH = (
    "/usr/share/java/activemq-client.jar",
    "/usr/share/java/geronimo-jms_1.1_spec.jar",
    "/usr/share/java/hawtbuf.jar",
    "/usr/share/java/geronimo-j2ee-management-1.1-spec.jar",
    str(ACTIVEMQ_JAR.parent.parent / "lib" / "slf4j-api.jar"),
)


class JmsReader:
    """Reads a queue as a Java JMS listener does (OpenWire, javax.jms), compiled from jms/JmsQueueReader.java."""

    def __init__(self) -> None:
        self.classes = Path(_compiled_reader().name)

    def read(self, broker: Broker, queue: str, count: int, seconds: int = 60) -> list[dict]:
        import json

        done = subprocess.run(
            [
                "java",
                "-cp",
                ":".join((str(self.classes), *JMS_CLASSPATH)),
                "JmsQueueReader",
                f"tcp://127.0.0.1:{broker.openwire_port}",
                queue,
                str(count),
                str(seconds),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@functools.cache
def _compiled_reader() -> tempfile.TemporaryDirectory:
    """The reader compiled once per test run, into a folder removed when the run ends (kept by the cache till then)."""
    javac = shutil.which("javac")
    if javac is None:
        raise ActiveMQUnavailable("javac is needed for the JMS consumer (Debian: default-jdk-headless)")
    folder = tempfile.TemporaryDirectory(prefix="jms-reader-")
    subprocess.run(
        [javac, "-nowarn", "-cp", ":".join(JMS_CLASSPATH), "-d", folder.name, str(JMS_SOURCE)],
        check=True,
        capture_output=True,
    )
    return folder
