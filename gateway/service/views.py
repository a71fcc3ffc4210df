"""What the service layer hands back to the entry points: records with what the asker may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from intygsgw.domain.records import CertificateRecord, StoredDocument
from intygsgw.domain.results import Result
from intygsgw.domain.states import StateEntry


@dataclass(frozen=True)
class CertificateView:
    record: CertificateRecord
    document: StoredDocument
    statuses: list[StateEntry]  # already filtered for the asking part


@dataclass(frozen=True)
class CitizenList:
    certificates: list[CertificateView]
    result: Result


@dataclass(frozen=True)
class RelationView:
    code: str
    from_id: str
    to_id: str
    created_at: dt.datetime
    from_revoked: bool
