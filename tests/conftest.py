# --- PostgreSQL server for database tests (see tests/support/postgres.py) ---
import os

import pytest

from tests.support import postgres as _pg
from tests.support.databases import BOTH, POSTGRESQL, database_url


@pytest.fixture(scope="session")
def postgres_server():
    """URL of a real PostgreSQL server private to this test session.

    Session-scoped and only started when a test asks for it, so a run that
    selects no database test pays nothing for it.
    """
    try:
        server = _pg.PostgresServer().start()
    except _pg.PostgresUnavailable as exc:
        # Never skip: a skipped database test reads as a pass in a summary
        # nobody inspects, and proves nothing about PostgreSQL support.
        where = "CI is set, so database tests must run here. " if os.environ.get("CI") else ""
        hint = (
            "" if "apt-get install postgresql" in str(exc) else "\nInstall the server with: apt-get install postgresql"
        )
        pytest.fail(f"{where}{exc}{hint}", pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def postgres_database(postgres_server, request):
    """URL of an empty database of the session server that only this module uses."""
    return _pg.create_database(postgres_server, _pg.database_name_for(request.module.__name__))


@pytest.fixture(params=BOTH)
def outbox_database(request, tmp_path):
    """(URL, services) of a migrated database with an empty outbox, once on SQLite and once on PostgreSQL."""
    from intygsgw.app import build_services
    from intygsgw.config.settings import Settings

    url = database_url(request, tmp_path, "outbox.db")
    services = build_services(Settings(db=url), migrate=True)
    with services.store.writing() as uow:
        uow.connection.exec_driver_sql("DELETE FROM outbox")
        uow.commit()
    yield url, services
    services.store.engine.dispose()


# --- end PostgreSQL ---


# --- ActiveMQ broker for the event-feed tests (see tests/support/activemq.py) ---


@pytest.fixture(scope="session")
def activemq():
    """A real ActiveMQ broker private to this test session, with a STOMP connector."""
    from tests.support import activemq as _amq

    try:
        broker = _amq.Broker().start()
    except _amq.ActiveMQUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)  # never skip: a skipped feed test proves nothing
    try:
        yield broker
    finally:
        broker.remove()


# --- Published RIV-TA contracts for conformance tests (see tests/support/paths.py) ---


@pytest.fixture(scope="session")
def published_contracts():
    """The folder of the published RIV-TA contracts, the oracle of conformance tests.

    A test that reads any published file asks for this fixture (usually with
    ``pytest.mark.usefixtures``), and that is what marks it ``conformance``.
    Without the contracts each such test fails here with one message saying
    where they come from, before it can trip over a missing file.
    """
    from tests.support.paths import require_published

    # Never skip, as for PostgreSQL: the published files are the oracle.
    return require_published()


# --- end published contracts ---


def pytest_collection_modifyitems(config, items):
    # Marking by fixture use means `-m postgres` / `-m "not conformance"`
    # cannot drift from what a test really needs.
    written = []
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        # A test parametrized onto PostgreSQL asks for the server by name, which collection cannot see.
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "postgres_server" in fixtures or POSTGRESQL in params.values():
            item.add_marker(pytest.mark.postgres)
        if "activemq" in fixtures:
            item.add_marker(pytest.mark.activemq)
        if "published_contracts" in fixtures:
            item.add_marker(pytest.mark.conformance)
        elif item.get_closest_marker("conformance") is not None:
            written.append(item.nodeid)
    if written:
        # A hand-written mark would leave unit tests out of -m "not conformance"
        # or a test that reads published files without failing clearly.
        raise pytest.UsageError(
            "mark `conformance` comes from the published_contracts fixture; ask for the fixture "
            "(pytest.mark.usefixtures) instead of writing the mark: " + ", ".join(written[:5])
        )
