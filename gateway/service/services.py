"""What the service layer needs from the outside world, in one object."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Protocol
from zoneinfo import ZoneInfo

from storage.uow import Store

from ..certificate_types import TypeCatalog
from ..recipients import RecipientRegistry

SWEDISH_TIME = ZoneInfo("Europe/Stockholm")


def swedish_now() -> dt.datetime:
    """Wall-clock time in Sweden without zone, as RIV-TA timestamps are written."""
    return dt.datetime.now(SWEDISH_TIME).replace(tzinfo=None, microsecond=0)


class TypeRules(Protocol):
    """Business rules of a certificate type, run on the parsed ``intyg``.

    Returns the failures as human-readable strings; an empty list passes.
    """

    def __call__(self, type_id: str, version: str, document) -> list[str]: ...


def no_type_rules(type_id: str, version: str, document) -> list[str]:
    return []


@dataclass
class Services:
    store: Store
    catalog: TypeCatalog
    recipients: RecipientRegistry
    clock: Callable[[], dt.datetime] = swedish_now
    type_rules: TypeRules = field(default=no_type_rules)
