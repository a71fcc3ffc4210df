"""The patient-data access log: who read or changed which patient's certificates.

The dispatcher opens an :class:`Access` for each call of a patient-data
contract; the service layer, which is the one that knows which person and
which certificates a call touched, notes them with :func:`note`. A change
appends its entries in its own transaction (:func:`in_transaction`), so the
change and its log entry commit together; for reads and refusals of the
service the dispatcher writes the entries with the call's outcome, before the
answer leaves. Nothing below the service layer knows about it, and a service
function called outside a request (the CLI, tests) notes into nothing.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import dataclass, field

from intygsgw.domain.personnummer import try_parse_person_id
from intygsgw.domain.records import AccessEntry

_current: contextvars.ContextVar[Access | None] = contextvars.ContextVar("intygsgw_access", default=None)

ORIGINAL_CONSUMER_HEADER = "x-rivta-original-serviceconsumer-hsaid"
ACTING_ON_BEHALF_HEADER = "x-rivta-acting-on-behalf-of-hsaid"


@dataclass
class Access:
    caller: str
    original_consumer: str
    acting_on_behalf: str
    contract: str
    logical_address: str
    # person ("" when unknown) -> the certificates of that person the call touched
    touched: dict[str, list[str]] = field(default_factory=dict)
    # Set once the entries are committed together with the change they
    # describe (see in_transaction), so the dispatcher does not write them again.
    written: bool = False

    def add(self, person_id: str | None, certificate_ids) -> None:
        ids = self.touched.setdefault(_person(person_id) if person_id else "", [])
        for cid in certificate_ids:
            if cid and cid not in ids:
                ids.append(cid)

    def entries(self, outcome: str, at: dt.datetime | None = None) -> list[AccessEntry]:
        """The call's one entry: the person it touched with that person's certificates, or, when it
        touched several, all of them in ``persons`` (see AccessEntry).

        One entry per call, not per person: a unit's sick-leave list names 2,000 patients, and
        as 2,000 entries it wrote 2,000 rows and hashes and ~0.8 MB to the log at every listing
        (18 of a 52 ms answer on SQLite, benchmarks/sick_leave.py).
        """
        at = at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        caller, original, behalf = self.caller[:128], self.original_consumer[:128], self.acting_on_behalf[:128]
        address, outcome = self.logical_address[:128], outcome[:64]
        named = [(person, tuple(ids)) for person, ids in self.touched.items() if person]
        unknown = tuple(self.touched.get("", ()))
        if len(named) == 1 and not unknown:
            (person, ids), persons = named[0], ()
        else:
            person, ids, persons = "", unknown, tuple(named)
        return [AccessEntry(at, caller, original, behalf, self.contract, address, person, ids, outcome, persons)]


def _person(value: str) -> str:
    # Twelve digits is already the normal form (and what stored rows hold): a listing notes
    # thousands of them, so they skip the parser.
    if len(value) == 12 and value.isdigit():
        return value
    pid = try_parse_person_id(value)
    return pid.digits if pid else value.strip()[:64]


def current() -> Access | None:
    """The call being served, to capture before handing work to another thread."""
    return _current.get()


def in_transaction(access: Access | None, uow, outcome: str = "OK") -> None:
    """Append the call's entries inside the unit of work that makes its change.

    The change and its log entry then commit together, in one flush, and
    neither can exist without the other. The caller marks ``access.written``
    only after that commit has returned.
    """
    if access is not None:
        uow.access_log.append(access.entries(outcome))


def note(person_id: str | None = None, certificate_ids=()) -> None:
    """Record that the current call touched this person and these certificates."""
    access = _current.get()
    if access is not None:
        access.add(person_id, certificate_ids)


def begin(access: Access):
    return _current.set(access)


def end(token) -> None:
    _current.reset(token)
