"""Rehabstöd's rehabilitation statuses, as set; the lists choose among them when they read."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from intygsgw.domain.records import RehabStatusRecord
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import RehabStatusRow

_COLUMNS = [
    RehabStatusRow.status,
    RehabStatusRow.patient_id,
    RehabStatusRow.care_provider_id,
    RehabStatusRow.care_unit_id,
    RehabStatusRow.unit_id,
    RehabStatusRow.staff_id,
    RehabStatusRow.staff_name,
    RehabStatusRow.sick_leave_timestamp,
    RehabStatusRow.registered_at,
]
_INSERT = insert(RehabStatusRow)
# Patients per query: a unit's list may name thousands, more than some drivers take as parameters at once.
_CHUNK = 500


class RehabStatusRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, record: RehabStatusRecord) -> None:
        values = {c.key: getattr(record, c.key) for c in _COLUMNS}
        check_lengths(RehabStatusRow.__table__, values)
        self.connection.execute(_INSERT, values)

    def for_patients(self, care_unit_id: str, patient_ids: Sequence[str]) -> list[RehabStatusRecord]:
        found: list[tuple[int, RehabStatusRecord]] = []
        wanted = sorted(set(patient_ids))
        for i in range(0, len(wanted), _CHUNK):
            rows = self.connection.execute(
                select(RehabStatusRow.id, *_COLUMNS).where(
                    RehabStatusRow.patient_id.in_(wanted[i : i + _CHUNK]), RehabStatusRow.care_unit_id == care_unit_id
                )
            )
            found += [(row[0], RehabStatusRecord(*row[1:])) for row in rows]
        # Stored order: of two set at the same moment, the later one is the case's.
        return [record for _, record in sorted(found, key=lambda f: f[0])]
