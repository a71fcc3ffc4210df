"""A care provider's data when its contract ends: exported, erased, restored; test certificates erased.

Everything works in batches, so the size of a care provider never decides the
memory used: an export reads one page of certificates at a time, an erase
removes one batch per transaction. Each erased batch commits together with its
access-log entries (outcome ``ERASED:<n>``), so an erase that stops half-way
(a crash, a restart) has removed whole certificates only, has logged exactly
those, and continues where it stopped when run again. The care provider's
rehabilitation statuses are exported after its certificates and erased after
them, with the same access-log entries.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from intygsgw import audit
from intygsgw.domain.errors import AlreadyStored
from intygsgw.domain.records import CertificateExport, CertificateText, RehabStatusExport
from intygsgw.service.ports import UnitOfWork
from intygsgw.service.services import Services

log = logging.getLogger(__name__)

EXPORT_PAGE = 500
ERASE_BATCH = 500
IMPORT_BATCH = 200
MAX_PAGE = 1000
# An export's rows are keyed by table; the certificate's own row is under this name.
CERTIFICATE_TABLE = "certificate"

Progress = Callable[[int], None]  # told how many more certificates are done


@dataclass(frozen=True)
class ExportPage:
    care_giver_id: str
    total: int
    total_revoked: int
    certificates: list[CertificateExport]


def export_page(svc: Services, care_giver_id: str, collected: int, batch_size: int) -> ExportPage:
    """The reference's paged export: ``batch_size`` certificates after the first ``collected`` (in id order)."""
    with svc.store.reading() as uow:
        total, revoked = uow.care_provider.counts(care_giver_id)
        ids = uow.care_provider.ids(care_giver_id, None, batch_size, offset=collected)
        exports = uow.care_provider.export(ids)
    _note(exports)
    return ExportPage(care_giver_id, total, revoked, exports)


def export_counts(svc: Services, care_giver_id: str) -> tuple[int, int]:
    with svc.store.reading() as uow:
        return uow.care_provider.counts(care_giver_id)


def export_all(svc: Services, care_giver_id: str, page: int = EXPORT_PAGE) -> Iterator[CertificateExport]:
    """Every certificate of the care provider, read a page at a time (keyset on the id).

    Each page's reading is written to the access log, in a transaction of its
    own, before any of it is handed on: a streamed export outlives the call
    that started it, so it cannot wait for the call's entry. The call's
    identity is taken now, while the call is current.
    """
    template = audit.current()

    def pages() -> Iterator[CertificateExport]:
        after: str | None = None
        while True:
            with svc.store.reading() as uow:
                ids = uow.care_provider.ids(care_giver_id, after, page)
                exports = uow.care_provider.export(ids)
            if not ids:
                return
            _log_now(svc, template, exports, "EXPORTED")
            yield from exports
            after = ids[-1]

    return pages()


def export_rehab_statuses(svc: Services, care_giver_id: str, page: int = EXPORT_PAGE) -> Iterator[RehabStatusExport]:
    """The care provider's rehabilitation statuses, a page at a time in stored order, each page's
    reading logged before it is handed on (as :func:`export_all`'s)."""
    template = audit.current()

    def pages() -> Iterator[RehabStatusExport]:
        after: int | None = None
        while True:
            with svc.store.reading() as uow:
                rows, after = uow.care_provider.rehab_statuses(care_giver_id, after, page)
            if not rows:
                return
            _log_now(svc, template, [], "EXPORTED", _status_patients(rows))
            yield RehabStatusExport(care_giver_id, rows)

    return pages()


def erase_care_provider(
    svc: Services,
    care_giver_id: str,
    batch: int = ERASE_BATCH,
    progress: Progress | None = None,
    stop_after: int | None = None,
) -> int:
    """Erase every certificate of the care provider, one committed batch at a time; how many were erased.

    ``stop_after`` ends after that many batches (an operator erasing in steps,
    or a test standing in for a crash); running it again continues.
    """
    template = audit.current()
    erased = batches = 0
    while stop_after is None or batches < stop_after:
        with svc.store.writing() as uow:
            ids = uow.care_provider.ids(care_giver_id, None, batch)
            if not ids:
                # What is left are the sick-leave rows of certificate-service certificates, which the hub holds
                # without the certificate, and the rehabilitation statuses, which belong to no certificate.
                uow.care_provider.erase_sick_leave_rows(care_giver_id)
                patients = uow.care_provider.erase_rehab_statuses(care_giver_id)
                if patients:
                    _log_in(uow, template, {}, "ERASED_STATUSES", patients)
                uow.commit()
                break
            persons = _persons(uow, ids)
            n = uow.care_provider.erase(ids)
            _log_in(uow, template, persons, f"ERASED:{n}")
            uow.commit()
        erased += n
        batches += 1
        if progress:
            progress(n)
    return erased


@dataclass(frozen=True)
class ImportReport:
    restored: int
    skipped: int  # already stored: left as they were
    statuses: int = 0  # rehabilitation statuses written (those stored already are not)


def import_certificates(
    svc: Services,
    exports: Iterable[CertificateExport | RehabStatusExport],
    batch: int = IMPORT_BATCH,
    progress: Progress | None = None,
) -> ImportReport:
    """Store exported certificates and rehabilitation statuses back unchanged; certificate ids already
    stored are skipped, not overwritten, and so are statuses stored already."""
    template = audit.current()
    restored = skipped = statuses = 0
    pending: list[CertificateExport | RehabStatusExport] = []

    def flush() -> None:
        nonlocal restored, skipped, statuses
        if not pending:
            return
        certificates = 0
        with svc.store.writing() as uow:
            persons: dict[str, str] = {}
            patients: list[str] = []
            for export in pending:
                if isinstance(export, RehabStatusExport):
                    statuses += uow.care_provider.restore_rehab_statuses(export)
                    patients += _status_patients(export.rows)
                    continue
                certificates += 1
                try:
                    uow.care_provider.restore(export)
                except AlreadyStored as exc:
                    if exc.what != CERTIFICATE_TABLE:
                        raise  # another certificate's row holds a key of this one's: not a skip
                    skipped += 1
                    continue
                persons[export.certificate_id] = _person_of(export)
                restored += 1
            _log_in(uow, template, persons, "IMPORTED", patients)
            uow.commit()
        if progress and certificates:
            progress(certificates)
        pending.clear()

    for export in exports:
        pending.append(export)
        if len(pending) >= batch:
            flush()
    flush()
    return ImportReport(restored, skipped, statuses)


def certificate_texts(svc: Services) -> list[CertificateText]:
    """The text files in force (an operator's folder of the reference's text XML); none when not configured."""
    if svc.certificate_texts is None:
        return []
    today = svc.clock().date()
    return [t for t, valid_from in svc.certificate_texts.current() if valid_from is None or valid_from <= today]


def erase_test_certificates(svc: Services, signed_from: dt.datetime | None, signed_to: dt.datetime) -> tuple[int, int]:
    """Erase the test certificates signed in the window, with everything that belongs to them.

    (erased, failed): a batch that fails is rolled back whole and counted as failed.
    """
    template = audit.current()
    with svc.store.reading() as uow:
        ids = uow.care_provider.test_certificate_ids(signed_from, signed_to)
    erased = failed = 0
    for i in range(0, len(ids), ERASE_BATCH):
        chunk = ids[i : i + ERASE_BATCH]
        try:
            with svc.store.writing() as uow:
                persons = _persons(uow, chunk)
                n = uow.care_provider.erase(chunk)
                _log_in(uow, template, persons, f"ERASED:{n}")
                uow.commit()
            erased += n
        except Exception:
            failed += len(chunk)
            log.exception("erasing %d test certificates failed", len(chunk))
    audit.note(None, [])
    return erased, failed


def _persons(uow: UnitOfWork, ids: list[str]) -> dict[str, str]:
    found = uow.care_provider.persons(ids)
    return {cid: found.get(cid, "") for cid in ids}


def _person_of(export: CertificateExport) -> str:
    rows = export.rows.get(CERTIFICATE_TABLE) or [{}]
    return str(rows[0].get("person_id") or "")


def _note(exports: list[CertificateExport]) -> None:
    for e in exports:
        audit.note(_person_of(e) or None, [e.certificate_id])


def _status_patients(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(str(r.get("patient_id") or "") for r in rows if r.get("patient_id")))


def _entries(template: audit.Access | None, persons: dict[str, str], outcome: str, patients: Iterable[str] = ()):
    """The entry of a batch: each certificate's patient, and ``patients`` whose statuses it touched."""
    if template is None:
        return None
    access = audit.Access(template.caller, template.original_consumer, template.acting_on_behalf, template.contract, "")
    for cid, person in persons.items():
        access.add(person or None, [cid])
    for patient in patients:
        access.add(patient, [])
    return access.entries(outcome)


def _log_in(
    uow: UnitOfWork,
    template: audit.Access | None,
    persons: dict[str, str],
    outcome: str,
    patients: Iterable[str] = (),
) -> None:
    entries = _entries(template, persons, outcome, patients)
    if entries:
        uow.access_log.append(entries)


def _log_now(
    svc: Services,
    template: audit.Access | None,
    exports: list[CertificateExport],
    outcome: str,
    patients: Iterable[str] = (),
) -> None:
    entries = _entries(template, {e.certificate_id: _person_of(e) for e in exports}, outcome, patients)
    if entries:
        svc.store.write(lambda uow: uow.access_log.append(entries), pipelined=True)
