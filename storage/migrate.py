"""Bring a database to the current schema (Alembic), from code or the CLI."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from intygsgw.storage.db import WRITE_OPTION, wal_flush_for
from intygsgw.storage.writegate import gate_for

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


log = logging.getLogger(__name__)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    # Alembic announces its plugins, its dialect and every step at INFO on each
    # start; one line of ours says what changed, and only when something did.
    for name in ("alembic.runtime.plugins", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    before = current_revision(engine)
    # Under the write gate, as every commit of the gateway's own (see intygsgw.storage.db.checkpoint_sqlite):
    # `intygsgw migrate` may run beside a serving gateway.
    gate = gate_for(engine)
    try:
        with (
            gate if gate is not None else nullcontext(),
            engine.connect().execution_options(**{WRITE_OPTION: True}) as conn,
        ):
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
            flush = wal_flush_for(engine)
            if flush is not None:
                flush.flush()  # as every commit of the gateway's (see WalFlush)
    finally:
        if gate is not None:
            gate.close()
    after = current_revision(engine)
    if after != before:
        log.info("database schema migrated from %s to %s", before or "empty", after)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
