"""Running a test once on SQLite and once on PostgreSQL.

A fixture parametrized with ``BOTH`` gets its database URL from
``database_url``. The PostgreSQL run is marked ``postgres`` by its parameter
(tests/conftest.py), so ``-m "not postgres"`` leaves it out on a machine
without the server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

POSTGRESQL = "postgres"
BOTH = ["sqlite", POSTGRESQL]


def database_url(request: pytest.FixtureRequest, folder: Path, filename: str) -> str:
    """A new SQLite file in ``folder``, or the test module's own PostgreSQL database."""
    if request.param == POSTGRESQL:
        return request.getfixturevalue("postgres_database")
    return f"sqlite:///{folder / filename}"


def sqlite_statements(engine) -> list[str]:
    """Every statement the SQLite engine's connections run from now on, as SQLite's own trace gives it.

    Statements on the driver's cursor (intygsgw.storage.prepared) pass no SQLAlchemy event; the
    trace sees them. Connections opened before are closed first, so that every one reports.
    """
    from sqlalchemy import event

    executed: list[str] = []
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _report(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(executed.append)

    return executed


def waiting_for_locks(store) -> int:
    """How many PostgreSQL sessions wait for a lock now (a second writer seen blocked by a first)."""
    with store.reading() as uow:
        return uow.connection.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar_one()
