"""The patient-data access log: who read or changed which patient's certificates.

The dispatcher opens an :class:`Access` for each call of a patient-data
contract; the service layer, which is the one that knows which person and
which certificates a call touched, notes them with :func:`note`; the
dispatcher then writes the entry with the call's outcome, before the answer
leaves. Nothing below the service layer knows about it, and a service
function called outside a request (the CLI, tests) notes into nothing.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

_current: contextvars.ContextVar["Access | None"] = contextvars.ContextVar("intygsgw_access", default=None)

ORIGINAL_CONSUMER_HEADER = "x-rivta-original-serviceconsumer-hsaid"
ACTING_ON_BEHALF_HEADER = "x-rivta-acting-on-behalf-of-hsaid"


@dataclass
class Access:
    caller: str
    original_consumer: str
    acting_on_behalf: str
    contract: str
    logical_address: str
    person_ids: list[str] = field(default_factory=list)
    certificate_ids: list[str] = field(default_factory=list)

    def add(self, person_id: str | None, certificate_ids) -> None:
        if person_id and person_id not in self.person_ids:
            self.person_ids.append(person_id)
        for cid in certificate_ids:
            if cid and cid not in self.certificate_ids:
                self.certificate_ids.append(cid)


def note(person_id: str | None = None, certificate_ids=()) -> None:
    """Record that the current call touched this person and these certificates."""
    access = _current.get()
    if access is not None:
        access.add(person_id, certificate_ids)


def begin(access: Access):
    return _current.set(access)


def end(token) -> None:
    _current.reset(token)
