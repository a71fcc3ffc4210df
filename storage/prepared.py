"""Hot statements run straight on the driver's cursor.

SQLAlchemy Core spends some 25–40 µs of Python on every execute (execution
context, events, result set-up). The register path runs six small statements
while it holds the only write lock, so that bookkeeping was most of the time
the lock was held, and other requests waited behind it.

A PreparedStatement is still compiled by SQLAlchemy, once per dialect: the
same SQL text and the same bind processors (dates, booleans) as
``connection.execute`` would use. It then runs on the DBAPI cursor of the
unit of work's connection, inside that connection's transaction. Driver
errors come out as SQLAlchemy's exceptions (``IntegrityError`` on a duplicate
key), so callers catch one kind whichever path ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, exc
from sqlalchemy.engine import Connection


class _Compiled:
    __slots__ = ("binds", "positional", "sql")

    def __init__(self, statement, dialect, keys: tuple[str, ...] | None):
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        # What SQLAlchemy's execution context applies, per bind name. It is an
        # internal attribute (stable through 2.0 and 2.1); tests/storage/
        # test_prepared_statements.py compares the stored text with Core's, so
        # a change there fails a test instead of storing different dates.
        processors = compiled._bind_processors
        names = {name: bind.key for bind, name in compiled.bind_names.items()}
        order = compiled.positiontup if compiled.positional else list(names)
        self.sql = compiled.string
        self.positional = compiled.positional
        # (bind name, caller's key, processor or None), in the driver's order
        self.binds = [(name, names[name], processors.get(name)) for name in order]
        missing = sorted({key for _, key, _ in self.binds} - set(keys or names.values()))
        if missing:
            # A column with a Python-side default would get its bind but no value here.
            raise ValueError(f"prepared statement needs values for {missing}: {self.sql}")

    def arguments(self, params: Mapping[str, Any]) -> Any:
        """``params`` as the driver takes them: a tuple in bind order, or a dict by bind name."""
        if self.positional:
            return tuple(params[key] if proc is None else proc(params[key]) for _, key, proc in self.binds)
        return {name: params[key] if proc is None else proc(params[key]) for name, key, proc in self.binds}

    def arguments_many(self, rows: list[Mapping[str, Any]], shared: Mapping[str, Any]) -> list[Any]:
        """:meth:`arguments` of each of ``rows`` with ``shared`` added, the shared values processed once."""
        fixed = {
            name: shared[key] if proc is None else proc(shared[key]) for name, key, proc in self.binds if key in shared
        }
        own = [(at, name, key, proc) for at, (name, key, proc) in enumerate(self.binds) if key not in shared]
        if self.positional:
            template = [fixed.get(name) for name, _, _ in self.binds]
            out: list[Any] = []
            for row in rows:
                values = template.copy()
                for at, _, key, proc in own:
                    values[at] = row[key] if proc is None else proc(row[key])
                out.append(tuple(values))
            return out
        return [
            {**fixed, **{name: row[key] if proc is None else proc(row[key]) for _, name, key, proc in own}}
            for row in rows
        ]


class PreparedStatement:
    """A Core statement (insert, update or select with ``bindparam``) compiled once per dialect.

    ``keys``: the parameter names every execution passes; for an ``insert``
    they choose the columns, as the keys of ``connection.execute``'s dict do.
    """

    def __init__(self, statement, keys: Iterable[str] | None = None):
        self._statement = statement
        self._keys = tuple(keys) if keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self._statement, dialect, self._keys)
        return compiled

    def execute_many(
        self, connection: Connection, rows: list[Mapping[str, Any]], shared: Mapping[str, Any] | None = None
    ) -> None:
        """Run once per row in one DBAPI call: a listing that touched thousands of patients logs them in one go.

        ``shared``: values every row has, bound once (a listing's entries differ only in patient and certificates).
        """
        compiled = self._for(connection.dialect)
        args = compiled.arguments_many(rows, shared) if shared else [compiled.arguments(p) for p in rows]
        self._run(connection, compiled, args, many=True).close()

    def execute(
        self, connection: Connection, params: Mapping[str, Any], on_cursor: Callable[[Any], None] | None = None
    ):
        """Run once with ``params``; returns the DBAPI cursor (``fetchone``/``fetchall``).

        ``on_cursor``: called with the driver's cursor before it runs (to set how it loads a type).
        """
        compiled = self._for(connection.dialect)
        return self._run(connection, compiled, compiled.arguments(params), many=False, on_cursor=on_cursor)

    @staticmethod
    def _run(
        connection: Connection,
        compiled: _Compiled,
        args: Any,
        many: bool,
        on_cursor: Callable[[Any], None] | None = None,
    ):
        dialect = connection.dialect
        if not connection.in_transaction():
            # Starts the transaction the way connection.execute would (BEGIN
            # IMMEDIATE for a writing unit of work on SQLite, see intygsgw.storage.db).
            connection.begin()
        cursor = connection.connection.cursor()
        if on_cursor is not None:
            on_cursor(cursor)
        try:
            if many:
                cursor.executemany(compiled.sql, args)
            else:
                cursor.execute(compiled.sql, args)
        except dialect.loaded_dbapi.Error as error:
            cursor.close()
            raise exc.DBAPIError.instance(
                compiled.sql, args, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        return cursor


class PreparedSelectByKeys:
    """A select of the rows whose key is one of a list, on the driver's cursor like PreparedStatement.

    ``build`` makes the statement from the list's bind parameters (``column.in_(keys)``). Core's
    expanding IN renders the list into the statement and processes the rows again on every call,
    which cost the publisher of broker events half of reading a batch's 10 KB documents. Here a
    statement is compiled once per dialect and power of two, and a list is padded up to one with
    its last key (IN matches a row once however often its key is listed): a batch's length varies
    with the load, and a statement for every length up to 500 would keep megabytes of them.
    """

    def __init__(self, build: Callable[[list[BindParameter]], Select]):
        self._build = build
        self._by_size: dict[int, tuple[PreparedStatement, tuple[str, ...]]] = {}

    def rows(self, connection: Connection, keys: Sequence[Any]) -> list[Any]:
        """The rows, as the driver gives them (bytes columns in PostgreSQL's binary format: not as hex)."""
        if not keys:
            return []
        size = 1 << (len(keys) - 1).bit_length()
        prepared = self._by_size.get(size)
        if prepared is None:
            names = tuple(f"key_{at}" for at in range(size))
            statement = PreparedStatement(self._build([bindparam(name) for name in names]))
            prepared = self._by_size[size] = (statement, names)
        statement, names = prepared
        padded = [*keys, *[keys[-1]] * (size - len(keys))]
        postgresql = connection.dialect.name == "postgresql"
        cursor = statement.execute(
            connection, dict(zip(names, padded, strict=True)), on_cursor=binary_results if postgresql else None
        )
        try:
            return cursor.fetchall()
        finally:
            cursor.close()


def binary_results(cursor) -> None:
    """Have a psycopg cursor take its results in binary format.

    In text format a bytea value comes as hex, twice its size, and is decoded
    from it: 2,000 listing rows of 7.9 MB of items took ~50 ms to fetch that
    way and 22 ms in binary (text columns load as str either way).
    """
    from psycopg import pq

    cursor.format = pq.Format.BINARY
