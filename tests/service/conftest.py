"""The service layer on the in-memory store (tests/support/fakes.py), with a clock that moves a second a reading."""

from __future__ import annotations

import datetime as dt

import pytest

from intygsgw.clock import Clock
from intygsgw.domain.recipients import Recipient, RecipientRegistry
from intygsgw.rules.catalog import load_catalog
from intygsgw.rules.definitions import TypeSet
from intygsgw.service.services import Services
from tests.support.fakes import FakeOutbound, FakeStore, Fixed

CATALOG = load_catalog()


class FixedClock(Clock):
    """Each reading a second later, so every state has its own instant."""

    def __init__(self) -> None:
        super().__init__()
        self.now = dt.datetime(2026, 12, 1, 9, 0, 0)

    def local(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now

    __call__ = local

    def utc(self) -> dt.datetime:
        return self.local()


def recipient(rid: str, address: str, types: tuple[str, ...] = ("lisjp",), active: bool = True) -> Recipient:
    return Recipient(rid, rid.title(), "HUVUDMOTTAGARE", address, types, active, trusted=True)


RECIPIENTS = RecipientRegistry(
    [
        recipient("HSVARD", "HSVARD-ADDRESS"),
        recipient("INVANA", "INVANA-ADDRESS"),
        recipient("FKASSA", "FKORG"),
        recipient("TRANSP", "TSORG", types=("ts-bas",)),
        recipient("RETIRED", "OLDORG", active=False),
    ]
)


@pytest.fixture
def outbound():
    return FakeOutbound()


@pytest.fixture
def svc(outbound):
    return Services(
        store=FakeStore(),
        types=Fixed(TypeSet(CATALOG, {})),
        recipients_source=Fixed(RECIPIENTS),
        outbound=outbound,
        clock=FixedClock(),
        validation_persons=frozenset({"194011306125"}),
    )
