"""Running the WSGI application: granian for plain HTTP, gunicorn for mutual TLS.

granian was chosen by measurement (benchmarks/wsgi_servers.py runs this app
under granian and gunicorn's gthread workers with the same load): on the
2-core machine granian served 1.2-2.3x the RegisterCertificate rate with
a p99 a third to two thirds of gunicorn's, run to run. It cannot tell the
application which client certificate a TLS peer presented, though, so with
TLS on the gateway runs under gunicorn's gthread workers instead
(intygsgw.serving.tls_server says why). Migration runs once here, in the parent, before any worker starts, so
workers never race on the schema.

The outbox delivery loop and the validation-person purge run outside the
request workers: in the parent under granian, whose workers are spawned, not
forked (a fork would copy the loop's threads and locks mid-flight); in a
spawned helper process under gunicorn, which forks its workers. On SIGTERM
the server stops accepting, lets in-flight requests finish, and then the
background work finishes its current calls.
"""

from __future__ import annotations

import atexit
import errno
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from intygsgw.config.settings import SETTINGS_ENV, Settings
from intygsgw.logsafety import configure as configure_logging

log = logging.getLogger(__name__)


# granian's own lines go through the gateway's handlers and formatter (time
# with zone, JSON when asked) instead of its separate stdout format.
GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {},
    "handlers": {},
    "loggers": {
        "_granian": {"level": "INFO", "propagate": True},
        "granian.access": {"level": "WARNING", "propagate": True},
    },
}


class _Background:
    """The delivery loop, the certificate-service events and the housekeeping (purges)."""

    def __init__(self, settings: Settings, services):
        from intygsgw.app import build_deliverer
        from intygsgw.domain.validation_persons import purge_cutoff
        from intygsgw.service.outbox_retention import purge_settled_outbox, retention_cutoff
        from intygsgw.service.periodic import PeriodicJob
        from intygsgw.service.validation_persons import purge_validation_persons

        self.deliverer = build_deliverer(settings, services) if settings.delivery else None
        self.events = None
        if settings.certificate_service_url:
            from intygsgw.delivery.certificate_events import CertificateEventConsumer
            from intygsgw.outbound.certificate_service import HttpCertificateService
            from intygsgw.service.certificate_events import handle_event

            cs = HttpCertificateService(settings.certificate_service_url)
            self.events = CertificateEventConsumer(
                settings.broker_url,
                settings.certificate_event_queue,
                lambda kind, cid, mid: handle_event(services, cs, kind, cid, mid),
                settings.broker_user,
                settings.broker_password,
            )
        self.housekeeping: list[PeriodicJob] = []
        if _checkpoints_wanted(settings):
            self.housekeeping.append(
                PeriodicJob("sqlite-checkpoint", services.store.checkpoint, settings.sqlite_checkpoint_every)
            )
        if _validation_purge_wanted(settings):
            days = settings.validation_retention_days
            self.housekeeping.append(
                PeriodicJob(
                    "validation-purge",
                    lambda: purge_validation_persons(services, purge_cutoff(services.clock(), days)),
                    settings.validation_purge_every,
                )
            )
        if settings.delivery and settings.outbox_retention_days > 0:
            kept = settings.outbox_retention_days
            self.housekeeping.append(
                PeriodicJob(
                    "outbox-purge",
                    lambda: purge_settled_outbox(services, retention_cutoff(services.clock.utc(), kept)),
                    3600,
                )
            )

    def start(self) -> None:
        if self.deliverer:
            self.deliverer.start()
        if self.events:
            self.events.start()
        for job in self.housekeeping:
            job.start()

    def stop(self) -> None:
        if self.events:
            self.events.stop()
        for job in self.housekeeping:
            job.stop()
        if self.deliverer:
            self.deliverer.stop()


def background_process(settings_json: str) -> None:
    """The housekeeping of a gateway as a process of its own (``settings_json``: Settings.to_env()).

    The TLS server spawns it; the sick-leave benchmark runs it beside its measurements.
    """
    import json
    import threading

    from intygsgw.app import build_services

    settings = Settings(**json.loads(settings_json))
    configure_logging(settings.log_level, settings.log_format)
    background = _Background(settings, build_services(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    background.start()
    stop.wait()
    background.stop()


def share_metrics_between_processes() -> None:
    """Every process of this gateway counts into one fresh folder (prometheus-client's
    multiprocess mode); it must be named before any of them imports the client."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return  # an operator's own folder: theirs to manage
    remove_stale_metrics_folders(Path(tempfile.gettempdir()))
    folder = tempfile.mkdtemp(prefix=f"{_METRICS_PREFIX}{os.getpid()}-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


_METRICS_PREFIX = "intygsgw-metrics-"


def remove_stale_metrics_folders(parent: Path) -> list[Path]:
    """Remove the metrics folders of gateways that are gone; the removed ones.

    A gateway removes its own at exit, but one killed (SIGKILL, a power cut)
    cannot, and they pile up. A folder is named after the process that made
    it; only one whose process no longer exists is removed, so a running
    gateway's is never touched (a reused pid keeps a stale one a while longer).
    """
    removed = []
    for folder in parent.glob(f"{_METRICS_PREFIX}*-*"):
        pid = folder.name[len(_METRICS_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except (PermissionError, OverflowError):
            continue  # alive under another user, or not a pid at all
    return removed


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on now, or None when it can.

    granian listens with SO_REUSEPORT, so a second gateway started on a busy
    port would share it silently and the kernel would split callers between
    two gateways and their two databases. A plain bind (SO_REUSEADDR only,
    which on Linux still refuses a port somebody listens on, but not one with
    connections left in TIME_WAIT by a restart) finds that first.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (is another gateway running?)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def serve(settings: Settings) -> int:
    share_metrics_between_processes()
    from intygsgw.app import build_services, database_url

    busy = port_in_use(settings.host, settings.port)
    if busy is not None:
        print(f"serve: {busy}; stop it or choose another --port", file=sys.stderr)
        return 2
    if settings.internal_port:
        busy = port_in_use(settings.internal_host, settings.internal_port)
        if busy is not None:
            print(f"serve: {busy}; stop it or choose another --internal-port", file=sys.stderr)
            return 2

    # Fail fast in the parent: a bad database URL, recipient file, route file,
    # authorization file or type definition stops the start instead of
    # crash-looping workers.
    services = build_services(settings, migrate=True)
    if settings.authorization_required:
        from intygsgw.app import build_gate

        build_gate(settings, services)
        if not settings.authorization_file:
            log.warning("authorization is on and no authorization file is set: every call will be refused")
    os.environ[SETTINGS_ENV] = settings.to_env()
    multiprocessing.set_start_method("spawn", force=True)
    scheme = "https (mutual TLS)" if settings.tls else "http"
    log.info(
        "serving on %s://%s:%d with %d worker(s), database %s, authorization %s, access log %s",
        scheme,
        settings.host,
        settings.port,
        settings.workers,
        _redacted(database_url(settings)),
        "on" if settings.authorization_required else "off",
        "on" if settings.access_log else "off",
    )
    internal = _start_internal(settings)
    try:
        if settings.tls:
            return _serve_tls(settings)
        return _serve_plain(settings, services)
    finally:
        _stop_internal(internal)


def _start_internal(settings: Settings):
    """The internal REST API's own granian, in a spawned process of its own.

    One granian serves one address, and the internal API must never share the
    SOAP listener (hub-behaviour §6): a second server on its own port, bound to
    loopback unless the operator says otherwise. Same front end, same
    workers-and-threads model, same shutdown on SIGTERM.
    """
    if not settings.internal_port:
        return None
    process = multiprocessing.get_context("spawn").Process(
        target=_internal_tls_process if settings.internal_tls else _internal_process,
        args=(settings.to_env(),),
        name="intygsgw-internal-api",
        daemon=False,
    )
    process.start()
    log.info(
        "internal REST API on %s://%s:%d with %d worker(s), caller list %s",
        "https (mutual TLS)" if settings.internal_tls else "http",
        settings.internal_host,
        settings.internal_port,
        settings.internal_workers,
        "on" if settings.internal_authorization_required else "off",
    )
    return process


def _stop_internal(process) -> None:
    if process is None:
        return
    if process.is_alive():
        process.terminate()
    process.join(40)


def _internal_tls_process(settings_json: str) -> None:
    import json

    from intygsgw.serving.tls_server import serve_internal_tls

    settings = Settings(**json.loads(settings_json))
    configure_logging(settings.log_level, settings.log_format)
    os.environ[SETTINGS_ENV] = settings_json
    serve_internal_tls(settings)  # gunicorn's arbiter ends the process itself


def _internal_process(settings_json: str) -> None:
    import json

    from granian.constants import Interfaces

    settings = Settings(**json.loads(settings_json))
    configure_logging(settings.log_level, settings.log_format)
    os.environ[SETTINGS_ENV] = settings_json
    _granian(
        "intygsgw.app:internal_wsgi_app",
        settings,
        address=settings.internal_host,
        port=settings.internal_port,
        workers=settings.internal_workers,
        interface=Interfaces.WSGI,
        blocking_threads=settings.threads,
    ).serve()


def _event_loop():
    """uvloop where it is installed (a dependency except on Windows), else asyncio's own loop.

    Named, not left to granian's ``auto``, which would take any other loop package found installed.
    RegisterCertificate at 8 connections, alternating runs on one machine: 710-714 req/s and
    1.99-2.04 ms of worker CPU per request with uvloop, 621-635 req/s and 2.23-2.26 ms with asyncio's.
    """
    from granian.constants import Loops

    try:
        import uvloop  # noqa: F401
    except ImportError:
        return Loops.asyncio
    return Loops.uvloop


def _granian(target: str, settings: Settings, **listener):
    """A granian server for one of the gateway's listeners, with what every listener shares."""
    from granian import Granian
    from granian.http import HTTP1Settings

    return Granian(
        target,
        loop=_event_loop(),
        http1_settings=HTTP1Settings(header_read_timeout=int(settings.header_timeout * 1000)),
        factory=True,
        websockets=False,
        log_access=False,
        log_dictconfig=GRANIAN_LOGGING,
        workers_kill_timeout=30,
        # A worker that dies (the OOM killer, a SIGBUS from the database's memory map, a crash in a C
        # library) is replaced rather than taking the other workers and the listener down with it.
        # One that dies again within 5.5 s of being started stops the gateway for its supervisor.
        respawn_failed_workers=True,
        **listener,
    )


def _serve_plain(settings: Settings, services) -> int:
    from granian.constants import Interfaces

    # rsgi reads bodies on the event loop under a deadline (http.rsgi); wsgi hands
    # the body stream to a request thread, which is ~25% faster on the register
    # path but lets a client that trickles its body hold that thread.
    rsgi = settings.front_end == "rsgi"
    interface = (
        {"interface": Interfaces.RSGI} if rsgi else {"interface": Interfaces.WSGI, "blocking_threads": settings.threads}
    )
    server = _granian(
        "intygsgw.app:rsgi_app" if rsgi else "intygsgw.app:wsgi_app",
        settings,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        **interface,
    )
    background = _Background(settings, services)
    background.start()
    try:
        server.serve()
    finally:
        background.stop()
    return 0


def _checkpoints_wanted(settings: Settings) -> bool:
    from intygsgw.app import database_url

    return settings.sqlite_checkpoint_every > 0 and database_url(settings).startswith("sqlite")


def _validation_purge_wanted(settings: Settings) -> bool:
    from intygsgw.domain.validation_persons import parse_validation_persons

    return bool(parse_validation_persons(settings.validation_persons)) and settings.validation_purge_every > 0


def background_needed(settings: Settings) -> bool:
    """Whether _Background has work (the outbox purge goes with delivery): the TLS server spawns a
    process for it only then."""
    return bool(
        settings.delivery
        or settings.certificate_service_url
        or _checkpoints_wanted(settings)
        or _validation_purge_wanted(settings)
    )


def _serve_tls(settings: Settings) -> int:
    from intygsgw.serving.tls_server import serve_tls

    helper = None
    if background_needed(settings):
        helper = multiprocessing.get_context("spawn").Process(
            target=background_process, args=(settings.to_env(),), name="intygsgw-background", daemon=False
        )
        helper.start()
    try:
        serve_tls(settings)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        if helper is not None:
            if helper.is_alive():
                helper.terminate()
            helper.join(40)
    return 0


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
