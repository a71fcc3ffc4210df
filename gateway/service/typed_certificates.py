"""Certificates of given types for units or a person, as Rehabstöd reads them (internal REST
``/typedcertificate``): its lists of läkarutlåtanden and the doctors who signed them.

A window is whole days: from the start of ``signed_from`` up to the end of ``signed_to``; either may be
left open. Revoked certificates are left out; test certificates are not (they are flagged).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from intygsgw.domain import states as st
from intygsgw.service.services import Services


def _window(signed_from: dt.date | None, signed_to: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    start = dt.datetime.combine(signed_from, dt.time()) if signed_from is not None else None
    before = dt.datetime.combine(signed_to + dt.timedelta(days=1), dt.time()) if signed_to is not None else None
    return start, before


def signing_doctors(
    svc: Services,
    unit_ids: Sequence[str],
    type_ids: Sequence[str],
    signed_from: dt.date | None = None,
    signed_to: dt.date | None = None,
) -> list[str]:
    """The HSA ids of the doctors who signed unrevoked certificates of these types on these units
    in the window, each once, in the order of their first such certificate; none without units.

    Types are matched as given (the stored ids are lower case), as the reference's query does.
    """
    if not unit_ids:
        return []
    start, before = _window(signed_from, signed_to)
    with svc.store.reading() as uow:
        records = uow.certificates.find_typed(unit_ids, None, type_ids, start, before)
        histories = uow.certificates.states_for([r.id for r in records])
    doctors: dict[str, None] = {}
    for r in records:
        if not st.is_revoked(histories[r.id]):
            doctors.setdefault(r.doctor_id, None)
    return list(doctors)
