"""Unit of work: one database transaction around one service operation.

Leaving the block without ``commit()`` rolls back, so a handler that raises
half-way leaves nothing behind. A writing unit of work starts with ``BEGIN
IMMEDIATE`` on SQLite (see storage.db) so concurrent writers queue up instead
of failing on a lock upgrade.
"""
from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .db import WRITE_OPTION
from .repository import CertificateRepository


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker, write: bool):
        self._factory = session_factory
        self._write = write
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        if self._write:
            self.session.connection(execution_options={WRITE_OPTION: True})
        self.certificates = CertificateRepository(self.session)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class Store:
    """Hands out units of work on one engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)

    def writing(self) -> UnitOfWork:
        return UnitOfWork(self._factory, write=True)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self._factory, write=False)
