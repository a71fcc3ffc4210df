"""A real, throwaway PostgreSQL server for the test session.

The gateway promises PostgreSQL support, and the outbox depends on behaviour
SQLite cannot show (row locks, ``SKIP LOCKED``, concurrent writers), so the
database tests run against the genuine server from the Debian ``postgresql``
package rather than a mock. Each session gets its own cluster in a temporary
directory on a free loopback port, so it never touches a system cluster and
parallel sessions never collide.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "intygsgw"
DEFAULT_DBNAME = "intygsgw_test"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found under "
    f"{DEBIAN_PG_ROOT}/<major>/bin. Install them with `apt-get install postgresql` "
    "(Debian/Ubuntu; `.ci/run` does this), or set INTYGSGW_PG_BINDIR to a directory "
    "that holds them."
)

# Linux caps a unix socket path at 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_DBNAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresUnavailable(RuntimeError):
    """The machine cannot run a PostgreSQL server at all (as opposed to one that failed)."""


def _version_key(name: str) -> tuple[int, ...] | None:
    # "9.6" must sort below "15", which plain string order gets wrong.
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return None


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) and (bindir / name).is_file() for name in SERVER_BINARIES)


def find_bindir(debian_root: Path = DEBIAN_PG_ROOT, environ: dict | None = None) -> Path:
    """The directory holding initdb, pg_ctl and postgres, newest Debian major first.

    Directories on PATH come last: they may hold wrapper scripts (Debian's own
    pg_wrapper, or local shims) that do not behave like the real binaries, so
    they are only trusted when all three resolve to one real directory.
    """
    environ = os.environ if environ is None else environ
    override = environ.get("INTYGSGW_PG_BINDIR")
    if override:
        bindir = Path(override)
        if not _has_server_binaries(bindir):
            raise PostgresUnavailable(f"INTYGSGW_PG_BINDIR={override} does not hold {', '.join(SERVER_BINARIES)}.")
        return bindir

    if debian_root.is_dir():
        majors = []
        for entry in debian_root.iterdir():
            key = _version_key(entry.name)
            if key is not None and _has_server_binaries(entry / "bin"):
                majors.append((key, entry / "bin"))
        if majors:
            return max(majors)[1]

    resolved = set()
    for name in SERVER_BINARIES:
        found = shutil.which(name, path=environ.get("PATH"))
        if not found:
            break
        resolved.add(Path(os.path.realpath(found)).parent)
    else:
        if len(resolved) == 1:
            bindir = resolved.pop()
            if _has_server_binaries(bindir):
                return bindir
    raise PostgresUnavailable(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_account() -> pwd.struct_passwd | None:
    """Who runs initdb and postgres: nobody else unless we are root, which they refuse."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("INTYGSGW_PG_OS_USER", "postgres")
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise PostgresUnavailable(
            f"Running as root, and PostgreSQL refuses to run as root, but there is no '{name}' "
            "user to run it as (the Debian postgresql package creates one; INTYGSGW_PG_OS_USER "
            "names another)."
        ) from None
    if account.pw_uid == 0:
        raise PostgresUnavailable(f"INTYGSGW_PG_OS_USER={name} is root; PostgreSQL needs an unprivileged user.")
    return account


def _as_account(account: pwd.struct_passwd | None, argv: list[str]) -> list[str]:
    if account is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", account.pw_name, "--", *argv]
    su = shutil.which("su")
    if su:
        return [su, "-s", "/bin/sh", account.pw_name, "-c", shlex.join(argv)]
    raise PostgresUnavailable("Running as root, but neither runuser nor su is available to drop privileges.")


def _clean_env() -> dict[str, str]:
    # A developer's PGDATA/PGPORT/PGHOST must not steer pg_ctl at some other cluster.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"  # log lines are matched below, so keep them untranslated
    return env


class PostgresServer:
    """One private cluster: ``start()`` it, use ``url``, ``stop()`` it."""

    def __init__(self, bindir: Path | None = None, dbname: str = DEFAULT_DBNAME):
        _check_dbname(dbname)
        self.bindir = Path(bindir) if bindir else find_bindir()
        self.dbname = dbname
        self.account = _server_account()
        self.base: Path | None = None
        self.port: int | None = None
        self.url: str | None = None
        self.version: str | None = None
        self.startup_seconds: float | None = None
        self._running = False

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def _run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        # cwd is the cluster's own directory: after dropping privileges the
        # caller's cwd (often under /root) may not even be readable.
        return subprocess.run(
            _as_account(self.account, argv),
            cwd=self.base,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def log(self, tail: int = 5000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except (OSError, TypeError):
            return ""

    def start(self, timeout: float = 120.0) -> PostgresServer:
        begun = time.monotonic()
        try:
            import psycopg  # noqa: F401  (fail before spending seconds on initdb)
        except ImportError:
            raise PostgresUnavailable("psycopg is not installed: pip install -e '.[test]'") from None

        self.base = Path(tempfile.mkdtemp(prefix="intygsgw-pg-"))
        atexit.register(self.stop)
        try:
            self._prepare_directory()
            self._initdb(timeout)
            self._start_server(timeout)
            self._wait_for_tcp(deadline=begun + timeout)
            self._create_session_database()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - begun
        return self

    def _prepare_directory(self) -> None:
        self.socket_dir.mkdir()
        if self.account is None:
            return
        for path in (self.base, self.socket_dir):
            os.chown(path, self.account.pw_uid, self.account.pw_gid)
        # mkdtemp's parent may be private to root (say TMPDIR=/root/tmp); say so
        # plainly instead of letting initdb fail with a bare "permission denied".
        probe = self._run(["test", "-w", str(self.base)], timeout=30)
        if probe.returncode != 0:
            raise PostgresUnavailable(
                f"User {self.account.pw_name} cannot write {self.base}; point TMPDIR at a directory "
                "every user can traverse (e.g. /tmp)."
            )

    def _initdb(self, timeout: float) -> None:
        done = self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
            ],
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        # Our settings live in their own file so a retry on another port can
        # rewrite them without editing the generated postgresql.conf twice.
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude 'intygsgw_test.conf'\n")

    def _write_settings(self) -> None:
        socket_path = self.socket_dir / f".s.PGSQL.{self.port}"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            raise PostgresUnavailable(f"Socket path {socket_path} is too long for the OS; use a shorter TMPDIR.")
        settings = self.datadir / "intygsgw_test.conf"
        settings.write_text(
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            # Stated, not assumed: durability tests are meaningless without it.
            "fsync = on\n"
        )
        if self.account is not None:
            os.chown(settings, self.account.pw_uid, self.account.pw_gid)

    def _start_server(self, timeout: float, attempts: int = 5) -> None:
        # The free port can be taken between probing and binding; only that
        # race earns a retry, every other failure is reported at once.
        for _ in range(attempts):
            self.port = free_port()
            self._write_settings()
            done = self._pg_ctl_start(timeout)
            if done.returncode == 0:
                self._running = True
                return
            log = self.log()
            if "could not bind" not in log and "Address already in use" not in log:
                raise RuntimeError(f"pg_ctl start failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log}")
        raise RuntimeError(f"PostgreSQL could not bind a free port in {attempts} attempts:\n{self.log()}")

    def _connect(self, dbname: str, connect_timeout: int = 5):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            dbname=dbname,
            connect_timeout=connect_timeout,
            autocommit=True,
        )

    def _wait_for_tcp(self, deadline: float) -> None:
        # pg_ctl -w watches the pid file; the tests connect over TCP, so that is what must answer.
        import psycopg

        while True:
            try:
                with self._connect("postgres") as conn:
                    self.version = conn.execute("SHOW server_version").fetchone()[0]
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not accept TCP connections: {exc}\n{self.log()}") from exc
                time.sleep(0.05)

    def _create_session_database(self) -> None:
        with self._connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        self.url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{self.dbname}"

    def stop(self) -> None:
        """Stop the server (fast: roll back open transactions) and remove the cluster. Idempotent."""
        if self.base is None:
            return
        if self._running:
            done = self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "-t", "60", "stop"],
                timeout=90,
            )
            if done.returncode != 0:
                self._kill_postmaster()
            self._running = False
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None
        atexit.unregister(self.stop)

    def pause(self) -> None:
        """Stop the server (fast) but keep its cluster, to be started again on the same port by ``resume``."""
        done = self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "-t", "60", "stop"], timeout=90
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        self._running = False

    def resume(self, timeout: float = 120.0) -> None:
        """Start a paused server again, with its data and on its port."""
        done = self._pg_ctl_start(timeout)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{self.log()}")
        self._running = True

    def _pg_ctl_start(self, timeout: float) -> subprocess.CompletedProcess:
        return self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            timeout=timeout + 30,
        )

    def _kill_postmaster(self) -> None:
        # Last resort after a failed fast stop; the directory is deleted next,
        # so a live postmaster would be writing into nothing.
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _check_dbname(name: str) -> None:
    # PostgreSQL silently truncates names past 63 bytes, which would make the
    # returned URL name a database that does not exist; refuse such names.
    if not _DBNAME_RE.fullmatch(name):
        raise ValueError(f"database name {name!r} must match {_DBNAME_RE.pattern}")


def database_name_for(label: str) -> str:
    """A valid, stable database name for a test module such as ``tests.integration.test_outbox``."""
    name = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_") or "db"
    if not re.match(r"[a-z_]", name):
        name = "_" + name
    if len(name) > 63:
        # Keep distinct long labels distinct after shortening.
        digest = hashlib.sha1(label.encode()).hexdigest()[:10]
        name = f"{name[:52]}_{digest}"
    return name


def create_database(url: str, name: str) -> str:
    """Create an empty database ``name`` on the server at ``url`` and return its URL.

    Meant for one database per test module so modules never see each other's
    rows. An existing database of that name is an error, not something to
    drop: on a per-session server it can only belong to another module.
    """
    from sqlalchemy import create_engine, make_url
    from sqlalchemy.pool import NullPool

    _check_dbname(name)
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).first()
            if exists:
                raise ValueError(f"database {name!r} already exists on this server")
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def running_postgres(**kwargs) -> PostgresServer:
    """``with running_postgres() as server: ... server.url``"""
    return PostgresServer(**kwargs)
