"""The certificate lifecycle: states, their RIV status codes, who sees what."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from enum import Enum

PART_CODE_SYSTEM = "769bb12b-bd9f-4203-a5cd-fd14f2eb3b80"
STATUS_CODE_SYSTEM = "9871cd17-8755-4ed9-b894-ff3729e775a4"
HSVARD = "HSVARD"
INVANA = "INVANA"


class State(str, Enum):
    RECEIVED = "RECEIVED"
    SENT = "SENT"
    CANCELLED = "CANCELLED"
    DELETED = "DELETED"  # archived by the citizen
    RESTORED = "RESTORED"
    # Försäkringskassan's handling states, set only through SetCertificateStatus 1.
    UNHANDLED = "UNHANDLED"
    IN_PROGRESS = "IN_PROGRESS"
    PROCESSED = "PROCESSED"

    @property
    def status_code(self) -> str | None:
        """The RIV status code (KV_STATUS), None for the states that have none."""
        return _STATUS_CODES.get(self)

    @classmethod
    def from_status_code(cls, code: str) -> State:
        try:
            return _BY_STATUS_CODE[code]
        except KeyError:
            # The reference answers with the Java enum's message; callers log it.
            raise ValueError(f"No enum constant se.inera.intyg.common.support.model.StatusKod.{code}") from None


_STATUS_CODES = {
    State.RECEIVED: "RECEIV",
    State.SENT: "SENTTO",
    State.CANCELLED: "CANCEL",
    State.DELETED: "DELETE",
    State.RESTORED: "RESTOR",
}
_BY_STATUS_CODE = {v: k for k, v in _STATUS_CODES.items()}


@dataclass(frozen=True)
class StateEntry:
    state: State
    target: str
    timestamp: _dt.datetime


def newest_first(entries: list[StateEntry]) -> list[StateEntry]:
    # Stable on ties so entries written in one instant keep insertion order
    # reversed, which is what "newest first" means for them too.
    return sorted(entries, key=lambda e: e.timestamp, reverse=True)


def is_revoked(entries: list[StateEntry]) -> bool:
    return any(e.state is State.CANCELLED for e in entries)


def is_archived(entries: list[StateEntry]) -> bool:
    """The newest of DELETED/RESTORED wins; never archived by default."""
    for e in newest_first(entries):
        if e.state is State.DELETED:
            return True
        if e.state is State.RESTORED:
            return False
    return False


def sent_to(entries: list[StateEntry], recipient: str) -> bool:
    return any(e.state is State.SENT and e.target == recipient for e in entries)


def visible_to(entries: list[StateEntry], part: str) -> list[StateEntry]:
    """The status list a part may see, newest first.

    The citizen sees everything; care sees all but the citizen's archiving;
    any other recipient sees no archiving and only its own SENT entries.
    """
    part = part.upper()
    ordered = newest_first(entries)
    if part == INVANA:
        return ordered
    archive = (State.DELETED, State.RESTORED)
    if part == HSVARD:
        return [e for e in ordered if e.state not in archive]
    return [e for e in ordered if e.state not in archive and (e.state is not State.SENT or e.target == part)]
