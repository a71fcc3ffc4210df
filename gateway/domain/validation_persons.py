"""Validation persons: ids used to check an integration end to end in production.

Their certificates are registered, stored and read like anyone's, so a
journal system can test its whole flow, but they never reach a recipient
(SendCertificateToRecipient answers ERROR, revocations are not forwarded),
never count in statistics or sick-leave lists, and are purged after a
retention period (``intygsgw purge-validation-persons`` or the serving
parent's periodic purge).
"""

from __future__ import annotations

import datetime as dt

from intygsgw.domain.personnummer import InvalidPersonId, parse_person_id


def parse_validation_persons(value: str) -> frozenset[str]:
    ids = set()
    for raw in value.replace("\n", ",").split(","):
        if not raw.strip():
            continue
        try:
            ids.add(parse_person_id(raw.strip()).digits)
        except InvalidPersonId:
            raise ValueError(f"validation_persons: not a person id: {raw.strip()!r}") from None
    return frozenset(ids)


def purge_cutoff(now_local: dt.datetime, retention_days: int) -> dt.datetime:
    return now_local - dt.timedelta(days=retention_days)
