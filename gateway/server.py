"""Running the WSGI application under granian.

granian was chosen by measurement (benchmarks/wsgi_servers.py runs this app
under granian and gunicorn's gthread workers with the same load): on the
2-core machine granian served ~1.17x the RegisterCertificate rate with a
third of gunicorn's p99. Migration runs once here, in the parent, before any
worker starts, so workers never race on the schema. The outbox delivery loop
runs in this parent process too, so on SQLite exactly one process claims; the
workers are spawned, not forked, because a fork would copy the loop's threads
and locks mid-flight. On SIGTERM granian stops accepting, lets in-flight
requests finish, and then the delivery loop finishes its current calls.
"""
from __future__ import annotations

import logging
import multiprocessing
import os

from .config import SETTINGS_ENV, Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    from .app import build_deliverer, build_services, database_url

    # Fail fast in the parent: a bad database URL, recipient file, route file
    # or type definition stops the start instead of crash-looping workers.
    services = build_services(settings, migrate=True)
    deliverer = build_deliverer(settings, services) if settings.delivery else None
    os.environ[SETTINGS_ENV] = settings.to_env()
    multiprocessing.set_start_method("spawn", force=True)
    log.info("serving on http://%s:%d with %d worker(s), database %s", settings.host, settings.port,
             settings.workers, _redacted(database_url(settings)))
    server = Granian(
        "gateway.app:wsgi_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=settings.workers,
        blocking_threads=settings.threads,
        factory=True,
        log_access=False,
        workers_kill_timeout=30,
    )
    if deliverer:
        deliverer.start()
    try:
        server.serve()
    finally:
        if deliverer:
            deliverer.stop()
    return 0


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
