"""Running the WSGI application under granian.

granian was chosen by measurement (see benchmarks/): on the 2-core machine its
WSGI mode serves parse-and-validate requests faster than gunicorn's sync
workers and uvicorn. Migration runs once here, in the parent, before any
worker starts, so workers never race on the schema. On SIGTERM granian stops
accepting, lets in-flight requests finish and then exits.
"""
from __future__ import annotations

import logging
import os

from .config import SETTINGS_ENV, Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    from .app import build_services, database_url

    # Fail fast in the parent: a bad database URL, recipient file or type
    # definition stops the start instead of crash-looping workers.
    build_services(settings, migrate=True)
    os.environ[SETTINGS_ENV] = settings.to_env()
    log.info("serving on http://%s:%d with %d worker(s), database %s", settings.host, settings.port,
             settings.workers, _redacted(database_url(settings)))
    Granian(
        "gateway.app:wsgi_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=settings.workers,
        blocking_threads=settings.threads,
        factory=True,
        log_access=False,
        workers_kill_timeout=30,
    ).serve()
    return 0


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
