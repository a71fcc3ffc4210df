"""The correlation id of the call being served, carried into every call it causes.

The national platform gives each call an ``x-skltp-correlation-id`` and keeps
it along the chain, so one id finds a registration, the revocation it
triggered and that revocation's delivery in every system's logs. A call that
arrives without one gets a new id here, as the platform would give it.
"""

from __future__ import annotations

import contextvars
import re
import uuid

HEADER = "x-skltp-correlation-id"
# What is carried on: printable ASCII that fits the outbox's column.
_USABLE = re.compile(r"[\x21-\x7e]{1,64}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("intygsgw_correlation", default=None)


def begin(received: str | None) -> tuple[str, contextvars.Token]:
    """Make ``received`` (or a new id, when it is absent or unusable) the current call's id."""
    value = received.strip() if received else ""
    cid = value if _USABLE.fullmatch(value) else str(uuid.uuid4())
    return cid, _current.set(cid)


def end(token: contextvars.Token) -> None:
    _current.reset(token)


def current() -> str:
    """The id of the call being served; outside a call (CLI, background jobs) a new one."""
    return _current.get() or str(uuid.uuid4())
